// Prefix caching across requests and sessions, through whole runs. Each TEST_CASE
// simulates once (its own process under ctest).

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

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

TEST_CASE("a Mooncake replay served one request at a time, evicted blocks dropped, hits its cache of C blocks as an LRU count over its ids") {
  const std::size_t rows = 300, capacity_blocks = 200;
  const test::Hits expected = test::lru_hits(test::mooncake_ids(rows), capacity_blocks);
  const Scenario s = test::scenario_from(fmt::format(R"(
name: mooncake-lru
requests: {{trace: {}, format: mooncake, max_requests: {}}}
model: {{preset: llama-3.1-8b}}
cluster: {{gpu: h100-sxm, nodes: 1, gpus_per_node: 1}}
parallelism: {{tp: 1}}
serving: {{prefix_caching: true, prefix_cache_tokens: {}, prefix_cache_offload: false, max_batch_seqs: 1}}
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

namespace {

// Three Mooncake rows on one H100, ten seconds apart, each served alone: the second
// evicts the first's four 512-token blocks from an HBM cache of four blocks; the
// third starts with those four blocks. Run through the CLI (SimGrid runs once per
// process): the summary's prefix_cache section, and each row's cached tokens and
// TTFT from turns.csv.
const std::vector<std::vector<std::uint64_t>> kDemotionIds = {{1, 2, 3, 4}, {5, 6, 7, 8}, {1, 2, 3, 4, 9}};

struct Replay {
  nlohmann::json prefix_cache;
  std::map<int, std::pair<long, double>> rows;  // session (row) -> cached_tokens, ttft_s
};

Replay replay_demotion(long cache_tokens, bool offload) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    fmt::format("convsim-{}-demotion-{}-{}", ::getpid(), cache_tokens, offload);
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "trace.jsonl")
      << R"({"timestamp": 0, "input_length": 2048, "output_length": 10, "hash_ids": [1, 2, 3, 4]})" "\n"
      << R"({"timestamp": 10000, "input_length": 2048, "output_length": 10, "hash_ids": [5, 6, 7, 8]})" "\n"
      << R"({"timestamp": 20000, "input_length": 2560, "output_length": 10, "hash_ids": [1, 2, 3, 4, 9]})" "\n";
  std::ofstream(dir / "s.yaml") << fmt::format(R"(
name: demotion
requests: {{trace: trace.jsonl, format: mooncake}}
model: {{preset: llama-3.1-8b}}
cluster: {{gpu: h100-sxm, nodes: 1, gpus_per_node: 1}}
parallelism: {{tp: 1}}
serving: {{prefix_caching: true, prefix_cache_tokens: {}, prefix_cache_offload: {}, max_batch_seqs: 1}}
)",
                                               cache_tokens, offload ? "true" : "false");
  const std::string command =
      fmt::format("{} run {} -q -o {}", CONVSIM_BINARY, (dir / "s.yaml").string(), (dir / "out").string());
  REQUIRE(std::system(command.c_str()) == 0);
  Replay replay;
  replay.prefix_cache =
      nlohmann::json::parse(test::read_file(dir / "out" / "summary.json"))["kv_cache"]["prefix_cache"];
  std::ifstream turns(dir / "out" / "turns.csv");
  std::string line;
  std::getline(turns, line);
  while (std::getline(turns, line)) {  // columns: 0 session, 7 cached_tokens, 10 ttft_s
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) cells.push_back(cell);
    replay.rows[std::stoi(cells[0])] = {std::stol(cells[7]), std::stod(cells[10])};
  }
  std::filesystem::remove_all(dir);
  return replay;
}

}  // namespace

TEST_CASE("prefix blocks evicted from HBM wait in host memory: hits are those of an unbounded cache, not of the LRU") {
  const long capacity_blocks = 4;
  const test::Hits lru = test::lru_hits(kDemotionIds, capacity_blocks);
  const test::Hits unbounded = test::unbounded_hits(kDemotionIds);
  REQUIRE(lru.hit_blocks == 0);  // the LRU of 4 blocks has lost blocks 1-4 by the third row
  REQUIRE(unbounded.hit_blocks == 4);
  const Replay dropped = replay_demotion(capacity_blocks * 512, false);
  const Replay demoted = replay_demotion(capacity_blocks * 512, true);
  INFO("Expectation: " << lru.hit_blocks << " blocks dropped, " << unbounded.hit_blocks << " demoted. Actual: "
                       << dropped.prefix_cache["hit_blocks"] << ", " << demoted.prefix_cache["hit_blocks"]);
  CHECK(dropped.prefix_cache["hit_blocks"] == lru.hit_blocks);
  CHECK(dropped.prefix_cache["demoted_blocks"] == 0);
  CHECK(demoted.prefix_cache["lookup_blocks"] == unbounded.lookup_blocks);
  CHECK(demoted.prefix_cache["hit_blocks"] == unbounded.hit_blocks);
  CHECK(demoted.prefix_cache["restored_blocks"] == 4);
  CHECK(demoted.prefix_cache["demoted_blocks"] == demoted.prefix_cache["evicted_blocks"]);  // host memory holds all
  CHECK(demoted.rows.at(2).first == 4 * 512);
  CHECK(dropped.rows.at(2).first == 0);
}

TEST_CASE("a demoted prefix comes back in its bytes over the PCIe bandwidth instead of being prefilled") {
  // The third row's TTFT with its four blocks read back from host memory, less its
  // TTFT with them still in HBM (no cap): latency + KV bytes / PCIe bandwidth (one
  // GPU, one link); the prefill of its last 512 tokens is the same in both.
  const Replay in_hbm = replay_demotion(0, true);
  const Replay restored = replay_demotion(4 * 512, true);
  REQUIRE(in_hbm.rows.at(2).first == 4 * 512);
  REQUIRE(restored.rows.at(2).first == 4 * 512);
  const FabricSpec& pcie = test::catalog().fabrics.at("pcie5");
  const double kv_bytes = 4 * 512 * (32 * 2 * 8 * 128 * 2.0);  // Llama-3.1-8B, BF16
  const double expected_s = pcie.latency_s + kv_bytes / pcie.bandwidth_bytes_per_s;
  const double actual_s = restored.rows.at(2).second - in_hbm.rows.at(2).second;
  INFO("Expectation " << expected_s << " s, actual " << actual_s << " s");
  CHECK(actual_s == Approx(expected_s).epsilon(1e-6));
}
