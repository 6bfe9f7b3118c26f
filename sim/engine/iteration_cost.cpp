#include "sim/engine/iteration_cost.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "models/batch_shape.hpp"
#include "models/power.hpp"
#include "models/sparse_attention.hpp"
#include "sim/cluster/collectives.hpp"
#include "sim/cluster/topology.hpp"
#include "sim/engine/speculative.hpp"
#include "sim/scheduler/kv_memory.hpp"

namespace convsim {

CostModel::SequenceBytes CostModel::sequence_bytes_of(const ModelSpec& m, Precisions p, Sharding s) {
  // The function is linear in the three parts: probe it once per part.
  const double window = static_cast<double>(m.window_tokens);
  SequenceBytes b;
  b.fixed = stage_sequence_bytes(m, p.kv_cache, s, 0, p.ssm_state_bytes);
  const double probe = window > 0 ? window : 1.0;
  // (full + window) * probe, then full * 2p + window * p
  const double below = stage_sequence_bytes(m, p.kv_cache, s, probe, p.ssm_state_bytes) - b.fixed;
  const double above = stage_sequence_bytes(m, p.kv_cache, s, 2 * probe, p.ssm_state_bytes) - b.fixed;
  b.full_per_token = (above - below) / probe;
  b.window_per_token = below / probe - b.full_per_token;
  return b;
}

CostModel::CostModel(const Scenario& scenario)
    : scenario_(scenario), governor_(scenario.cluster.gpu_preset, scenario.cluster.gpu_clocks) {
  const ModelSpec& m = scenario.model.spec;
  paths_ = tensor_core_paths(scenario.cluster.gpu, scenario.model.weights);  // sharding() reads it
  for (int s = 0; s < scenario.parallelism.pp; ++s) {
    stage_runs_.push_back(stage_layer_runs(m, scenario.parallelism.pp, s));
    stage_sequence_.push_back(sequence_bytes_of(m, scenario.model.precisions(), sharding(s)));
    stage_weight_bytes_.push_back(stage_weight_bytes(m, scenario.model.weights, sharding(s)));
  }
  if (scenario.serving.speculative) add_draft_memory();
  for (int s = 0; s < scenario.parallelism.pp; ++s) stage_free_bytes_.push_back(free_bytes(s));
  model_sequence_ = sequence_bytes_of(m, scenario.model.precisions(), Sharding{1, 1, 0});
  window_tokens_ = static_cast<double>(m.window_tokens);
  peaks_ = stage_peaks(scenario.cluster.gpu, scenario.model.weights);
  double attention_layers = 0;
  for (int layer = 0; layer < m.layers; ++layer) {
    const Mixer mixer = m.mixer(layer);
    attention_layers += mixer == Mixer::attention || mixer == Mixer::sliding_attention ? 1.0 : 0.0;
  }
  const double peak = scenario.cluster.gpu.peak_for(Precision::bf16);
  share_.bandwidth = scenario.cluster.gpu.hbm_bytes_per_s;
  share_.weights_s = element_bytes(scenario.model.weights) * total_params(m) / share_.bandwidth;
  share_.per_token_s = 2.0 * active_params(m) / peak;
  share_.attention_s_per_pair = 4.0 * attention_layers * attention_width(m) / peak;
  if (m.sparse_attention) {
    const SparseAttentionSpec& sa = *m.sparse_attention;
    const GpuSpec& gpu = scenario.cluster.gpu;
    const double fp8_peak = gpu.peak_flops_per_s.count(Precision::fp8) > 0 ? gpu.peak_for(Precision::fp8) : peak;
    share_.top_k = static_cast<double>(sa.top_k_tokens);
    share_.indexer_s_per_pair = attention_layers * 2.0 * sa.indexer_heads * (sa.indexer_head_dim + 1.0) / fp8_peak;
    share_.index_key_bytes_per_token = attention_layers * indexer_key_bytes_per_token(m);
  }
  // A TP group inside one NVSwitch node: every GPU reaches every other directly
  // (vLLM's custom all-reduce); on PCIe-switch nodes NCCL's ring.
  const EngineProfile& engine = scenario.serving.engine;
  const FabricSpec& up = scenario.cluster.scale_up;
  allreduce_route_.direct = tp_inside_node() && scale_up_is_nvswitch(scenario.cluster);
  allreduce_route_.custom = engine.allreduce == EngineAllReduce::custom;
  const SymmMemAllReduce* symm = engine.symm_mem_on(scenario.cluster.gpu.name);
  const int tp = scenario.parallelism.tp;
  // vLLM's symmetric memory needs the switches' multicast (its communicator stays
  // off without it, and the custom kernels keep their whole buffer).
  if (symm != nullptr && up.multicast_allreduce_bytes_per_s > 0 && symm->max_bytes.count(tp) > 0) {
    if (symm->custom_max_bytes.count(tp) > 0) {
      allreduce_route_.custom_max_bytes = std::min(kCustomAllReduceMaxBytes, symm->custom_max_bytes.at(tp));
    }
    allreduce_route_.symm_mem_max_bytes = symm->max_bytes.at(tp);
    const auto& mm = symm->multimem_world_sizes;
    allreduce_route_.multimem = std::find(mm.begin(), mm.end(), tp) != mm.end();
    allreduce_route_.multicast_rate_fraction = up.multicast_allreduce_bytes_per_s / up.bandwidth_bytes_per_s;
  }
}

void CostModel::add_draft_memory() {
  // The draft runs on the first stage: its weights there, and its KV cache of every
  // sequence beside the target's.
  stage_weight_bytes_[0] += draft_weight_bytes_per_gpu(scenario_);
  const ModelSpec draft = draft_of(*scenario_.serving.speculative, scenario_.model.spec);
  const SequenceBytes d =
      sequence_bytes_of(draft, Precisions{draft_weight_precision(scenario_), scenario_.model.kv_cache,
                                          scenario_.model.ssm_state_bytes},
                        draft_sharding(scenario_, draft));
  SequenceBytes& first = stage_sequence_[0];
  first.fixed += d.fixed;
  first.full_per_token += d.full_per_token;
  // A window other than the target's is counted as the whole context: an upper bound.
  const bool same_window = draft.window_tokens == scenario_.model.spec.window_tokens;
  (same_window ? first.window_per_token : first.full_per_token) += d.window_per_token;
}

Sharding CostModel::sharding(int stage) const {
  const ParallelismSpec& p = scenario_.parallelism;
  Sharding s{p.tp, p.pp, stage, p.ep, p.cp};
  s.moe_kernels_see_all_rows = scenario_.serving.engine.moe_kernels_see_all_rows;
  s.input_quant_bytes = input_quant_bytes(scenario_.serving.engine, paths_, scenario_.model.weights);
  return s;
}

bool CostModel::tp_inside_node() const {
  const ParallelismSpec& p = scenario_.parallelism;
  const int per_node = scenario_.cluster.gpus_per_node;
  if (p.placement.empty()) return per_node % p.tp == 0;
  for (int first = 0; first + p.tp <= p.gpus_per_replica() * p.dp; first += p.tp) {
    for (int r = 1; r < p.tp; ++r) {
      if (p.gpu_of(first + r) / per_node != p.gpu_of(first) / per_node) return false;
    }
  }
  return true;
}

bool CostModel::send_crosses_nodes(int stage) const {
  const int tp = scenario_.parallelism.tp;
  const int g = scenario_.cluster.gpus_per_node;
  return (stage * tp) / g != ((stage + 1) * tp) / g;
}

IterationCost CostModel::iteration(const std::vector<SequenceWork>& batch) const {
  IterationCost cost;
  iteration_into(batch, cost);
  return cost;
}

void CostModel::iteration_into(const std::vector<SequenceWork>& batch, IterationCost& out) const {
  // A decode-only batch runs as the CUDA graph of the next captured size: the
  // padding rows go through every matmul (their attention is one token each).
  const EngineProfile& engine = scenario_.serving.engine;
  const bool decode_only = std::all_of(batch.begin(), batch.end(), [](const SequenceWork& w) { return w.new_tokens == 1; });
  const long n = static_cast<long>(batch.size());
  const long padded = decode_only ? engine.padded_decode_batch(n) : n;
  if (padded > n) {
    iteration_of(batch, padded - n, false, out);
    return;
  }
  iteration_of(batch, 0, decode_only && engine.runs_eager(n) && engine.eager_launch_s > 0, out);
}

void CostModel::iteration_of(const std::vector<SequenceWork>& batch, long padding_rows, bool eager,
                             IterationCost& cost) const {
  const EngineProfile& engine = scenario_.serving.engine;
  const ModelChoice& model = scenario_.model;
  const Precisions precisions = model.precisions();
  const GpuSpec& gpu = scenario_.cluster.gpu;
  const int tp = scenario_.parallelism.tp;
  const std::size_t stages = static_cast<std::size_t>(scenario_.parallelism.pp);
  // The batch's shape is the same on every stage (it depends on tp, cp and ep only).
  const BatchShape shape = shape_of(model.spec, precisions, sharding(0), batch, padding_rows);
  cost.stages.resize(stages);
  cost.uncontended_s = 0;
  cost.floor_s = 0;
  cost.flops = 0;
  cost.hbm_bytes = 0;
  for (int s = 0; s < scenario_.parallelism.pp; ++s) {
    StageCost& stage = cost.stages[static_cast<std::size_t>(s)];
    // Every other field is written below on every path.
    stage.rates = WorkRates{};
    stage.send_s = 0;
    stage.ring_exposed_s = 0;
    stage.all_to_all_s = 0;
    stage.work = stage_work(model.spec, precisions, sharding(s), stage_runs_[static_cast<std::size_t>(s)], shape);
    stage.mean_gpu_hbm_bytes = stage.work.mean_gpu_hbm_bytes();
    double launch_s = 0;
    if (eager) {  // launched one by one, outside any captured graph
      int kernels = 0;
      for (const KernelWork& k : stage.work.by_class) kernels += k.kernels;
      launch_s = kernels * scenario_.serving.engine.eager_launch_s;
    }
    stage.timing = stage_time(gpu, peaks_, stage.work);
    if (governor_.active() && stage.timing.compute_s > 0) {  // the clock the cap allows this stage
      const CapGovernor::StageRun run = governor_.run(model.weights, stage.work, launch_s);
      stage.timing = run.timing;
      stage.rates = run.rates;
      stage.busy_power_w = run.busy_power_w;
      stage.clock_fraction = run.clock_fraction;
    } else {
      stage.timing.compute_s += launch_s;
      const double t = stage.timing.compute_s;
      if (t > 0) stage.rates = work_rates(paths_, stage.work, t);
      stage.busy_power_w = t > 0 ? busy_power_w(gpu, stage.rates) : host_wait_power_w(gpu);
      stage.clock_fraction = gpu.compute_clock_fraction;
    }
    const double t = stage.timing.compute_s;
    const FabricSpec& up = scenario_.cluster.scale_up;
    stage.allreduce = plan_allreduce(tp, stage.work.allreduce_buffer_bytes, allreduce_route_);
    stage.collective_latency_s = stage.work.allreduces * stage.allreduce.latency_steps * up.latency_s;
    stage.allreduce_bandwidth_s =
        stage.allreduce.link_time_bytes() * stage.work.allreduces / up.bandwidth_bytes_per_s;
    if (stage.work.send_bytes > 0) {
      const FabricSpec& f = send_crosses_nodes(s) ? scenario_.cluster.scale_out : up;
      stage.send_s = f.latency_s + stage.work.send_bytes / tp / f.bandwidth_bytes_per_s;
    }
    // Ring attention and the all-to-all stay on the NVLink switch when the stage's
    // GPUs share a node (default placement), else they cross the scale-out fabric.
    const int width = scenario_.parallelism.stage_gpus();
    const int per_node = scenario_.cluster.gpus_per_node;
    const FabricSpec& wide = width <= per_node && per_node % width == 0 ? up : scenario_.cluster.scale_out;
    if (stage.work.ring_bytes > 0) {  // overlapped with the attention kernels
      const double ring_s = stage.work.ring_steps * wide.latency_s + stage.work.ring_bytes / wide.bandwidth_bytes_per_s;
      stage.ring_exposed_s =
          std::max(0.0, ring_s - stage.timing.by_class[static_cast<int>(KernelClass::attention)].time_s);
    }
    if (stage.work.all_to_all_bytes > 0) {
      stage.all_to_all_s = stage.work.all_to_alls * (wide.latency_s + engine.moe_all_to_all_kernel_s) +
                           stage.work.all_to_all_bytes / wide.bandwidth_bytes_per_s;
    }
    cost.uncontended_s += t + stage.communication_s();
    cost.floor_s += stage.timing.floor_s;
    cost.flops += stage.work.flops() * width;  // the busiest GPU's FLOPs on every GPU of the stage
    cost.hbm_bytes += stage.mean_gpu_hbm_bytes * width;  // bytes: the group's mean GPU
  }
}

double input_quant_bytes(const EngineProfile& engine, const TensorCorePaths& paths, Precision weights) {
  const bool native = paths.fp8_matmuls || paths.fp4_matmuls;
  return native && engine.separate_activation_quant ? element_bytes(weights) : 0.0;
}

std::vector<std::vector<SequenceWork>> split_micro_batches(const std::vector<SequenceWork>& batch, int count) {
  long total = 0;
  for (const SequenceWork& w : batch) total += w.new_tokens;
  const long parts = std::max(1L, std::min<long>(count, total));
  const long target = (total + parts - 1) / parts;
  std::vector<std::vector<SequenceWork>> micro(1);
  long filled = 0;
  for (const SequenceWork& w : batch) {
    SequenceWork rest = w;
    while (rest.new_tokens > 0) {
      if (filled >= target && static_cast<long>(micro.size()) < parts) {
        micro.emplace_back();
        filled = 0;
      }
      // A decode token cannot be split; a prefill chunk is cut at the target.
      const long room = static_cast<long>(micro.size()) < parts ? target - filled : rest.new_tokens;
      const long take = std::min(rest.new_tokens, std::max(1L, room));
      SequenceWork part{take, rest.context_tokens, take == rest.new_tokens ? rest.logit_tokens : 0};
      micro.back().push_back(part);
      filled += take;
      rest.context_tokens += take;
      rest.new_tokens -= take;
    }
  }
  return micro;
}

double CostModel::free_bytes(int stage) const {
  const Sharding sh = sharding(stage);
  const long iteration_tokens = scenario_.serving.prefill_chunk_tokens + scenario_.serving.max_batch_seqs;
  return scenario_.cluster.gpu.hbm_bytes - stage_weight_bytes_[static_cast<std::size_t>(stage)] -
         activation_bytes(scenario_.model.spec, sh.tp, iteration_tokens) - scenario_.serving.workspace_bytes_per_gpu;
}

bool CostModel::weights_fit() const { return kv_pool_bytes_min() > 0; }

CostModel::FixedMemory CostModel::fixed_memory_tightest() const {
  int tightest = 0;
  for (int s = 1; s < scenario_.parallelism.pp; ++s) {
    if (free_bytes(s) < free_bytes(tightest)) tightest = s;
  }
  FixedMemory m;
  m.iteration_tokens = scenario_.serving.prefill_chunk_tokens + scenario_.serving.max_batch_seqs;
  m.weights_bytes = stage_weight_bytes_[static_cast<std::size_t>(tightest)];
  m.activation_bytes = activation_bytes(scenario_.model.spec, sharding(tightest).tp, m.iteration_tokens);
  m.workspace_bytes = scenario_.serving.workspace_bytes_per_gpu;
  return m;
}

double CostModel::kv_pool_bytes_min() const {
  double smallest = std::numeric_limits<double>::max();
  for (int s = 0; s < scenario_.parallelism.pp; ++s) smallest = std::min(smallest, free_bytes(s));
  return smallest;
}

long CostModel::kv_footprint_units(long tokens) const {
  const double window = static_cast<double>(scenario_.model.spec.window_tokens);
  double worst = 0;
  for (std::size_t s = 0; s < stage_sequence_.size(); ++s) {
    worst = std::max(worst, stage_sequence_[s].at(static_cast<double>(tokens), window) / stage_free_bytes_[s]);
  }
  // Wide EP: a sequence lives in one of the attention groups, whose pools together
  // make the replica's.
  worst /= scenario_.parallelism.attention_groups();
  return static_cast<long>(std::ceil(worst * static_cast<double>(KvMemory::kUnitsPerPool)));
}

std::vector<double> CostModel::work_shares(const std::vector<SequenceWork>& batch) const {
  std::vector<double> shares;
  work_shares_into(batch, shares);
  return shares;
}

void CostModel::work_shares_into(const std::vector<SequenceWork>& batch, std::vector<double>& shares) const {
  long tokens = 0;
  for (const SequenceWork& w : batch) tokens += w.new_tokens;
  work_shares_into(batch, tokens, shares);
}

void CostModel::work_shares_into(const std::vector<SequenceWork>& batch, long new_tokens,
                                 std::vector<double>& shares) const {
  const double tokens = static_cast<double>(new_tokens);  // the integer sum: the double sum's exact value
  const double window = static_cast<double>(scenario_.model.spec.window_tokens);
  shares.resize(batch.size());
  double sum = 0;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const SequenceWork& w = batch[i];
    const double n = static_cast<double>(w.new_tokens), c = static_cast<double>(w.context_tokens);
    double attention_s = share_.attention_s_per_pair * attention_pairs(n, c, window);
    double kv_bytes = kv_bytes_for(c + n);
    if (share_.top_k > 0) {  // DSA: top_k pairs per query attended, every pair scored; top_k latents read
      attention_s = share_.attention_s_per_pair * attention_pairs(n, c, share_.top_k) +
                    share_.indexer_s_per_pair * attention_pairs(n, c, 0);
      const double keys = (c + n) * share_.index_key_bytes_per_token;
      kv_bytes = (kv_bytes - keys) * sparse_rows_read(n, c, share_.top_k) / (c + n) + keys;
    }
    const double kv_s = kv_bytes / share_.bandwidth;
    shares[i] = n / tokens * share_.weights_s + n * share_.per_token_s + attention_s + kv_s;
    sum += shares[i];
  }
  for (double& share : shares) share /= sum;
}

double CostModel::gpu_memory_bytes(long kv_units, long iteration_tokens) const {
  const double used = static_cast<double>(kv_units) / static_cast<double>(KvMemory::kUnitsPerPool);
  double worst = 0;
  for (int s = 0; s < scenario_.parallelism.pp; ++s) {
    const double bytes = stage_weight_bytes_[static_cast<std::size_t>(s)] +
                         used * stage_free_bytes_[static_cast<std::size_t>(s)] +
                         activation_bytes(scenario_.model.spec, scenario_.parallelism.tp, iteration_tokens) +
                         scenario_.serving.workspace_bytes_per_gpu;
    worst = std::max(worst, bytes);
  }
  return worst;
}

double CostModel::weight_bytes_per_gpu_max() const {
  double worst = 0;
  for (double bytes : stage_weight_bytes_) worst = std::max(worst, bytes);  // the draft's included
  return worst;
}

}  // namespace convsim
