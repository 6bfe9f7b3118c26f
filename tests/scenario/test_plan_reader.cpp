// The plan: section's engine and prefill-pool axes: their defaults from the scenario,
// and the errors for what cannot be searched ("file:line:column: message" with the
// allowed values; positions counted by hand in the inline YAML, 1-based).

#include <string>

#include <catch2/catch.hpp>

#include "sim/scenario/config_error.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;

namespace {

// A small scenario whose line 6 is `parallelism_line` and whose last line (line 7)
// is the plan section given.
std::string with_plan(const std::string& plan, const std::string& parallelism_line = "parallelism: {tp: 1}") {
  return "name: plan\n"
         "requests: {count: 10, input_tokens: {fixed: 100}, output_tokens: {fixed: 10}, arrival: {rate_per_s: 1}}\n"
         "model: {preset: llama-3.1-8b}\n"
         "cluster: {gpu: h100-sxm, nodes: 1, gpus_per_node: 8}\n"
         "serving: {engine: sglang}\n" +
         parallelism_line + "\n" + "plan: " + plan + "\n";
}

std::string error_of(const std::string& yaml) {
  try {
    test::scenario_from(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("plan.engine lists serving engines to try, and without it the scenario's engine is the only one") {
  CHECK(test::scenario_from(with_plan("{tp: [1]}")).plan.engines == std::vector<std::string>{"sglang"});
  CHECK(test::scenario_from(with_plan("{engine: [vllm, trtllm]}")).plan.engines ==
        std::vector<std::string>{"vllm", "trtllm"});
}

TEST_CASE("plan compares engines at their own batch and chunk defaults unless the plan or the scenario sets them") {
  const Catalog& catalog = test::catalog();
  // with_plan's serving: section names the engine only.
  const PlanSpec own = test::scenario_from(with_plan("{engine: [vllm, sglang, trtllm]}")).plan;
  CHECK(own.max_batch_seqs.empty());
  CHECK(own.prefill_chunk_tokens.empty());
  for (const std::string e : {"vllm", "sglang", "trtllm"}) {
    CHECK(own.engine_max_batch_seqs.at(e) == catalog.engines.at(e).default_max_batch_seqs);
    CHECK(own.engine_prefill_chunk_tokens.at(e) == catalog.engines.at(e).default_prefill_chunk_tokens);
  }
  // The plan's list, or the scenario's own value, applies to every engine.
  const PlanSpec listed = test::scenario_from(with_plan("{engine: [vllm, sglang], max_batch_seqs: [32]}")).plan;
  CHECK(listed.max_batch_seqs == std::vector<int>{32});
  CHECK(listed.prefill_chunk_tokens.empty());
  const PlanSpec pinned =
      test::scenario_from(with_plan("{engine: [vllm, sglang]}"), {{"serving.max_batch_seqs", "48"}}).plan;
  CHECK(pinned.max_batch_seqs == std::vector<int>{48});
}

TEST_CASE("a GPU without a plan price takes the one its system preset cites, and an explicit price wins") {
  const Catalog& catalog = test::catalog();
  const PlanSpec plan =
      test::scenario_from(with_plan("{gpus: [h100-sxm, b200, h20], gpu_hour_usd: {h100-sxm: 2.5}}")).plan;
  const auto price = [&plan](const std::string& gpu) {
    for (const auto& [name, usd] : plan.gpu_hour_usd) {
      if (name == gpu) return usd;
    }
    return -1.0;
  };
  CHECK(price("h100-sxm") == 2.5);
  REQUIRE(catalog.systems.at("dgx-b200").gpu == "b200");
  CHECK(price("b200") == catalog.systems.at("dgx-b200").gpu_hour_usd);
  CHECK(price("b200") > 0);
  // No system preset carries the H20: no price, no usd columns for it.
  for (const auto& [name, system] : catalog.systems) CHECK(system.gpu != "h20");
  CHECK(price("h20") == -1.0);
  // The scenario's own price for its GPU (cluster.gpu_hour_usd) comes before the preset's.
  const PlanSpec own = test::scenario_from(with_plan("{gpus: [h100-sxm, b200]}"), {{"cluster.gpu_hour_usd", "3.25"}}).plan;
  REQUIRE(own.gpu_hour_usd.size() == 2);
  CHECK(own.gpu_hour_usd[0] == std::make_pair(std::string("h100-sxm"), 3.25));
  CHECK(own.gpu_hour_usd[1].second == catalog.systems.at("dgx-b200").gpu_hour_usd);
  CHECK(error_of(with_plan("{gpus: [h100-sxm, h20], goal: usd}")) ==
        "test.yaml:7:37: plan.goal: usd needs a price for every GPU of plan.gpus: plan.gpu_hour_usd has none for "
        "'h20', and no system preset carrying it cites one");
}

TEST_CASE("plan's prefill pool axes default to no pool, or to the scenario's pool and its layout") {
  const PlanSpec none = test::scenario_from(with_plan("{tp: [1]}")).plan;
  CHECK(none.prefill_replicas == std::vector<int>{0});
  CHECK(none.prefill_tp == std::vector<int>{0});  // 0: as the decode replicas
  const PlanSpec own = test::scenario_from(
      with_plan("{tp: [1]}", "parallelism: {tp: 1, dp: 2, prefill: {replicas: 2, tp: 2, pp: 1}}")).plan;
  CHECK(own.prefill_replicas == std::vector<int>{2});
  CHECK(own.prefill_tp == std::vector<int>{2});
  CHECK(own.prefill_pp == std::vector<int>{1});
  const PlanSpec listed = test::scenario_from(with_plan("{prefill_replicas: [0, 1], prefill_tp: [2, 4]}")).plan;
  CHECK(listed.prefill_tp == std::vector<int>{2, 4});
  CHECK(listed.prefill_pp == std::vector<int>{0});
}

TEST_CASE("plan rejects an unknown engine and a contradictory prefill pool, at the value, naming what is allowed") {
  struct Case {
    std::string yaml;
    std::string message;
  };
  const Case cases[] = {
      {with_plan("{engine: [vllm, tgi]}"),
       "test.yaml:7:23: plan.engine[1]: unknown serving engine 'tgi'; available: sglang, trtllm, vllm"},
      {with_plan("{engine: [sglan]}"),
       "test.yaml:7:17: plan.engine[0]: unknown serving engine 'sglan'; did you mean 'sglang'? available: sglang, "
       "trtllm, vllm"},
      {with_plan("{engine: vllm}"),
       "test.yaml:7:16: plan.engine: expected a non-empty list of serving engines, got 'vllm'"},
      {with_plan("{prefill_tp: [2]}"),
       "test.yaml:7:20: plan.prefill_tp: lays out a prefill pool, but plan.prefill_replicas tries none (only 0): list "
       "a pool size of 1 or more"},
      {with_plan("{prefill_replicas: [1], prefill_pp: [0]}"),
       "test.yaml:7:44: plan.prefill_pp[0] must be in [1, 2147483647], got 0"},
      {with_plan("{prefill_cp: [2]}"),
       "test.yaml:7:20: plan.prefill_cp: lays out a prefill pool, but plan.prefill_replicas tries none (only 0): list "
       "a pool size of 1 or more"},
      {with_plan("{prefill_replicas: [1], prefill_ep: [0]}"),
       "test.yaml:7:44: plan.prefill_ep[0] must be in [1, 2147483647], got 0"},
      // A value twice would make two identical candidates writing one folder.
      {with_plan("{tp: [1, 2, 1]}"), "test.yaml:7:19: plan.tp[2] = 1 repeats plan.tp[0]: each value of a plan axis once"},
      {with_plan("{engine: [vllm, vllm]}"),
       "test.yaml:7:23: plan.engine[1] = vllm repeats plan.engine[0]: each value of a plan axis once"},
      {with_plan("{kv_between_turns: [keep, keep]}"),
       "test.yaml:7:33: plan.kv_between_turns[1] = keep repeats plan.kv_between_turns[0]: each value of a plan axis "
       "once"},
      // An int axis holds at most 2^31 - 1: 9999999999999 is refused, not truncated.
      {with_plan("{tp: [9999999999999]}"), "test.yaml:7:13: plan.tp[0] must be in [1, 2147483647], got 9999999999999"},
      // 400 batch limits x 400 chunk sizes x the 4 default tp values (1, 2, 4, 8):
      // 640,000 candidates against 100,000.
      {with_plan("{max_batch_seqs: [" + [] {
         std::string list;
         for (int i = 1; i <= 400; ++i) list += (i > 1 ? ", " : "") + std::to_string(i);
         return list;
       }() + "], prefill_chunk_tokens: [" + [] {
         std::string list;
         for (int i = 1; i <= 400; ++i) list += (i > 1 ? ", " : "") + std::to_string(1000 + i);
         return list;
       }() + "]}"),
       "test.yaml:7:7: plan: its axes make 6.4e+05 candidates (the product of their lengths); at most 100000 (each is "
       "built and checked before pruning): shorten the lists"},
  };
  for (const Case& c : cases) {
    INFO(c.yaml);
    CHECK(error_of(c.yaml) == c.message);
  }
}
