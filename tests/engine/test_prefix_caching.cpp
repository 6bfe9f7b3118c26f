// Prefix caching across requests and sessions, through whole runs. Each TEST_CASE
// simulates once (its own process under ctest).

#include <map>
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "sim/engine/simulation.hpp"
#include "tests/support/prefix_hits.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;

namespace {

// Two conversations on one H100, the second starting a minute after the first, both
// opening with the same system prompt.
std::string shared_prompt_scenario(bool caching, int dp) {
  return fmt::format(R"(
name: shared-system-prompt
conversation:
  duration_min: 3
  sessions: 2
  session_stagger_s: 60
  system_prompt_tokens: 4000
  speakers: [{{name: a, words_per_min: 150, turn_words: {{fixed: 30}}}}]
  model_replies: {{output_tokens: {{fixed: 20}}}}
model: {{preset: llama-3.1-8b}}
cluster: {{gpu: h100-sxm, nodes: 1, gpus_per_node: {}}}
parallelism: {{tp: 1, dp: {}}}
serving: {{prefix_caching: {}, kv_block_tokens: 16}}
)",
                     dp, dp, caching ? "true" : "false");
}

std::map<int, ReplyRecord> first_turns(const RunResult& r) {
  std::map<int, ReplyRecord> first;
  for (const ReplyRecord& reply : r.replies) {
    if (reply.turn == 0) first[reply.session] = reply;
  }
  return first;
}

}  // namespace

TEST_CASE("two sessions sharing a 4,000-token system prompt on one replica prefill it once") {
  const RunResult r = simulate(test::scenario_from(shared_prompt_scenario(true, 1)));
  const auto first = first_turns(r);
  REQUIRE(first.size() == 2);
  CHECK(first.at(0).cached_tokens == 0);
  // 4,000 tokens are 250 whole blocks of 16: all of them found.
  CHECK(first.at(1).cached_tokens == 4000);
  CHECK(r.prefix_hit_blocks >= 250);
}

TEST_CASE("without prefix caching, or on another replica, the second session prefills the system prompt again") {
  const RunResult off = simulate(test::scenario_from(shared_prompt_scenario(false, 1)));
  CHECK(first_turns(off).at(1).cached_tokens == 0);
}

TEST_CASE("a system prompt is computed once per replica: sessions on two replicas prefill it twice") {
  const RunResult two = simulate(test::scenario_from(shared_prompt_scenario(true, 2)));
  const auto first = first_turns(two);
  CHECK(first.at(0).replica != first.at(1).replica);
  CHECK(first.at(1).cached_tokens == 0);
}

TEST_CASE("a Mooncake replay served one request at a time hits its cache of C blocks as an LRU count over its ids") {
  const std::size_t rows = 300, capacity_blocks = 200;
  const test::Hits expected = test::lru_hits(test::mooncake_ids(rows), capacity_blocks);
  const Scenario s = test::scenario_from(fmt::format(R"(
name: mooncake-lru
requests: {{trace: {}, format: mooncake, max_requests: {}}}
model: {{preset: llama-3.1-8b}}
cluster: {{gpu: h100-sxm, nodes: 1, gpus_per_node: 1}}
parallelism: {{tp: 1}}
serving: {{prefix_caching: true, prefix_cache_tokens: {}, max_batch_seqs: 1}}
)",
                                                     test::kMooncakeConv, rows, capacity_blocks * 512));
  const RunResult r = simulate(s);
  REQUIRE(r.replies.size() == rows);
  for (const ReplyRecord& reply : r.replies) REQUIRE(reply.served);
  INFO("Expectation: " << expected.hit_blocks << " of " << expected.lookup_blocks << " blocks. Actual: "
                       << r.prefix_hit_blocks << " of " << r.prefix_lookup_blocks);
  CHECK(r.prefix_lookup_blocks == expected.lookup_blocks);
  CHECK(r.prefix_hit_blocks == expected.hit_blocks);
  CHECK(expected.hit_blocks > 0);
}
