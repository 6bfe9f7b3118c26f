// A run that served no reply (its model leaves no room for a KV cache) reports no
// latency rather than a latency of 0: null statistics and attainments in
// summary.json, dashes in the printed tables, empty cells in compare.csv; and
// convsim check warns of it before anything runs.

#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/support/cli_run.hpp"
#include "tests/support/csv_records.hpp"

using Json = nlohmann::json;
namespace fs = std::filesystem;

using namespace ::convsim::test;

namespace {

// Llama-3.1-70B in BF16 on one 80 GB H100: 141 GB of weights.
const std::pair<std::string, std::string> kTooBig = {"model: {preset: llama-3.1-8b}", "model: {preset: llama-3.1-70b}"};

}  // namespace

TEST_CASE("a run that served no reply has null latencies and attainments, and says so instead of printing 0") {
  const Workspace w("no-reply");
  const std::string s = w.write("s.yaml", small_scenario("no-reply", 2, {kTooBig}));
  REQUIRE(run_convsim(fmt::format("run '{}' -o '{}'", s, w.path("out")), w.path("log")) == 0);
  const std::string log = read_file(w.path("log"));
  INFO(log);
  CHECK(log.find("TTFT and TPOT: none, no reply was served") != std::string::npos);
  const Json summary = Json::parse(read_file(w.dir / "out" / "summary.json"));
  CHECK(summary["replies"] == 0);
  for (const char* metric : {"ttft_s", "tpot_s", "e2e_s", "itl_s"}) {
    for (const char* stat : {"mean", "p50", "p90", "p99"}) {
      INFO(metric << "." << stat);
      CHECK(summary[metric][stat].is_null());
    }
  }
  REQUIRE_FALSE(summary["objectives"].empty());
  for (const Json& o : summary["objectives"]) {
    INFO(o.dump());
    CHECK(o["replies"] == 0);
    CHECK(o["attainment"].is_null());
    CHECK(o["met"] == false);
  }
  REQUIRE_FALSE(summary["failures"].empty());
  CHECK(summary["failures"][0]["kind"] == "memory");
}

TEST_CASE("compare shows a variant that served no reply with dashes and empty compare.csv cells") {
  const Workspace w("no-reply-compare");
  const std::string s =
      w.write("s.yaml", small_scenario("no-reply-compare", 2) +
                            "compare:\n  - {name: fits}\n  - {name: too-big, set: {model.preset: llama-3.1-70b}}\n");
  REQUIRE(run_convsim(fmt::format("compare '{}' -o '{}' --jobs 2", s, w.path("all")), w.path("log")) == 0);
  const std::string log = read_file(w.path("log"));
  INFO(log);
  CHECK(log.find("| too-big | - | - | - | - | - | ") != std::string::npos);
  std::vector<std::vector<std::string>> rows;
  {
    std::ifstream in(w.dir / "all" / "compare.csv");
    for (std::string line; std::getline(in, line);) rows.push_back(csv_line_fields(line));
  }
  REQUIRE(rows.size() == 3);
  auto column = [&](const std::string& name) {
    for (std::size_t i = 0; i < rows[0].size(); ++i) {
      if (rows[0][i] == name) return i;
    }
    FAIL("no column " << name);
    return std::size_t{0};
  };
  for (const char* name : {"ttft_p50_s", "ttft_p99_s", "tpot_p50_s", "tpot_p99_s", "energy_per_reply_j"}) {
    INFO(name);
    CHECK_FALSE(rows[1][column(name)].empty());  // fits
    CHECK(rows[2][column(name)].empty());        // too-big
  }
  CHECK(rows[2][column("first_failure_kind")] == "memory");
}

TEST_CASE("convsim check warns that every request will fail when the model leaves no room for a KV cache") {
  const Workspace w("no-reply-check");
  const std::string too_big = w.write("big.yaml", small_scenario("no-reply-check", 2, {kTooBig}));
  REQUIRE(run_convsim(fmt::format("check '{}'", too_big), w.path("log")) == 0);
  const std::string log = read_file(w.path("log"));
  INFO(log);
  CHECK(log.find(too_big + ": warning: every request of a run will fail: weights (") != std::string::npos);
  CHECK(log.find("which has 80.0 GB of HBM; no KV cache fits") != std::string::npos);
  const std::string fits = w.write("fits.yaml", small_scenario("no-reply-check", 2));
  REQUIRE(run_convsim(fmt::format("check '{}'", fits), w.path("log2")) == 0);
  CHECK(read_file(w.path("log2")).find("warning") == std::string::npos);
}
