// Prefix caching across requests and sessions, through whole runs. Each TEST_CASE
// simulates once (its own process under ctest).

#include <unistd.h>

#include <filesystem>
#include <fstream>
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

namespace {

// Three requests on two replicas: two at once with nothing in common, then, once
// both are done, one that shares the second one's first two 512-token blocks.
std::map<int, ReplyRecord> route_three(const std::string& routing) {
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() / fmt::format("convsim-{}-route.jsonl", ::getpid());
  std::ofstream(path) << R"({"timestamp": 0, "input_length": 2048, "output_length": 10, "hash_ids": [1, 2, 3, 4]})" "\n"
                      << R"({"timestamp": 0, "input_length": 1024, "output_length": 10, "hash_ids": [5, 6]})" "\n"
                      << R"({"timestamp": 60000, "input_length": 1536, "output_length": 10, "hash_ids": [5, 6, 7]})" "\n";
  const RunResult r = simulate(test::scenario_from(fmt::format(R"(
name: route
requests: {{trace: {}, format: mooncake}}
model: {{preset: llama-3.1-8b}}
cluster: {{gpu: h100-sxm, nodes: 1, gpus_per_node: 2}}
parallelism: {{tp: 1, dp: 2}}
serving: {{prefix_caching: true, routing: {}}}
)",
                                                               path.string(), routing)));
  std::map<int, ReplyRecord> by_row;
  for (const ReplyRecord& reply : r.replies) by_row[reply.session] = reply;
  return by_row;
}

}  // namespace

TEST_CASE("prefix_affinity sends a request to the replica holding its prefix") {
  const auto affinity = route_three("prefix_affinity");
  REQUIRE(affinity.size() == 3);
  // The second request goes where nothing is queued; the third finds its two blocks there.
  CHECK(affinity.at(0).replica != affinity.at(1).replica);
  CHECK(affinity.at(2).replica == affinity.at(1).replica);
  CHECK(affinity.at(2).cached_tokens == 2 * 512);
}

TEST_CASE("round robin sends the same requests in turn, missing the prefix another replica holds") {
  const auto round_robin = route_three("round_robin");
  REQUIRE(round_robin.size() == 3);
  CHECK(round_robin.at(2).replica == round_robin.at(0).replica);
  CHECK(round_robin.at(2).cached_tokens == 0);
  // Both replicas were idle at time 0: neither first request waited.
  CHECK(round_robin.at(0).queue_s == Approx(0).margin(1e-9));
  CHECK(round_robin.at(1).queue_s == Approx(0).margin(1e-9));
}
