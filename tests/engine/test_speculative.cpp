// Speculative decoding: the expected yield of a step, the simulated TPOT that
// follows from it, and the large batch where it costs more than it saves. Each
// TEST_CASE simulates at most once in its own process (or runs convsim children).

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sim/engine/iteration_cost.hpp"
#include "sim/engine/simulation.hpp"
#include "sim/cluster/topology.hpp"
#include "sim/engine/speculative.hpp"
#include "sim/scheduler/kv_memory.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;
namespace fs = std::filesystem;

TEST_CASE("with acceptance a and k draft tokens a step yields (1 - a^(k+1)) / (1 - a) tokens on average") {
  for (double a : {0.0, 0.3, 0.6, 0.85, 0.9}) {
    for (int k : {1, 2, 4, 7}) {
      double series = 0;  // 1 + a + ... + a^k: draft token i is kept only if all before it were
      for (int i = 0; i <= k; ++i) series += std::pow(a, i);
      INFO("a " << a << " k " << k);
      CHECK(expected_tokens_per_step(a, k) == Approx(series).epsilon(1e-12));
      CHECK(expected_tokens_per_step(a, k) == Approx((1 - std::pow(a, k + 1)) / (1 - a)).epsilon(1e-12));
    }
  }
  CHECK(expected_tokens_per_step(1.0, 4) == 5.0);
  CHECK(expected_tokens_per_step(0.0, 4) == 1.0);
  // DeepSeek-V3's MTP: one draft token accepted 85% of the time, 1.85 tokens per step
  // (the report's "1.8 times TPS").
  CHECK(expected_tokens_per_step(0.85, 1) == Approx(1.85));
}

TEST_CASE("a speculative reply's decode time is its steps of k + 1 tokens plus k draft passes, yielding E tokens each") {
  const Scenario s = test::scenario_from(test::kSmallConversation,
                                         {{"conversation.duration_min", "0.2"},
                                          {"conversation.probe_minutes", "[]"},
                                          {"conversation.model_replies.output_tokens", "{fixed: 201}"},
                                          {"model.preset", "llama-3.1-70b"},
                                          {"cluster.gpus_per_node", "4"},
                                          {"parallelism.tp", "4"},
                                          {"serving.speculative",
                                           "{method: draft_model, draft: llama-3.1-8b, tokens: 4, acceptance: 0.8}"}});
  const RunResult r = simulate(s);
  REQUIRE(r.replies.size() == 1);
  const ReplyRecord reply = *r.replies.begin();
  REQUIRE(reply.output_tokens == 201);
  const CostModel cost(s);
  const int k = 4;
  const double per_step = expected_tokens_per_step(0.8, k);
  // The yield per step is deterministic: E accumulated, whole tokens taken.
  double expected_decode_s = 0, credit = 0;
  long generated = 1, context = reply.context_tokens, steps = 0;
  while (generated < reply.output_tokens) {
    // The target scores all k + 1 positions: its LM head runs for each.
    const std::vector<SequenceWork> step{SequenceWork{k + 1, context, k + 1}};
    expected_decode_s += cost.iteration(step).uncontended_s + draft_cost(s, cost, step, 1).time_s +
                         s.serving.engine.iteration_host_s + s.serving.engine.host_s_per_sequence;  // vLLM's host time
    credit += per_step;
    const long produced = std::min(static_cast<long>(credit + 1e-9), reply.output_tokens - generated);
    credit -= static_cast<double>(produced);
    generated += produced;
    context += produced;
    ++steps;
  }
  INFO("Expectation " << expected_decode_s << " s in " << steps << " steps, actual " << reply.e2e_s - reply.ttft_s);
  CHECK(reply.e2e_s - reply.ttft_s == Approx(expected_decode_s).epsilon(1e-9));
  // 200 tokens after the first at E = 3.36 per step: 60 steps (to within one).
  CHECK(std::abs(static_cast<double>(steps) - 200.0 / per_step) <= 1.0);
  CHECK(reply.tpot_s == Approx(expected_decode_s / 200.0).epsilon(1e-9));
}

namespace {

// Llama-3.1-70B on 4 H100s of one NVSwitch node, tensor-parallel over tp of them.
Scenario llama70b(int tp, int pp, const std::string& speculative) {
  std::vector<Override> o{{"model.preset", "llama-3.1-70b"},
                          {"cluster.gpus_per_node", "4"},
                          {"parallelism.tp", std::to_string(tp)},
                          {"parallelism.pp", std::to_string(pp)}};
  if (!speculative.empty()) o.push_back({"serving.speculative", speculative});
  return test::scenario_from(test::kSmallConversation, o);
}

// Llama-3.1-8B's shape (its config.json), written out: the draft below.
constexpr double kD = 4096, kLayers8b = 32, kQ = 32 * 128, kKv = 8 * 128, kFfn = 14336, kVocab = 128256;

}  // namespace

TEST_CASE("a draft model's passes pay two all-reduces per layer, planned as the target's") {
  const Scenario s = llama70b(4, 1, "{method: draft_model, draft: llama-3.1-8b, tokens: 3, acceptance: 0.7}");
  REQUIRE(scale_up_is_nvswitch(s.cluster));
  const CostModel cost(s);
  const DraftCost draft = draft_cost(s, cost, {SequenceWork{4, 5000, true}, SequenceWork{4, 300, true}}, 2);
  // Per pass: 2 sequences of one token, a buffer of 2 x d_model BF16 values, 2 x 32
  // all-reduces. Under 512 KiB on an NVSwitch node vLLM's one-shot all-reduce takes
  // 2 latency steps and moves (p - 1) x buffer per port (sim/cluster/collectives.hpp).
  const double buffer = 2 * kD * 2, p = 4, allreduces = 2 * kLayers8b;
  REQUIRE(buffer < 512 * 1024);
  const FabricSpec& up = s.cluster.scale_up;
  const double per_pass_s = allreduces * (2 * up.latency_s + (p - 1) * buffer / up.bandwidth_bytes_per_s);
  INFO("Expectation " << 3 * per_pass_s << " s of all-reduces, actual " << draft.allreduce_s);
  CHECK(draft.allreduce_s == Approx(3 * per_pass_s).epsilon(1e-12));
  // The compute is the rest: k passes of the draft's roofline time over growing contexts.
  double compute_s = 0;
  std::vector<SequenceWork> decode{SequenceWork{1, 5000, true}, SequenceWork{1, 300, true}};
  for (int pass = 0; pass < 3; ++pass) {
    const StageWork work = stage_work(s.serving.speculative->draft, Precisions{Precision::bf16, Precision::bf16},
                                      Sharding{4}, decode);
    compute_s += stage_time(s.cluster.gpu, Precision::bf16, work).compute_s;
    for (SequenceWork& w : decode) ++w.context_tokens;
  }
  CHECK(draft.time_s == Approx(compute_s + 3 * per_pass_s).epsilon(1e-12));
  // tp = 1: nothing to reduce, the time is the passes' compute alone.
  const Scenario single = llama70b(1, 1, "{method: draft_model, draft: llama-3.1-8b, tokens: 3, acceptance: 0.7}");
  const DraftCost alone = draft_cost(single, CostModel(single), {SequenceWork{4, 10, true}}, 1);
  CHECK(alone.allreduce_s == 0.0);
  CHECK(alone.time_s > 0.0);
}

TEST_CASE("a draft model's weights and KV cache are taken from the first stage's KV pool") {
  const Scenario plain = llama70b(4, 1, "");
  const Scenario spec = llama70b(4, 1, "{method: draft_model, draft: llama-3.1-8b, tokens: 3, acceptance: 0.7}");
  const CostModel without(plain), with(spec);
  // Llama-3.1-8B in BF16 over tp = 4: per layer its q, k, v, o and SwiGLU matrices
  // split 4 ways and 2 norm vectors whole; its embedding and untied LM head split 4
  // ways; the final norm.
  const double layer = kD * (kQ + 2 * kKv + kQ) / 4 + 3 * kD * kFfn / 4 + 2 * kD;
  const double draft_weight_bytes = 2 * (kLayers8b * layer + 2 * kVocab * kD / 4 + kD);
  CHECK(draft_weight_bytes_per_gpu(spec) == Approx(draft_weight_bytes).epsilon(1e-12));
  CHECK(without.kv_pool_bytes_min() - with.kv_pool_bytes_min() == Approx(draft_weight_bytes).epsilon(1e-9));
  CHECK(with.weight_bytes_per_gpu_max() - without.weight_bytes_per_gpu_max() == Approx(draft_weight_bytes).epsilon(1e-9));
  // A sequence's KV per GPU: the target's 80 layers and the draft's 32, each of
  // 2 x (8 / 4 KV heads) x 128 BF16 values per token, out of the smaller pool.
  const double tokens = 100000, per_token = (80 + kLayers8b) * 2 * (8.0 / 4) * 128 * 2;
  const double pool = with.kv_pool_bytes_min();
  const long expected = static_cast<long>(
      std::ceil(per_token * tokens / pool * static_cast<double>(KvMemory::kUnitsPerPool)));
  CHECK(with.kv_footprint_units(static_cast<long>(tokens)) == expected);
  CHECK(without.kv_footprint_units(static_cast<long>(tokens)) <
        with.kv_footprint_units(static_cast<long>(tokens)));
}

TEST_CASE("an EAGLE head shares the target's LM head on one stage and holds its own copy when pipelined") {
  // tp = 2: with pp = 1 the first stage holds the target's embedding and LM head;
  // with pp = 2 the LM head sits on the second stage and the head needs a copy:
  // vocab x d_model / tp BF16 values more.
  const std::string eagle = "{method: eagle, tokens: 2, acceptance: 0.6}";
  const double one_stage = draft_weight_bytes_per_gpu(llama70b(2, 1, eagle));
  const double two_stages = draft_weight_bytes_per_gpu(llama70b(2, 2, eagle));
  CHECK(two_stages - one_stage == Approx(kVocab * 8192 / 2 * 2).epsilon(1e-12));
  // One layer of Llama-3.1-70B (d 8192, 64 query / 8 KV heads of 128, SwiGLU of
  // 28672) over tp = 2, its 2 norms, and the final norm; the fusion layer's
  // 2 d x d whole on each GPU (vLLM does not split it).
  const double layer = 8192.0 * (8192 + 2 * 1024 + 8192) / 2 + 3 * 8192.0 * 28672 / 2 + 2 * 8192;
  const double fusion = 2 * 8192.0 * 8192;
  CHECK(one_stage == Approx(2 * (layer + 8192 + fusion)).epsilon(1e-12));
}

TEST_CASE("an EAGLE pass runs the fusion layer, 2 x 2d x d FLOPs per draft token, on top of its decoder layer") {
  // Llama-3.1-70B at tp = 2, EAGLE drafting 2 tokens for 3 decoding sequences: each
  // pass is the head's decoder layer (stage_work of draft_shape) plus the fusion
  // matmul of 3 tokens through 2 x 8192 -> 8192, on both GPUs.
  const Scenario s = llama70b(2, 1, "{method: eagle, tokens: 2, acceptance: 0.6}");
  const std::vector<SequenceWork> batch{SequenceWork{1, 900, true}, SequenceWork{1, 40, true},
                                        SequenceWork{1, 7000, true}};
  const DraftCost cost = draft_cost(s, CostModel(s), batch, 3);
  const ModelSpec head = draft_shape(SpeculativeSpec::Method::eagle, s.model.spec);
  double layer_flops = 0;
  std::vector<SequenceWork> decode = batch;
  for (int pass = 0; pass < 2; ++pass) {
    layer_flops += stage_work(head, Precisions{Precision::bf16, Precision::bf16}, Sharding{2}, decode).flops();
    for (SequenceWork& w : decode) ++w.context_tokens;
  }
  const double fusion_flops = 2 * (2.0 * 2 * 8192 * 8192 * 3);  // 2 passes of 3 tokens
  CHECK(cost.flops == Approx(2 * (layer_flops + fusion_flops)).epsilon(1e-12));
}

namespace {

// output_tokens_per_s and TPOT p50 of a convsim child run of a request stream.
struct Served {
  double tokens_per_s = 0;
  double tpot_s = 0;
};

Served serve(const fs::path& dir, const std::string& name, int concurrency, const std::string& speculative) {
  const fs::path file = dir / (name + ".yaml");
  std::ofstream(file) << fmt::format(R"(name: {}
requests:
  count: {}
  input_tokens: {{fixed: 100}}
  output_tokens: {{fixed: 100}}
  arrival: {{concurrency: {}}}
model: {{preset: llama-3.1-8b}}
cluster: {{gpu: h100-sxm, nodes: 1, gpus_per_node: 1}}
parallelism: {{tp: 1}}
serving: {{max_batch_seqs: 256, prefill_chunk_tokens: 8192{}}}
)",
                                     name, 2 * concurrency, concurrency,
                                     speculative.empty() ? "" : ", speculative: " + speculative);
  const fs::path out = dir / name;
  const std::string command = fmt::format("{} run {} -q -o {}", CONVSIM_BINARY, file.string(), out.string());
  REQUIRE(std::system(command.c_str()) == 0);
  const auto summary = nlohmann::json::parse(test::read_file(out / "summary.json"));
  return Served{summary["output_tokens_per_s"].get<double>(), summary["tpot_s"]["p50"].get<double>()};
}

}  // namespace

TEST_CASE("speculative decoding cuts TPOT at batch 1 and costs throughput at a large compute-bound batch") {
  const fs::path dir = fs::temp_directory_path() / fmt::format("convsim-speculative-{}", ::getpid());
  fs::create_directories(dir);
  const std::string eagle_high = "{method: eagle, tokens: 4, acceptance: 0.8}";
  const std::string eagle_low = "{method: eagle, tokens: 4, acceptance: 0.3}";
  // Batch 1: a step reads the weights once for 1 or 5 tokens; E = 3.36 tokens per step.
  const Served one_plain = serve(dir, "one-plain", 1, "");
  const Served one_spec = serve(dir, "one-spec", 1, eagle_high);
  // Batch 256: 5 tokens per sequence make the step compute-bound; E = 1.43 only.
  const Served many_plain = serve(dir, "many-plain", 256, "");
  const Served many_spec = serve(dir, "many-spec", 256, eagle_low);
  fs::remove_all(dir);
  INFO("batch 1 TPOT: plain " << one_plain.tpot_s << " s, speculative " << one_spec.tpot_s << " s");
  CHECK(one_spec.tpot_s < one_plain.tpot_s);
  INFO("batch 256 tokens/s: plain " << many_plain.tokens_per_s << ", speculative " << many_spec.tokens_per_s);
  CHECK(many_spec.tokens_per_s < many_plain.tokens_per_s);
}

TEST_CASE("a verification step runs the target's LM head over all k + 1 positions, a decode step over one") {
  // Llama-3.1-70B at tp = 4: the LM head is d x vocab split over 4 GPUs, 2 d V / 4
  // FLOPs per position; k = 3 draft tokens make 4 positions.
  const Scenario s = llama70b(4, 1, "");
  const Sharding sharding{4};
  const Precisions bf16{Precision::bf16, Precision::bf16};
  const double per_position = 2.0 * 8192 * kVocab / 4;
  const StageWork verify = stage_work(s.model.spec, bf16, sharding, {SequenceWork{4, 1000, 4}});
  const StageWork decode = stage_work(s.model.spec, bf16, sharding, {SequenceWork{1, 1000, 1}});
  const StageWork chunk = stage_work(s.model.spec, bf16, sharding, {SequenceWork{4, 1000, 0}});
  CHECK(verify[KernelClass::lm_head].flops == Approx(4 * per_position).epsilon(1e-12));
  CHECK(decode[KernelClass::lm_head].flops == Approx(per_position).epsilon(1e-12));
  CHECK(chunk[KernelClass::lm_head].flops == 0.0);
}
