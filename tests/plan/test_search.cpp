// The search strategies of convsim plan (grid search, the registry) and the
// candidates they produce: names, GPU counts and the overrides that make them.

#include <set>
#include <string>

#include <catch2/catch.hpp>

#include "sim/plan/candidate.hpp"
#include "sim/plan/search_strategy.hpp"

using namespace convsim;

TEST_CASE("grid search visits every combination once, the last list varying fastest") {
  PlanSpec space;
  space.gpus = {"h100-sxm", "h200"};
  space.engines = {"vllm"};
  space.nodes = {1, 2};
  space.tp = {2, 4, 8};
  space.pp = {1};
  space.ep = {1};
  space.cp = {1};
  space.prefill_replicas = {0};
  space.prefill_tp = {0};
  space.prefill_pp = {0};
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
  CHECK(candidate_name(candidates[0]) == "h100-sxm-vllm-n1-tp2-pp1-ep1-cp1-dpfill-pf0-b16-c4096-keep");
  // dp 0 fills the nodes: 2 nodes of 8 GPUs hold 16 / (tp 2) = 8 replicas.
  Candidate c = candidates[0];
  c.nodes = 2;
  CHECK(resolved_dp(c, 8) == 8);
  c.prefill_replicas = 2;  // the pool takes 2 * 2 GPUs
  CHECK(resolved_dp(c, 8) == 6);
}

TEST_CASE("grid search with no batch or chunk axis runs each engine at its own defaults") {
  PlanSpec space;
  space.gpus = {"h100-sxm"};
  space.engines = {"vllm", "sglang"};
  space.nodes = {1};
  space.tp = {8};
  space.pp = {1};
  space.ep = {1};
  space.cp = {1};
  space.prefill_replicas = {0};
  space.prefill_tp = {0};
  space.prefill_pp = {0};
  space.engine_max_batch_seqs = {{"vllm", 1024}, {"sglang", 4096}};
  space.engine_prefill_chunk_tokens = {{"vllm", 8192}, {"sglang", 16384}};
  space.kv_between_turns = {"keep"};
  const std::vector<Candidate> candidates = make_search_strategy("grid")->candidates(space);
  REQUIRE(candidates.size() == 2);
  CHECK(candidate_name(candidates[0]) == "h100-sxm-vllm-n1-tp8-pp1-ep1-cp1-dpfill-pf0-b1024-c8192-keep");
  CHECK(candidate_name(candidates[1]) == "h100-sxm-sglang-n1-tp8-pp1-ep1-cp1-dpfill-pf0-b4096-c16384-keep");
  // A given axis applies to every engine.
  space.max_batch_seqs = {64};
  const std::vector<Candidate> pinned = make_search_strategy("grid")->candidates(space);
  REQUIRE(pinned.size() == 2);
  CHECK(pinned[0].max_batch_seqs == 64);
  CHECK(pinned[1].max_batch_seqs == 64);
  CHECK(pinned[1].prefill_chunk_tokens == 16384);
}

TEST_CASE("the strategy registry names its strategies and knows no other") {
  CHECK(search_strategy_names() == std::vector<std::string>{"grid"});
  CHECK(make_search_strategy("annealing") == nullptr);
}

TEST_CASE("grid search tries each engine, and each prefill pool layout only for candidates with a pool") {
  PlanSpec space;
  space.gpus = {"h100-sxm"};
  space.engines = {"vllm", "sglang", "trtllm"};
  space.nodes = {2};
  space.tp = {4, 8};
  space.pp = {1};
  space.ep = {1};
  space.cp = {1};
  space.prefill_replicas = {0, 1, 2};
  space.prefill_tp = {2, 8};
  space.prefill_pp = {1, 2};
  space.max_batch_seqs = {64};
  space.prefill_chunk_tokens = {8192};
  space.kv_between_turns = {"keep"};
  const std::vector<Candidate> candidates = make_search_strategy("grid")->candidates(space);
  // Per engine and TP: one candidate without a pool, and 2 pool sizes * 2 pool TPs *
  // 2 pool PPs with one.
  CHECK(candidates.size() == 3 * 2 * (1 + 2 * 2 * 2));
  std::set<std::string> names;
  for (const Candidate& c : candidates) names.insert(candidate_name(c));
  CHECK(names.size() == candidates.size());
  CHECK(candidates[0].engine == "vllm");
  CHECK(candidates.back().engine == "trtllm");
  CHECK(candidate_name(candidates[0]) == "h100-sxm-vllm-n2-tp4-pp1-ep1-cp1-dpfill-pf0-b64-c8192-keep");
  CHECK(candidate_name(candidates[1]) == "h100-sxm-vllm-n2-tp4-pp1-ep1-cp1-dpfill-pf1tp2pp1-b64-c8192-keep");
  CHECK(candidate_name(candidates[2]) == "h100-sxm-vllm-n2-tp4-pp1-ep1-cp1-dpfill-pf1tp2pp2-b64-c8192-keep");
}

TEST_CASE("a prefill pool of its own layout takes replicas * tp * cp * pp GPUs, and the decode replicas fill the rest") {
  Candidate c;
  c.gpu = "h200";
  c.nodes = 2;
  c.tp = 4;
  c.cp = 1;
  c.pp = 1;
  CHECK(pool_gpus(c) == 0);
  c.prefill_replicas = 2;  // laid out like the decode replicas: 2 * 4 GPUs
  CHECK(pool_tp(c) == 4);
  CHECK(pool_gpus(c) == 2 * 4);
  CHECK(resolved_dp(c, 8) == (16 - 8) / 4);
  c.prefill_tp = 2;
  c.prefill_pp = 2;  // its own layout: 2 * 2 * 2 GPUs
  CHECK(pool_gpus(c) == 2 * 2 * 2);
  CHECK(resolved_dp(c, 8) == (16 - 8) / 4);
  c.prefill_replicas = 3;  // 12 GPUs: one decode replica of 4 left
  CHECK(resolved_dp(c, 8) == 1);
  bool pool_override = false, engine_override = false;
  c.engine = "sglang";
  for (const Override& o : candidate_overrides(c, 8)) {
    if (o.key_path == "parallelism.prefill") {
      CHECK(o.value == "{replicas: 3, tp: 2, pp: 2, cp: 1, ep: 1}");
      pool_override = true;
    }
    if (o.key_path == "serving.engine") {
      CHECK(o.value == "sglang");
      engine_override = true;
    }
    if (o.key_path == "parallelism.dp") CHECK(o.value == "1");
  }
  CHECK(pool_override);
  CHECK(engine_override);
}

TEST_CASE("a prefill pool's own cp and ep: replicas * tp * cp * pp GPUs, named only where they differ") {
  Candidate c;
  c.gpu = "h200";
  c.nodes = 4;
  c.tp = 8;
  c.cp = 1;
  c.pp = 1;
  c.prefill_replicas = 1;
  CHECK(pool_cp(c) == 1);
  CHECK(pool_ep(c) == 1);
  const std::string plain = candidate_name(c);
  CHECK(plain.find("-pf1tp8pp1-") != std::string::npos);
  c.prefill_cp = 2;  // ring attention over two TP groups: 1 * 8 * 2 * 1 GPUs
  c.prefill_ep = 8;  // experts over the pool's 8 tensor-parallel GPUs: no GPUs of its own
  CHECK(pool_gpus(c) == 1 * 8 * 2 * 1);
  CHECK(resolved_dp(c, 8) == (32 - 16) / 8);
  CHECK(candidate_name(c).find("-pf1tp8pp1cp2ep8-") != std::string::npos);
  for (const Override& o : candidate_overrides(c, 8)) {
    if (o.key_path == "parallelism.prefill") CHECK(o.value == "{replicas: 1, tp: 8, pp: 1, cp: 2, ep: 8}");
  }
  // The grid tries each pool cp and ep only for candidates with a pool.
  PlanSpec space;
  space.gpus = {"h200"};
  space.engines = {"vllm"};
  space.nodes = {4};
  space.tp = {8};
  space.pp = {1};
  space.ep = {1};
  space.cp = {1};
  space.prefill_replicas = {0, 1};
  space.prefill_tp = {0};
  space.prefill_pp = {0};
  space.prefill_cp = {1, 2};
  space.prefill_ep = {1, 8};
  space.max_batch_seqs = {64};
  space.prefill_chunk_tokens = {8192};
  space.kv_between_turns = {"keep"};
  const std::vector<Candidate> candidates = make_search_strategy("grid")->candidates(space);
  CHECK(candidates.size() == 1 + 2 * 2);
  std::set<std::string> names;
  for (const Candidate& k : candidates) names.insert(candidate_name(k));
  CHECK(names.size() == candidates.size());
}
