// What convsim plan prunes before simulating, against the formulas written here:
// the memory of the busiest GPU (decode replica or prefill pool) and the roofline
// floor of a token.

#include <algorithm>
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "models/architecture.hpp"
#include "sim/plan/pruning.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;

TEST_CASE("a candidate is pruned when a token's weight reads alone exceed the TPOT objective") {
  // Llama-3.1-8B in BF16 on one H100: 2 bytes * params / 3.35e12 B/s per token.
  const char* yaml = R"(
name: floor
requests: {count: 10, input_tokens: {fixed: 100}, output_tokens: {fixed: 10}, arrival: {rate_per_s: 1}}
model: {preset: llama-3.1-8b}
cluster: {gpu: h100-sxm, nodes: 1, gpus_per_node: 8}
parallelism: {tp: 1}
)";
  const double floor_s = total_params(test::catalog().models.at("llama-3.1-8b")) * 2.0 / 3.35e12;
  for (const int tp : {1, 2, 4}) {
    INFO("tp " << tp);
    const double tp_floor_s = floor_s / tp;
    const std::string tp_text = std::to_string(tp);
    const Scenario below = test::scenario_from(
        yaml, {{"parallelism.tp", tp_text}, {"slo.tpot_p50_s", std::to_string(tp_floor_s * 0.99)}});
    const Scenario above = test::scenario_from(
        yaml, {{"parallelism.tp", tp_text}, {"slo.tpot_p50_s", std::to_string(tp_floor_s * 1.01)}});
    CHECK(latency_floor_s(below, Objective::Metric::tpot) == Approx(tp_floor_s).epsilon(1e-12));
    CHECK(prune_reason(below, 0).rfind("roofline: tpot_p50_s", 0) == 0);
    CHECK(prune_reason(above, 0).empty());
  }
}

TEST_CASE("a disaggregated candidate is pruned when its prefill pool's GPUs cannot hold their share") {
  // Llama-3.1-70B in BF16 on H100s (80 GB): decode replicas at TP8, a prefill pool
  // of 1 replica at TP tp_pool, PP pp_pool. Each GPU of a layout holds
  //   total_params * 2 / (pp * tp) of weights + the KV of kv_reserve_tokens
  //   (2 (K, V) * layers * kv_heads * head_dim * 2 bytes a token) / (pp * tp)
  //   + the workspace (2 GB by default),
  // and the busiest layout must fit.
  const char* yaml = R"(
name: pool-memory
requests: {count: 10, input_tokens: {fixed: 100}, output_tokens: {fixed: 10}, arrival: {rate_per_s: 1}}
model: {preset: llama-3.1-70b}
cluster: {gpu: h100-sxm, nodes: 3, gpus_per_node: 8}
parallelism: {tp: 8, dp: 1}
)";
  const ModelSpec& llama = test::catalog().models.at("llama-3.1-70b");
  const long reserve_tokens = 100'000;
  const double weight_bytes = total_params(llama) * 2.0;
  const double kv_bytes = 2.0 * llama.layers * llama.kv_heads * llama.head_dim * 2.0 * reserve_tokens;
  const double workspace_bytes = 2e9, hbm_bytes = 80e9;
  for (const int tp_pool : {1, 2, 4, 8}) {
    for (const int pp_pool : {1, 2}) {
      INFO("prefill pool TP" << tp_pool << " PP" << pp_pool);
      const Scenario s = test::scenario_from(
          yaml, {{"parallelism.prefill", fmt::format("{{replicas: 1, tp: {}, pp: {}}}", tp_pool, pp_pool)}});
      const double replica_need = (weight_bytes + kv_bytes) / 8 + workspace_bytes;
      const double pool_need = (weight_bytes + kv_bytes) / (tp_pool * pp_pool) + workspace_bytes;
      const MemoryCheck m = memory_check(s, reserve_tokens);
      CHECK(m.need_bytes() == Approx(std::max(replica_need, pool_need)).epsilon(1e-9));
      CHECK(std::string(m.layout) == (pool_need > replica_need ? "prefill pool" : "replica"));
      const bool rejected = std::max(replica_need, pool_need) > hbm_bytes;
      const std::string reason = prune_reason(s, reserve_tokens);
      CHECK(reason.rfind("memory:", 0) == (rejected ? 0u : std::string::npos));
      if (rejected) CHECK(reason.find("prefill pool GPU") != std::string::npos);
    }
  }
}
