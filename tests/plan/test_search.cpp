// The search strategies of convsim plan (grid search, the registry) and its pruning
// rules, against formulas written here.

#include <set>
#include <string>

#include <catch2/catch.hpp>

#include "models/architecture.hpp"
#include "sim/plan/candidate.hpp"
#include "sim/plan/pruning.hpp"
#include "sim/plan/search_strategy.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;

TEST_CASE("grid search visits every combination once, the last list varying fastest") {
  PlanSpec space;
  space.gpus = {"h100-sxm", "h200"};
  space.nodes = {1, 2};
  space.tp = {2, 4, 8};
  space.pp = {1};
  space.ep = {1};
  space.cp = {1};
  space.prefill_replicas = {0};
  space.max_batch_seqs = {16, 64};
  space.prefill_chunk_tokens = {4096};
  space.kv_between_turns = {"keep", "drop"};
  const auto grid = make_search_strategy("grid");
  REQUIRE(grid != nullptr);
  const std::vector<Candidate> candidates = grid->candidates(space);
  CHECK(candidates.size() == 2 * 2 * 3 * 2 * 2);
  std::set<std::string> names;
  for (const Candidate& c : candidates) names.insert(candidate_name(c));
  CHECK(names.size() == candidates.size());
  CHECK(candidates[0].kv_between_turns == "keep");
  CHECK(candidates[1].kv_between_turns == "drop");
  CHECK(candidates[2].max_batch_seqs == 64);
  CHECK(candidates.back().gpu == "h200");
  CHECK(candidate_name(candidates[0]) == "h100-sxm-n1-tp2-pp1-ep1-cp1-dpfill-pf0-b16-c4096-keep");
  // dp 0 fills the nodes: 2 nodes of 8 GPUs hold 16 / (tp 2) = 8 replicas.
  Candidate c = candidates[0];
  c.nodes = 2;
  CHECK(resolved_dp(c, 8) == 8);
  c.prefill_replicas = 2;  // the pool takes 2 * 2 GPUs
  CHECK(resolved_dp(c, 8) == 6);
}

TEST_CASE("the strategy registry names its strategies and knows no other") {
  CHECK(search_strategy_names() == std::vector<std::string>{"grid"});
  CHECK(make_search_strategy("annealing") == nullptr);
}

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
