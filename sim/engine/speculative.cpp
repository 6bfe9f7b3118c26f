#include "sim/engine/speculative.hpp"

#include <algorithm>
#include <cmath>

#include "models/power.hpp"
#include "models/roofline.hpp"
#include "sim/cluster/collectives.hpp"
#include "sim/cluster/topology.hpp"

namespace convsim {

double expected_tokens_per_step(double acceptance, int tokens) {
  if (acceptance >= 1.0) return tokens + 1.0;
  return (1.0 - std::pow(acceptance, tokens + 1.0)) / (1.0 - acceptance);
}

ModelSpec draft_shape(SpeculativeSpec::Method method, const ModelSpec& target) {
  ModelSpec draft = target;
  draft.name = target.name + (method == SpeculativeSpec::Method::eagle ? " eagle head" : " mtp");
  if (method == SpeculativeSpec::Method::eagle) {
    // EAGLE (Li et al., ICML 2024): one decoder layer over the target's features,
    // with full attention and a dense MLP, and the target's LM head.
    draft.layers = 1;
    draft.mixer_pattern = "A";
    draft.ffn_pattern = "D";
    draft.window_tokens = 0;
    draft.ssm.reset();
    if (draft.moe) {
      const MoeSpec& e = *draft.moe;
      draft.ffn_dim = e.expert_ffn_dim * e.top_k + e.shared_expert_ffn_dim * e.shared_experts;
      draft.moe.reset();
    }
    if (draft.heads == 0) {  // an attention-free target: a head of 64-wide heads
      draft.head_dim = 64;
      draft.heads = draft.kv_heads = draft.d_model / 64;
    }
    draft.gated_mlp = true;
    return draft;
  }
  // MTP (DeepSeek-V3): mtp_layers full layers of the target's kind (its last
  // layer's mixer and FFN), sharing the target's embedding and LM head.
  const int last = target.layers - 1;
  draft.layers = target.mtp_layers;
  draft.mixer_pattern = target.mixer(last) == Mixer::sliding_attention ? "W" : "A";
  draft.ffn_pattern = target.ffn(last) == Ffn::experts ? "E" : "D";
  if (draft.moe) draft.moe->first_dense_layers = 0;
  return draft;
}

double eagle_fusion_params(const ModelSpec& target) {
  return 2.0 * static_cast<double>(target.d_model) * target.d_model;
}

ModelSpec draft_of(const SpeculativeSpec& spec, const ModelSpec& target) {
  return spec.method == SpeculativeSpec::Method::draft_model ? spec.draft : draft_shape(spec.method, target);
}

Sharding draft_sharding(const Scenario& scenario, const ModelSpec& draft) {
  const ParallelismSpec& p = scenario.parallelism;
  Sharding s{p.tp, 1, 0, draft.moe ? std::min(p.ep, p.tp) : 1, 1};
  s.moe_kernels_see_all_rows = scenario.serving.engine.moe_kernels_see_all_rows;
  const Precision weights = draft_weight_precision(scenario);
  s.input_quant_bytes =
      input_quant_bytes(scenario.serving.engine, tensor_core_paths(scenario.cluster.gpu, weights), weights);
  return s;
}

Precision draft_weight_precision(const Scenario& scenario) {
  const SpeculativeSpec& spec = *scenario.serving.speculative;
  return spec.method == SpeculativeSpec::Method::draft_model ? spec.draft.default_weights : scenario.model.weights;
}

double draft_weight_bytes_per_gpu(const Scenario& scenario) {
  if (!scenario.serving.speculative) return 0.0;
  const SpeculativeSpec& spec = *scenario.serving.speculative;
  const ModelSpec draft = draft_of(spec, scenario.model.spec);
  const Precision weights = draft_weight_precision(scenario);
  const Sharding sharding = draft_sharding(scenario, draft);
  // One stage: the draft's layers, its embedding and its LM head (one matrix if tied).
  double all = stage_weight_bytes(draft, weights, sharding);
  if (spec.method == SpeculativeSpec::Method::draft_model) return all;
  if (spec.method == SpeculativeSpec::Method::eagle) {  // the fusion layer, whole on every GPU
    all += eagle_fusion_params(draft) * weight_element_bytes(draft, weights, WeightPart::attention);
  }
  // eagle and mtp use the target's embedding, held by the first stage, and its LM
  // head, held by the last: with pp > 1 the first stage needs its own copy of the
  // LM head, unless it is tied to the embedding.
  const double vocab_slice = static_cast<double>(draft.vocab_tokens) * draft.d_model / sharding.tp *
                             weight_element_bytes(draft, weights, WeightPart::embeddings);
  const bool own_lm_head = scenario.parallelism.pp > 1 && !draft.tied_embeddings;
  const double held_by_target = (draft.tied_embeddings ? 1.0 : 2.0) * vocab_slice - (own_lm_head ? vocab_slice : 0.0);
  return all - held_by_target;
}

DraftCost draft_cost(const Scenario& scenario, const CostModel& cost_model, const std::vector<SequenceWork>& batch,
                     long decoding) {
  DraftCost cost;
  if (!scenario.serving.speculative) return cost;
  const SpeculativeSpec& spec = *scenario.serving.speculative;
  const ModelSpec draft = draft_of(spec, scenario.model.spec);
  const int k = spec.tokens;
  std::vector<SequenceWork> decode;
  for (long i = 0; i < decoding && i < static_cast<long>(batch.size()); ++i) {
    decode.push_back(SequenceWork{1, batch[static_cast<std::size_t>(i)].context_tokens, 1});
  }
  if (decode.empty()) return cost;
  const ParallelismSpec& p = scenario.parallelism;
  const Sharding sharding = draft_sharding(scenario, draft);
  const Precision weights = draft_weight_precision(scenario);
  const GpuSpec& gpu = scenario.cluster.gpu;
  const FabricSpec& up = scenario.cluster.scale_up;
  for (int pass = 0; pass < k; ++pass) {
    StageWork work = stage_work(draft, Precisions{weights, scenario.model.kv_cache}, sharding, decode);
    if (spec.method == SpeculativeSpec::Method::eagle) {  // fusion of features and embeddings, 2d -> d
      const double w = weight_element_bytes(draft, weights, WeightPart::attention);
      add_matmul(work[KernelClass::projections], 2.0 * draft.d_model, draft.d_model,
                 static_cast<double>(decode.size()), w);
      work.weight_bytes_read += eagle_fusion_params(draft) * w;
    }
    const double t = stage_time(gpu, weights, work).compute_s;
    // The target's all-reduce path (CostModel::iteration_of): latency steps over the
    // scale-up hop, per-port bytes over its bandwidth.
    double allreduce_s = 0;
    if (work.allreduces > 0) {
      const AllReducePlan plan = plan_allreduce(p.tp, work.allreduce_buffer_bytes, cost_model.allreduce_route());
      allreduce_s =
          work.allreduces * (plan.latency_steps * up.latency_s + plan.link_time_bytes() / up.bandwidth_bytes_per_s);
    }
    cost.time_s += t + allreduce_s;
    cost.allreduce_s += allreduce_s;
    cost.energy_j += allreduce_s * communication_power_w(gpu) * p.tp;
    if (t > 0) cost.energy_j += t * busy_power_w(gpu, work_rates(gpu, weights, work, t)) * p.tp;
    cost.flops += work.flops() * p.tp;
    cost.hbm_bytes += work.hbm_bytes() * p.tp;
    for (SequenceWork& w : decode) ++w.context_tokens;  // the next draft token sees this one
  }
  return cost;
}

}  // namespace convsim
