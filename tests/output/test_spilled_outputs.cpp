// Outputs written from records spilled to disk in small chunks are byte-identical to
// those written from records held in memory. Each TEST_CASE simulates once (its own
// process under ctest: one SimGrid simulation per process).

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "sim/engine/simulation.hpp"
#include "sim/output/writers.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;
namespace fs = std::filesystem;

namespace {

struct Outputs {
  std::string turns_csv;
  std::string summary_json;
};

Outputs write_outputs(const RunResult& result, const Scenario& s, const fs::path& dir) {
  fs::create_directories(dir);
  SortedTurns sorted = sorted_replies(result.replies);
  write_turns_csv((dir / "turns.csv").string(), sorted, s);
  write_json((dir / "summary.json").string(), summary_json(result, sorted, s));
  auto read = [](const fs::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  };
  return {read(dir / "turns.csv"), read(dir / "summary.json")};
}

// Simulates, writes the outputs from the run's records (all in memory: fewer than a
// chunk), then again from the same records in a store of `chunk_records`. Returns
// summary.json.
std::string check_spilled_outputs_identical(const Scenario& s, std::size_t chunk_records) {
  RunResult r = simulate(s);
  const fs::path dir = fs::temp_directory_path() / fmt::format("convsim-spill-{}", ::getpid());
  REQUIRE(r.replies.chunks_spilled() == 0);
  const Outputs in_memory = write_outputs(r, s, dir / "memory");

  ReplyStore spilled(chunk_records);
  for (const ReplyRecord& reply : r.replies) spilled.push_back(reply);
  std::swap(r.replies, spilled);
  INFO(r.replies.size() << " records, " << r.replies.chunks_spilled() << " chunks of " << chunk_records
                        << " on disk");
  REQUIRE(r.replies.chunks_spilled() >= 3);
  CHECK(r.replies.peak_buffered_records() <= chunk_records);
  CHECK(sorted_replies(r.replies).runs_spilled() >= 3);
  const Outputs on_disk = write_outputs(r, s, dir / "disk");
  CHECK(on_disk.turns_csv == in_memory.turns_csv);
  CHECK(on_disk.summary_json == in_memory.summary_json);
  fs::remove_all(dir);
  return on_disk.summary_json;
}

}  // namespace

TEST_CASE("outputs from spilled records equal the in-memory ones: conversations missing their objectives") {
  // Three staggered conversations on one GPU, objectives near the median TTFT and TPOT
  // (~6.8 ms, ~6.7 ms): summary.json holds failure points, probes and percentiles.
  const Scenario s = test::scenario_from(test::kSmallConversation, {{"conversation.sessions", "3"},
                                                                    {"conversation.session_stagger_s", "2"},
                                                                    {"conversation.duration_min", "10"},
                                                                    {"slo.ttft_s", "0.0069"},
                                                                    {"slo.tpot_s", "0.0067"}});
  const std::string summary = check_spilled_outputs_identical(s, 7);
  CHECK_THAT(summary, Catch::Contains("\"slo_ttft\"") && Catch::Contains("\"slo_tpot\""));
}

TEST_CASE("outputs from spilled records equal the in-memory ones: a burst of requests arriving together") {
  // Equal start times everywhere: the order of ties must survive the merge of runs.
  const Scenario s = test::scenario_from(R"(
name: burst
requests: {count: 40, input_tokens: {fixed: 300}, output_tokens: {fixed: 10}, arrival: {all_at_once: true}}
model: {preset: llama-3.1-8b}
cluster: {gpu: h100-sxm, nodes: 1, gpus_per_node: 2}
parallelism: {dp: 2}
serving: {routing: least_loaded}
)");
  check_spilled_outputs_identical(s, 5);
}

TEST_CASE("outputs from spilled records equal the in-memory ones: an unstable queue") {
  // 40 arrivals per second against ~30 prefills per second at most (see test_failures).
  const Scenario s = test::scenario_from(R"(
name: overload
requests: {count: 300, input_tokens: {fixed: 2000}, output_tokens: {fixed: 20}, arrival: {rate_per_s: 40}}
model: {preset: llama-3.1-8b}
cluster: {gpu: h100-sxm, nodes: 1, gpus_per_node: 1}
serving: {max_batch_seqs: 128, prefill_chunk_tokens: 4096}
slo: {ttft_s: 1.0, tpot_s: 0.2}
)");
  CHECK_THAT(check_spilled_outputs_identical(s, 16), Catch::Contains("\"unstable_queue\""));
}
