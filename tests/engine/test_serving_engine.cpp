// Serving-engine profiles (models/catalog/engines/, sim/engine/serving_engine.hpp):
// their effects checked against formulas written here.

#include <cmath>
#include <cstdlib>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "sim/accounting/reply_store.hpp"
#include "sim/engine/iteration_cost.hpp"
#include "sim/engine/serving_engine.hpp"
#include "sim/engine/simulation.hpp"
#include "tests/support/in_child.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;

namespace {

// `batch` requests of equal lengths all at once: after the first iterations
// prefill them, every decode iteration carries exactly `batch` sequences.
std::string equal_requests(int batch) {
  return fmt::format(R"(
name: equal-requests
seed: 1
requests:
  count: {0}
  input_tokens: {{fixed: 100}}
  output_tokens: {{fixed: 40}}
  arrival: {{all_at_once: true}}
model: {{preset: llama-3.1-8b}}
cluster: {{gpu: h100-sxm, nodes: 1, gpus_per_node: 1, pue: 1.0}}
parallelism: {{tp: 1, pp: 1}}
serving: {{engine: vllm, max_batch_seqs: {0}, prefill_chunk_tokens: 8192}}
slo: {{ttft_s: 100, tpot_s: 100, speech_realtime: false}}
)",
                     batch);
}

// The mean of a reply figure (TPOT by default) over the run's replies, simulated
// in a child process (one simulation per process).
double mean_tpot_in_child(const Scenario& scenario, double ReplyRecord::*figure = &ReplyRecord::tpot_s) {
  return test::in_child([&] {
    const RunResult result = simulate(scenario);
    double sum = 0, count = 0;
    for (const ReplyRecord& r : result.replies) {
      sum += r.*figure;
      count += 1;
    }
    return sum / count;
  });
}

// The run's one GPU meter (compute, host-wait, HBM bytes, active energy) and its
// mean TPOT, simulated in a child process.
struct MeterTotals {
  double compute_s = 0, host_s = 0, hbm_bytes = 0, active_energy_j = 0, tpot_s = 0;
};
MeterTotals meter_in_child(const Scenario& scenario) {
  return test::in_child([&] {
    const RunResult result = simulate(scenario);
    const GpuMeter& g = result.gpus.at(0);
    MeterTotals t{g.compute_s, g.host_s, g.hbm_bytes, g.active_energy_j, 0};
    for (const ReplyRecord& r : result.replies) t.tpot_s += r.tpot_s / static_cast<double>(result.replies.size());
    return t;
  });
}

}  // namespace

TEST_CASE("the engine's host time adds iteration_host_s + host_s_per_sequence x batch to every decode step") {
  const int batch = 24;
  Scenario without = test::scenario_from(equal_requests(batch));
  without.serving.engine.iteration_host_s = 0;
  without.serving.engine.host_s_per_sequence = 0;
  Scenario with = without;
  with.serving.engine.iteration_host_s = 1.5e-3;
  with.serving.engine.host_s_per_sequence = 80e-6;
  const double added_s = 1.5e-3 + 80e-6 * batch;  // vLLM exposes all of it
  const double tpot_without = mean_tpot_in_child(without);
  const double tpot_with = mean_tpot_in_child(with);
  INFO(fmt::format("Expectation: TPOT grows by {:.6f} s. Actual: {:.6f} -> {:.6f} s", added_s, tpot_without,
                   tpot_with));
  CHECK(tpot_with - tpot_without == Approx(added_s).epsilon(1e-6));
}

TEST_CASE("an overlapping engine hides the host time its GPU step covers, vLLM exposes all of it") {
  const Catalog& catalog = test::catalog();
  for (const std::string& name : serving_engine_names()) {
    INFO(name);
    REQUIRE(catalog.engines.count(name) == 1);
    const auto engine = make_serving_engine(catalog.engines.at(name));
    const bool overlaps = name != "vllm";
    CHECK(engine->exposed_host_s(3e-3, 1e-3) == Approx(overlaps ? 2e-3 : 3e-3));
    CHECK(engine->exposed_host_s(3e-3, 5e-3) == Approx(overlaps ? 0.0 : 3e-3));
    CHECK(engine->pipelines_prefill_chunks() == overlaps);  // SGLang and TensorRT-LLM do, vLLM does not
  }
}

TEST_CASE("a long prefill at PP8 runs its chunks as a pipeline with SGLang, one chunk through all stages a step with vLLM") {
  // One prompt of C = 16 chunks of 512 tokens on Llama-3.1-8B over P = 8 stages
  // of one H100 each (4 layers a stage), engines' host time set to zero.
  const int chunks = 16, stages = 8;
  const long chunk = 512;
  std::string text = equal_requests(1);
  text.replace(text.find("fixed: 100"), 10, fmt::format("fixed: {}", chunks * chunk));
  text.replace(text.find("gpus_per_node: 1"), 16, "gpus_per_node: 8");
  text.replace(text.find("pp: 1"), 5, "pp: 8");
  text.replace(text.find("prefill_chunk_tokens: 8192"), 26, fmt::format("prefill_chunk_tokens: {}", chunk));
  Scenario vllm = test::scenario_from(text);
  vllm.serving.engine.iteration_host_s = 0;
  vllm.serving.engine.host_s_per_sequence = 0;
  text.replace(text.find("engine: vllm"), 12, "engine: sglang");
  Scenario sglang = test::scenario_from(text);
  sglang.serving.engine.iteration_host_s = 0;
  sglang.serving.engine.host_s_per_sequence = 0;
  // Stage-chunk times t_k: chunk k (context k x 512) on one stage, the P stages
  // being alike (the cost model's sum over stages, divided by P).
  const CostModel cost(vllm);
  std::vector<double> t;
  double sum_s = 0;
  for (int k = 0; k < chunks; ++k) {
    const IterationCost c = cost.iteration({SequenceWork{chunk, k * chunk, k == chunks - 1}});
    REQUIRE(c.stages.size() == static_cast<std::size_t>(stages));
    t.push_back(c.uncontended_s / stages);
    sum_s += t.back();
  }
  // vLLM: each chunk is a step through all P stages in turn: sum of P x t_k.
  const double vllm_expected_s = stages * sum_s;
  // Pipelined (GPipe ticks of the slowest stage): tick j holds chunks j - s on
  // stages s; chunk times grow with the context, so the slowest is the newest
  // chunk: sum_k t_k + (P - 1) t_{C-1}. With equal chunks this is (C + P - 1) t.
  const double pipelined_expected_s = sum_s + (stages - 1) * t.back();
  const double vllm_ttft_s = mean_tpot_in_child(vllm, &ReplyRecord::ttft_s);
  const double sglang_ttft_s = mean_tpot_in_child(sglang, &ReplyRecord::ttft_s);
  INFO(fmt::format("Expectation: vLLM {:.6f} s, SGLang {:.6f} s ((C + P - 1) x mean t = {:.6f} s). Actual: {:.6f}, {:.6f} s",
                   vllm_expected_s, pipelined_expected_s, (chunks + stages - 1) * sum_s / chunks, vllm_ttft_s,
                   sglang_ttft_s));
  CHECK(vllm_ttft_s == Approx(vllm_expected_s).epsilon(0.01));
  CHECK(sglang_ttft_s == Approx(pipelined_expected_s).epsilon(0.01));
  CHECK(sglang_ttft_s == Approx((chunks + stages - 1) * sum_s / chunks).epsilon(0.08));  // chunks within ~15% of each other
}

TEST_CASE("every engine name has a profile in the catalog and an implementation in the registry") {
  const Catalog& catalog = test::catalog();
  CHECK(catalog.engines.size() == std::size(kEngineNames));
  for (const char* name : kEngineNames) {
    INFO(name);
    REQUIRE(catalog.engines.count(name) == 1);
    CHECK(make_serving_engine(catalog.engines.at(name))->profile().name == name);
  }
}

TEST_CASE("a decode batch of 9 runs as the CUDA graph of 16: its matmuls cost 2 x params x 16 FLOPs") {
  const Scenario s = test::scenario_from(equal_requests(9));
  REQUIRE(s.serving.engine.padded_decode_batch(9) == 16);  // vLLM captures 1, 2, 4, 8, 16, 24, ...
  const CostModel cost(s);
  const std::vector<SequenceWork> batch(9, SequenceWork{1, 500, true});
  const IterationCost it = cost.iteration(batch);
  // Llama-3.1-8B projections per layer: fused QKV d x (q + 2 kv) and output q x d,
  // with d = 4096, q = 32 x 128, kv = 8 x 128; 32 layers.
  const double d = 4096, q = 32 * 128, kv = 8 * 128;
  const double projection_params = 32 * (d * (q + 2 * kv) + q * d);
  CHECK(it.stages[0].work[KernelClass::projections].flops == Approx(2 * projection_params * 16).epsilon(1e-12));
}

TEST_CASE("an unknown serving engine is refused with its location and the known ones") {
  try {
    std::string text = equal_requests(4);
    text.replace(text.find("engine: vllm"), 12, "engine: vllmm");
    test::scenario_from(text);
    FAIL("accepted an unknown engine");
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    INFO(message);
    CHECK(message.find("test.yaml:") == 0);
    CHECK(message.find("did you mean 'vllm'") != std::string::npos);
    CHECK(message.find("sglang") != std::string::npos);
    CHECK(message.find("trtllm") != std::string::npos);
  }
}

TEST_CASE("the engine's defaults fill the batch limit and token budget the scenario leaves out") {
  const std::string text = R"(
name: defaults
requests: {count: 4, input_tokens: {fixed: 10}, output_tokens: {fixed: 10}, arrival: {concurrency: 1}}
model: {preset: llama-3.1-8b}
cluster: {gpu: h100-sxm, nodes: 1, gpus_per_node: 1}
parallelism: {tp: 1}
serving: {engine: trtllm}
)";
  const Scenario s = test::scenario_from(text);
  CHECK(s.serving.max_batch_seqs == test::catalog().engines.at("trtllm").default_max_batch_seqs);
  CHECK(s.serving.prefill_chunk_tokens == test::catalog().engines.at("trtllm").default_prefill_chunk_tokens);
}

TEST_CASE("per-sequence time on the GPU streams HBM at the memory roof: same time, busy power instead of host-wait") {
  // One H100, 24 equal requests; the engine's only time is 80 us per scheduled
  // sequence. On the host the GPU waits through it at static_w; on the GPU it runs
  // elementwise kernels at hbm_bytes_per_s x memory efficiency, drawing
  // static_w + j_per_hbm_byte x that rate (below the board limit on an H100).
  Scenario host = test::scenario_from(equal_requests(24));
  host.serving.engine.iteration_host_s = 0;
  host.serving.engine.host_s_per_sequence = 80e-6;
  host.serving.engine.per_sequence_on_gpu = false;
  Scenario gpu = host;
  gpu.serving.engine.per_sequence_on_gpu = true;
  const MeterTotals on_host = meter_in_child(host);
  const MeterTotals on_gpu = meter_in_child(gpu);
  const GpuSpec& h100 = host.cluster.gpu;
  const double rate_bytes_per_s = h100.hbm_bytes_per_s * h100.efficiency.memory;
  const double streaming_w = h100.power.static_w + h100.power.j_per_hbm_byte * rate_bytes_per_s;
  REQUIRE(streaming_w < h100.power_max_w);
  const double moved_s = on_host.host_s;  // every second of host wait becomes GPU time
  INFO(fmt::format("per-sequence seconds {:.6f}, streaming {:.1f} W, static {:.1f} W", moved_s, streaming_w,
                   h100.power.static_w));
  REQUIRE(moved_s > 0);
  CHECK(on_gpu.host_s == Approx(0.0).margin(1e-12));
  CHECK(on_gpu.compute_s - on_host.compute_s == Approx(moved_s).epsilon(1e-9));
  CHECK(on_gpu.hbm_bytes - on_host.hbm_bytes == Approx(moved_s * rate_bytes_per_s).epsilon(1e-9));
  CHECK(on_gpu.active_energy_j - on_host.active_energy_j ==
        Approx(moved_s * (streaming_w - h100.power.static_w)).epsilon(1e-9));
  CHECK(on_gpu.tpot_s == Approx(on_host.tpot_s).epsilon(1e-12));  // where it runs does not change when
}

TEST_CASE("vLLM's TP all-reduce follows its symmetric-memory tables per GPU, SGLang keeps its kernels to 8 MiB") {
  const double MiB = 1024.0 * 1024.0;
  auto route_of = [](const std::string& gpu, int tp, const std::string& engine) {
    std::string text = equal_requests(8);
    text.replace(text.find("gpu: h100-sxm"), 13, "gpu: " + gpu);
    text.replace(text.find("gpus_per_node: 1"), 16, "gpus_per_node: 8");
    text.replace(text.find("tp: 1"), 5, "tp: " + std::to_string(tp));
    text.replace(text.find("engine: vllm"), 12, "engine: " + engine);
    const Scenario s = test::scenario_from(text);
    return CostModel(s).allreduce_route();
  };
  // vllm all_reduce_utils.py: SM 10.0 at TP 8, custom below 1 MiB, multimem below 128 MiB.
  const AllReduceRoute b200 = route_of("b200", 8, "vllm");
  CHECK(b200.direct);
  CHECK(b200.custom_max_bytes == 1 * MiB);
  CHECK(b200.symm_mem_max_bytes == 128 * MiB);
  CHECK(b200.multimem);
  const FabricSpec& nvlink5 = test::catalog().fabrics.at("nvlink5");
  CHECK(b200.multicast_rate_fraction == nvlink5.multicast_allreduce_bytes_per_s / nvlink5.bandwidth_bytes_per_s);
  // SM 9.0 at TP 4: the custom kernels' own 8 MiB buffer is below the table's 32 MiB.
  const AllReduceRoute h100 = route_of("h100-sxm", 4, "vllm");
  CHECK(h100.custom_max_bytes == 8 * MiB);
  CHECK(h100.symm_mem_max_bytes == 32 * MiB);
  CHECK(h100.multimem);
  // SM 10.0 at TP 4: two-shot symmetric memory.
  CHECK_FALSE(route_of("b200", 4, "vllm").multimem);
  // SM 10.3 has no entry in vLLM 0.11's tables: symmetric memory off.
  CHECK(route_of("b300", 8, "vllm").symm_mem_max_bytes == 0);
  const AllReduceRoute sglang = route_of("b200", 8, "sglang");
  CHECK(sglang.custom_max_bytes == kCustomAllReduceMaxBytes);
  CHECK(sglang.symm_mem_max_bytes == 0);
}

TEST_CASE("serving.symm_mem_allreduce false runs vLLM's kernels to their buffer and then NCCL, and an engine without it refuses true") {
  const double MiB = 1024.0 * 1024.0;
  auto scenario_text = [](const std::string& gpu, const std::string& engine, const std::string& symm) {
    std::string text = equal_requests(8);
    text.replace(text.find("gpu: h100-sxm"), 13, "gpu: " + gpu);
    text.replace(text.find("gpus_per_node: 1"), 16, "gpus_per_node: 8");
    text.replace(text.find("tp: 1"), 5, "tp: 8");
    text.replace(text.find("engine: vllm"), 12, "engine: " + engine + ", symm_mem_allreduce: " + symm);
    return text;
  };
  const Scenario off = test::scenario_from(scenario_text("b200", "vllm", "false"));
  const AllReduceRoute route = CostModel(off).allreduce_route();
  CHECK(route.custom_max_bytes == kCustomAllReduceMaxBytes);
  CHECK(route.symm_mem_max_bytes == 0);
  CHECK(plan_allreduce(8, 8 * MiB, route).algorithm == AllReducePlan::Algorithm::ring);  // NCCL from 8 MiB
  const Scenario on = test::scenario_from(scenario_text("b200", "vllm", "true"));
  CHECK(plan_allreduce(8, 8 * MiB, CostModel(on).allreduce_route()).algorithm == AllReducePlan::Algorithm::multimem);
  CHECK(on.warnings.empty());
  // B300 (SM 10.3) has no entry in vLLM 0.11's tables: asked for, it warns at the key.
  const Scenario b300 = test::scenario_from(scenario_text("b300", "vllm", "true"));
  bool warned = false;
  for (const std::string& w : b300.warnings) {
    warned = warned || w.find("serving.symm_mem_allreduce: the vllm profile has no symmetric-memory limits for b300") !=
                           std::string::npos;
  }
  CHECK(warned);
  CHECK(test::load_error_of(scenario_text("b200", "sglang", "true")) ==
        "test.yaml:12:47: serving.symm_mem_allreduce: the sglang profile has no symmetric-memory all-reduce (no "
        "symm_mem_allreduce in it); allowed: false");
}
