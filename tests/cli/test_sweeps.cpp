// convsim compare (and its shards), merge and breakpoint, run through the binary on
// small scenarios: each simulation runs in its own process.

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/support/csv_records.hpp"
#include "tests/support/scenario_fixture.hpp"
#include <fmt/format.h>
#include <nlohmann/json.hpp>

using Json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

// The shared small conversation (tests/support/scenario_fixture.hpp: one H100,
// Llama-3.1-8B) cut to five minutes, with three variants; the third variant's TTFT
// objective is below any TTFT, so it fails.
std::string sweep_scenario() {
  std::string text = ::convsim::test::kSmallConversation;
  auto replace = [&text](const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
  };
  replace("name: small-conversation", "name: sweep-test");
  replace("duration_min: 20", "duration_min: 5");
  replace("probe_minutes: [1, 10]", "probe_minutes: [1, 3]");
  return text + R"(compare:
  - {name: kept, set: {context.kv_between_turns: keep}}
  - {name: dropped, set: {context.kv_between_turns: drop}}
  - {name: "strict, 1 ms", set: {slo.ttft_s: 0.001}}
)";
}

// A fresh folder holding the scenario file, removed at the end of the test.
struct Workspace {
  fs::path dir;
  fs::path scenario;
  explicit Workspace(const std::string& name)
      : dir(fs::temp_directory_path() / fmt::format("convsim-{}-{}", name, ::getpid())), scenario(dir / "s.yaml") {
    fs::remove_all(dir);
    fs::create_directories(dir);
    std::ofstream(scenario) << sweep_scenario();
  }
  ~Workspace() { fs::remove_all(dir); }
  std::string path(const std::string& relative) const { return (dir / relative).string(); }
};

using ::convsim::test::read_file;

// Runs `convsim ARGS`, its stdout and stderr into `log`; returns its exit code.
int run_convsim(const std::string& args, const fs::path& log) {
  const std::string command = fmt::format("{} {} > '{}' 2>&1", CONVSIM_BINARY, args, log.string());
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::vector<std::vector<std::string>> csv_rows(const fs::path& path) {
  std::ifstream in(path);
  std::vector<std::vector<std::string>> rows;
  for (std::string line; std::getline(in, line);) rows.push_back(::convsim::test::csv_line_fields(line));
  return rows;
}

Json summary(const fs::path& dir) { return Json::parse(read_file(dir / "summary.json")); }

}  // namespace

TEST_CASE("compare.csv has one row per variant, in the scenario's order, with energy per reply and the first failure") {
  const Workspace w("compare");
  REQUIRE(run_convsim(fmt::format("compare '{}' -o '{}' --jobs 2", w.scenario.string(), w.path("all")), w.path("log")) ==
          0);
  const auto rows = csv_rows(w.dir / "all" / "compare.csv");
  REQUIRE(rows.size() == 4);
  const std::vector<std::string> header = rows[0];
  const std::vector<std::string> expected_header = {
      "variant",          "ttft_p50_s",         "ttft_p99_s",          "tpot_p50_s",      "tpot_p99_s",
      "energy_gpu_j",     "energy_total_j",     "first_failure",       "energy_per_reply_j", "energy_total_wh",
      "gpu_hours",        "first_failure_kind", "first_failure_minute", "first_failure_cause", "gco2e",
      "cost_usd", "ttft_s_attainment", "tpot_s_attainment", "speech_realtime_attainment", "objectives_met"};
  CHECK(header == expected_header);
  auto column = [&header](const char* name) {
    return static_cast<std::size_t>(std::find(header.begin(), header.end(), name) - header.begin());
  };
  const std::vector<std::string> names = {"kept", "dropped", "strict, 1 ms"};
  for (std::size_t k = 0; k < names.size(); ++k) {
    const std::vector<std::string>& row = rows[k + 1];
    REQUIRE(row.size() == header.size());
    CHECK(row[0] == names[k]);
    const Json s = summary(w.dir / "all" / names[k]);
    const double total_j = s["energy_j"]["total"];
    INFO(names[k]);
    CHECK(std::stod(row[column("energy_total_wh")]) == Approx(total_j / 3600).epsilon(1e-8));
    CHECK(std::stod(row[column("energy_per_reply_j")]) ==
          Approx(total_j / s["replies"].get<double>()).epsilon(1e-8));
    CHECK(std::stod(row[column("gpu_hours")]) ==
          Approx(1 * s["run"]["simulated_s"].get<double>() / 3600).epsilon(1e-8));  // one GPU
    // Carbon: facility kWh times the grid's intensity; dollars: kWh at the price plus GPU-hours at theirs.
    const double kwh = total_j / 3.6e6;
    CHECK(std::stod(row[column("gco2e")]) ==
          Approx(kwh * s["carbon"]["grid_gco2e_per_kwh"].get<double>()).epsilon(1e-8));
    CHECK(std::stod(row[column("cost_usd")]) ==
          Approx(kwh * s["cost_usd"]["usd_per_kwh"].get<double>() +
                 s["run"]["simulated_s"].get<double>() / 3600 * s["cost_usd"]["gpu_hour_usd"].get<double>())
              .epsilon(1e-8));
  }
  CHECK(rows[1][column("first_failure")].empty());  // docs/outputs.md: empty when none
  CHECK(rows[1][column("first_failure_kind")].empty());
  CHECK(rows[1][column("first_failure_cause")].empty());
  // Every reply misses a 1 ms TTFT: the first failure is the first reply's.
  const Json strict = summary(w.dir / "all" / names[2]);
  CHECK(rows[3][column("first_failure")] == "slo_ttft");
  CHECK(rows[3][column("first_failure_kind")] == "slo_ttft");
  CHECK(std::stod(rows[3][column("first_failure_minute")]) ==
        Approx(strict["failures"][0]["minute"].get<double>()).epsilon(1e-8));
  CHECK(rows[3][column("first_failure_cause")] == strict["failures"][0]["cause"].get<std::string>());
  // No reply is within 1 ms: attainment 0, the objectives are not met.
  CHECK(rows[3][column("ttft_s_attainment")] == "0");
  CHECK(rows[3][column("objectives_met")] == "0");
  const std::string markdown = read_file(w.dir / "all" / "compare.md");
  CHECK(markdown.find("| strict, 1 ms |") != std::string::npos);
  CHECK(markdown.find("slo_ttft at minute") != std::string::npos);
}

TEST_CASE("shards 1/2 and 2/2, merged, equal the whole compare byte for byte") {
  const Workspace w("shards");
  const std::string s = w.scenario.string();
  REQUIRE(run_convsim(fmt::format("compare '{}' -o '{}'", s, w.path("all")), w.path("log")) == 0);
  REQUIRE(run_convsim(fmt::format("compare '{}' -o '{}' --shard 1/2", s, w.path("one")), w.path("log")) == 0);
  REQUIRE(run_convsim(fmt::format("compare '{}' -o '{}' --shard 2/2", s, w.path("two")), w.path("log")) == 0);
  // Variant k runs in shard k % 2 + 1: kept and "strict, 1 ms" in 1/2, dropped in 2/2.
  const Json one = Json::parse(read_file(w.dir / "one" / "shard-1-of-2.json"));
  CHECK(one["ran"] == Json::array({"kept", "strict, 1 ms"}));
  CHECK(one["variants"] == Json::array({"kept", "dropped", "strict, 1 ms"}));
  CHECK(fs::is_directory(w.dir / "two" / "dropped"));
  CHECK_FALSE(fs::exists(w.dir / "two" / "kept"));
  CHECK_FALSE(fs::exists(w.dir / "one" / "compare.csv"));  // incomplete shards write no table

  REQUIRE(run_convsim(fmt::format("merge '{}' '{}' -o '{}'", w.path("one"), w.path("two"), w.path("merged")),
                  w.path("log")) == 0);
  const std::string whole_csv = read_file(w.dir / "all" / "compare.csv");
  CHECK(whole_csv.size() > 100);
  CHECK(read_file(w.dir / "merged" / "compare.csv") == whole_csv);
  CHECK(read_file(w.dir / "merged" / "compare.md") == read_file(w.dir / "all" / "compare.md"));
  CHECK(read_file(w.dir / "merged" / "dropped" / "turns.csv") == read_file(w.dir / "all" / "dropped" / "turns.csv"));

  // Both shards into one folder: the last to finish writes the table.
  REQUIRE(run_convsim(fmt::format("compare '{}' -o '{}' --shard 2/2", s, w.path("shared")), w.path("log")) == 0);
  CHECK_FALSE(fs::exists(w.dir / "shared" / "compare.csv"));
  REQUIRE(run_convsim(fmt::format("compare '{}' -o '{}' --shard 1/2", s, w.path("shared")), w.path("log")) == 0);
  CHECK(read_file(w.dir / "shared" / "compare.csv") == whole_csv);
}

TEST_CASE("merge fails, naming the variant, when one is missing or appears twice") {
  const Workspace w("merge-errors");
  const std::string s = w.scenario.string();
  REQUIRE(run_convsim(fmt::format("compare '{}' -o '{}' --shard 1/2", s, w.path("one")), w.path("log")) == 0);
  CHECK(run_convsim(fmt::format("merge '{}'", w.path("one")), w.path("missing.log")) == 1);
  const std::string missing = read_file(w.dir / "missing.log");
  INFO(missing);
  CHECK(missing.find("1 of 3 variants missing: 'dropped' (shard 2/2)") != std::string::npos);
  CHECK_FALSE(fs::exists(w.dir / "one" / "compare.csv"));

  REQUIRE(run_convsim(fmt::format("compare '{}' -o '{}' --shard 1/2", s, w.path("again")), w.path("log")) == 0);
  CHECK(run_convsim(fmt::format("merge '{}' '{}' -o '{}'", w.path("one"), w.path("again"), w.path("out")),
                w.path("twice.log")) == 1);
  const std::string twice = read_file(w.dir / "twice.log");
  INFO(twice);
  CHECK(twice.find("variant 'kept' appears twice") != std::string::npos);

  CHECK(run_convsim(fmt::format("compare '{}' --shard 3/2", s), w.path("usage.log")) == 2);
}

TEST_CASE("breakpoint finds the session count where a TTFT miss first appears, and direct runs agree just below and at it") {
  const Workspace w("breakpoint-sessions");
  const std::string s = w.scenario.string();
  // All sessions start together on one GPU; 20 ms to the first token is missed once
  // enough prefills queue behind each other.
  const std::string sets = "--set conversation.session_stagger_s=0 --set slo.ttft_s=0.02 --set conversation.duration_min=3";
  REQUIRE(run_convsim(fmt::format("breakpoint '{}' --vary conversation.sessions --from 1 --to 600 --jobs 2 {} -o '{}'",
                              s, sets, w.path("bp")),
                  w.path("log")) == 0);
  const Json result = Json::parse(read_file(w.dir / "bp" / "breakpoint.json"));
  REQUIRE(result["status"] == "found");
  CHECK(result["integer"] == true);
  const long breakpoint = std::lround(result["breakpoint"]["value"].get<double>());
  const long last_pass = std::lround(result["last_pass"]["value"].get<double>());
  INFO("breakpoint " << breakpoint << ", last passing " << last_pass);
  CHECK(last_pass == breakpoint - 1);
  CHECK(breakpoint > 1);
  CHECK(breakpoint <= 600);
  // By hand: one run just below the breakpoint passes, one at it fails in the same way.
  for (const long sessions : {breakpoint - 1, breakpoint}) {
    const fs::path out = w.dir / fmt::format("direct-{}", sessions);
    REQUIRE(run_convsim(fmt::format("run '{}' -q {} --set conversation.sessions={} -o '{}'", s, sets, sessions,
                                out.string()),
                    w.path("log")) == 0);
    const Json failures = summary(out)["failures"];
    if (sessions < breakpoint) {
      CHECK(failures.empty());
    } else {
      REQUIRE_FALSE(failures.empty());
      CHECK(failures[0]["kind"] == result["breakpoint"]["failure"]["kind"]);
      CHECK(failures[0]["time_s"].get<double>() == result["breakpoint"]["failure"]["time_s"].get<double>());
    }
  }
}

TEST_CASE("breakpoint on slo.ttft_s downward lands within the tolerance below the largest TTFT of the run") {
  const Workspace w("breakpoint-slo");
  const std::string s = w.scenario.string();
  REQUIRE(run_convsim(fmt::format("breakpoint '{}' --vary slo.ttft_s --from 1 --to 0.0001 --tolerance 0.0002 --kind "
                              "slo_ttft -o '{}'",
                              s, w.path("bp")),
                  w.path("log")) == 0);
  const Json result = Json::parse(read_file(w.dir / "bp" / "breakpoint.json"));
  REQUIRE(result["status"] == "found");
  CHECK(result["integer"] == false);
  // The objective does not change the simulation: a reply misses it when its TTFT is
  // above it, so the run fails exactly for objectives below the largest TTFT.
  double max_ttft_s = 0;
  const auto rows = csv_rows(w.dir / "bp" / "slo.ttft_s=1" / "turns.csv");
  const std::size_t ttft = static_cast<std::size_t>(std::find(rows[0].begin(), rows[0].end(), "ttft_s") - rows[0].begin());
  for (std::size_t i = 1; i < rows.size(); ++i) max_ttft_s = std::max(max_ttft_s, std::stod(rows[i][ttft]));
  const double failing = result["breakpoint"]["value"], passing = result["last_pass"]["value"];
  INFO("largest TTFT " << max_ttft_s << " s; fails at " << failing << ", passes at " << passing);
  CHECK(failing < max_ttft_s);
  CHECK(passing >= max_ttft_s);
  CHECK(passing - failing <= 0.0002 + 1e-12);
  CHECK(result["breakpoint"]["failure"]["kind"] == "slo_ttft");
}

TEST_CASE("breakpoint on a percentile objective lands within the tolerance below the run's p90 TTFT") {
  const Workspace w("breakpoint-p90");
  const std::string s = w.scenario.string();
  // --kind names the objective by its key; its failures are slo_ttft_p90.
  REQUIRE(run_convsim(fmt::format("breakpoint '{}' --vary slo.ttft_p90_s --from 1 --to 0.0001 --tolerance 0.0002 "
                                  "--kind ttft_p90_s -o '{}'",
                                  s, w.path("bp")),
                      w.path("log")) == 0);
  const Json result = Json::parse(read_file(w.dir / "bp" / "breakpoint.json"));
  REQUIRE(result["status"] == "found");
  CHECK(result["kind"] == "slo_ttft_p90");
  // p90 of the replies' TTFT (position 0.9 * (n - 1) between sorted values).
  const auto rows = csv_rows(w.dir / "bp" / "slo.ttft_p90_s=1" / "turns.csv");
  auto column = [&rows](const char* name) {
    return static_cast<std::size_t>(std::find(rows[0].begin(), rows[0].end(), name) - rows[0].begin());
  };
  std::vector<double> ttft;
  for (std::size_t i = 1; i < rows.size(); ++i) {
    if (rows[i][column("kind")] == "reply" && !rows[i][column("ttft_s")].empty()) {
      ttft.push_back(std::stod(rows[i][column("ttft_s")]));
    }
  }
  REQUIRE(ttft.size() >= 5);
  std::sort(ttft.begin(), ttft.end());
  const double position = 0.9 * static_cast<double>(ttft.size() - 1);
  const std::size_t below = static_cast<std::size_t>(position);
  const double p90 = ttft[below] + (ttft[std::min(below + 1, ttft.size() - 1)] - ttft[below]) *
                                       (position - static_cast<double>(below));
  const double failing = result["breakpoint"]["value"], passing = result["last_pass"]["value"];
  INFO("p90 TTFT " << p90 << " s; fails at " << failing << ", passes at " << passing);
  CHECK(failing < p90 + 1e-8);
  CHECK(passing >= p90 - 1e-8);
  CHECK(passing - failing <= 0.0002 + 1e-12);
  CHECK(result["breakpoint"]["failure"]["kind"] == "slo_ttft_p90");

  // A kind the scenario cannot report is a usage error naming those it can.
  CHECK(run_convsim(fmt::format("breakpoint '{}' --vary conversation.sessions --from 1 --to 4 --kind slo_ttft_p99", s),
                    w.path("kind.log")) == 2);
  const std::string kind = read_file(w.dir / "kind.log");
  INFO(kind);
  CHECK(kind.find("--kind slo_ttft_p99: this scenario reports no such failure (a percentile objective must be in the "
                  "scenario: add --set slo.ttft_p99_s=LIMIT)") != std::string::npos);
  CHECK(run_convsim(fmt::format("breakpoint '{}' --vary conversation.sessions --from 1 --to 4 --kind slo_ttf", s),
                    w.path("typo.log")) == 2);
  CHECK(read_file(w.dir / "typo.log").find("did you mean 'slo_ttft'?") != std::string::npos);
}

TEST_CASE("breakpoint says so when --from already fails or --to does not, and wants integers for an integer key") {
  const Workspace w("breakpoint-ends");
  const std::string s = w.scenario.string();
  REQUIRE(run_convsim(fmt::format("breakpoint '{}' --vary slo.ttft_s --from 0.001 --to 1 -o '{}'", s, w.path("a")),
                  w.path("from.log")) == 0);
  CHECK(read_file(w.dir / "from.log").find("slo.ttft_s = 0.001 (--from) already fails: slo_ttft") != std::string::npos);
  CHECK(Json::parse(read_file(w.dir / "a" / "breakpoint.json"))["status"] == "fails_at_from");

  REQUIRE(run_convsim(fmt::format("breakpoint '{}' --vary slo.ttft_s --from 1 --to 0.9 -o '{}'", s, w.path("b")),
                  w.path("to.log")) == 0);
  CHECK(read_file(w.dir / "to.log").find("slo.ttft_s = 0.9 (--to) does not fail") != std::string::npos);
  CHECK(Json::parse(read_file(w.dir / "b" / "breakpoint.json"))["status"] == "passes_at_to");

  CHECK(run_convsim(fmt::format("breakpoint '{}' --vary conversation.sessions --from 1.5 --to 8 -o '{}'", s, w.path("c")),
                w.path("int.log")) == 2);
  CHECK(read_file(w.dir / "int.log").find("conversation.sessions is an integer") != std::string::npos);

  // A key that holds a name, not a number, is a usage error: nothing is bisected.
  for (const char* key : {"name", "model.preset"}) {
    INFO(key);
    CHECK(run_convsim(fmt::format("breakpoint '{}' --vary {} --from 1 --to 5 -o '{}'", s, key, w.path("d")),
                      w.path("word.log")) == 2);
    CHECK(read_file(w.dir / "word.log").find(fmt::format("breakpoint: --vary {} is not a numeric key", key)) !=
          std::string::npos);
    CHECK_FALSE(fs::exists(w.dir / "d"));
  }
}

TEST_CASE("tools/plot draws a compare folder (bars included) and a single run folder") {
  // tools/setup installs Debian's python3-matplotlib: its absence is a failure, not a skip.
  REQUIRE(std::system("/usr/bin/python3 -c 'import matplotlib' > /dev/null 2>&1") == 0);
  const Workspace w("plot");
  REQUIRE(run_convsim(fmt::format("compare '{}' -o '{}'", w.scenario.string(), w.path("all")), w.path("log")) == 0);
  const std::string plot = fmt::format("{}/tools/plot", CONVSIM_SOURCE_DIR);
  for (const auto& [folder, formats] : {std::pair{"all", "png,svg"}, std::pair{"all/kept", "png"}}) {
    const std::string command = fmt::format("'{}' '{}' --log --format {} > '{}' 2>&1", plot, w.path(folder), formats,
                                            w.path("plot.log"));
    INFO(read_file(w.dir / "plot.log"));
    REQUIRE(std::system(command.c_str()) == 0);
    for (const char* figure : {"energy_per_reply", "latency", "power"}) {
      CHECK(fs::file_size(w.dir / folder / "plots" / fmt::format("{}.png", figure)) > 1000);
    }
  }
  CHECK(fs::file_size(w.dir / "all" / "plots" / "latency.svg") > 1000);
  CHECK_FALSE(fs::exists(w.dir / "all" / "kept" / "plots" / "latency.svg"));
  CHECK(fs::is_regular_file(w.dir / "all" / "plots" / "compare.png"));
  CHECK_FALSE(fs::exists(w.dir / "all" / "kept" / "plots" / "compare.png"));  // one run: no bars
}

TEST_CASE("a whole compare owns its folder: a run into it, or a compare into a run's folder, is refused without --force") {
  const Workspace w("compare-owner");
  const std::string s = w.scenario.string();
  REQUIRE(run_convsim(fmt::format("compare '{}' -o '{}'", s, w.path("cmp")), w.path("log")) == 0);
  CHECK(read_file(w.dir / "cmp" / ".convsim-run") == "sweep-test (compare)\n");
  // The same compare again into its own folder is fine.
  REQUIRE(run_convsim(fmt::format("compare '{}' -o '{}'", s, w.path("cmp")), w.path("log")) == 0);
  const std::string table = read_file(w.dir / "cmp" / "compare.csv");
  // A run into the compare's folder is refused and leaves the compare whole.
  CHECK(run_convsim(fmt::format("run '{}' -o '{}' -q", s, w.path("cmp")), w.path("log")) != 0);
  CHECK(read_file(w.path("log")).find("holds the outputs of scenario 'sweep-test (compare)'") != std::string::npos);
  CHECK(read_file(w.dir / "cmp" / "compare.csv") == table);
  // A compare into a run's folder is refused too, and --force takes it over.
  REQUIRE(run_convsim(fmt::format("run '{}' -o '{}' -q", s, w.path("run")), w.path("log")) == 0);
  CHECK(run_convsim(fmt::format("compare '{}' -o '{}'", s, w.path("run")), w.path("log")) != 0);
  CHECK(read_file(w.path("log")).find("holds the outputs of scenario 'sweep-test'") != std::string::npos);
  CHECK_FALSE(fs::exists(w.dir / "run" / "compare.csv"));
  REQUIRE(run_convsim(fmt::format("compare '{}' -o '{}' --force", s, w.path("run")), w.path("log")) == 0);
  CHECK(fs::exists(w.dir / "run" / "compare.csv"));
}

TEST_CASE("compare, breakpoint and explain print the warnings of the scenarios they load, each once") {
  // The sweep scenario with a model with SSM layers and prefix caching on: vLLM's
  // profile serves it without, and every load of it warns so (the base and each
  // variant alike).
  const Workspace w("sweep-warnings");
  const std::string warned = "warning: serving.prefix_caching: the vllm engine keeps no SSM states";
  const std::string s = w.path("hybrid.yaml");
  std::string text = read_file(w.scenario);
  const auto at = text.find("model: {preset: llama-3.1-8b}");
  REQUIRE(at != std::string::npos);
  text.replace(at, std::string("model: {preset: llama-3.1-8b}").size(), "model: {preset: nemotron-nano-9b-v2}");
  std::ofstream(s) << text << "\n";
  auto times_in_log = [&](const std::string& needle) {
    const std::string log = read_file(w.path("log"));
    std::size_t n = 0;
    for (auto p = log.find(needle); p != std::string::npos; p = log.find(needle, p + 1)) ++n;
    return n;
  };
  const std::string set = "--set serving.prefix_caching=true";
  REQUIRE(run_convsim(fmt::format("compare '{}' {} -o '{}' --jobs 2", s, set, w.path("cmp")), w.path("log")) == 0);
  CHECK(times_in_log(warned) == 1);
  REQUIRE(run_convsim(fmt::format("breakpoint '{}' {} --vary slo.ttft_s --from 10 --to 0.001 -o '{}'", s, set,
                                  w.path("bp")),
                      w.path("log")) == 0);
  CHECK(times_in_log(warned) == 1);
  REQUIRE(run_convsim(fmt::format("explain '{}' {} --minute 1", s, set), w.path("log")) == 0);
  CHECK(times_in_log(warned) == 1);
}
