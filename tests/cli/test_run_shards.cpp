// convsim run --shard i/N and convsim merge of run shards: the merged outputs are
// the whole run's, byte for byte; every refusal names its reason and writes nothing.

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/support/cli_run.hpp"
#include "tests/support/scenario_fixture.hpp"

namespace fs = std::filesystem;
using namespace convsim::test;

namespace {

// Six conversations on four one-GPU replicas (two replicas hold two sessions),
// objectives judged in windows (windows.csv), a probe row.
std::string fleet_scenario(const std::string& name, const std::string& routing = "affinity") {
  return small_scenario(name, 6,
                        {{"tokens_per_word: 1.33", "tokens_per_word: 1.33\n  sessions: 6"},
                         {"gpus_per_node: 1,", "gpus_per_node: 4,"},
                         {"parallelism: {tp: 1, pp: 1}", "parallelism: {tp: 1, pp: 1, dp: 4}"},
                         {"serving: {max_batch_seqs: 16,", "serving: {routing: " + routing + ", max_batch_seqs: 16,"},
                         {"slo: {ttft_s: 0.5, tpot_s: 0.05}", "slo: {ttft_s: 0.5, tpot_s: 0.05, window_min: 2}"}});
}

}  // namespace

TEST_CASE("run shards 1/3, 2/3 and 3/3, merged, equal the whole run byte for byte in every file but timing.json") {
  const Workspace w("run-shards");
  w.write("fleet.yaml", fleet_scenario("fleet"));
  // The scenario by a relative path, as a user gives it: summary.json and
  // scenario.resolved.yaml record it so; the merge, run from elsewhere, too.
  auto in_workspace = [&w](const std::string& args) {
    return shell(fmt::format("cd '{}' && {} {} > log 2>&1", w.dir.string(), CONVSIM_BINARY, args));
  };
  REQUIRE(in_workspace("run fleet.yaml -q -o whole") == 0);
  for (int i = 1; i <= 3; ++i) REQUIRE(in_workspace(fmt::format("run fleet.yaml -q -o s{} --shard {}/3", i, i)) == 0);
  // A shard writes its records only, no outputs of its own.
  CHECK(files_in(w.dir / "s2") == std::set<std::string>{"run-shard-2-of-3.json", "run-shard-2-of-3.replies"});
  REQUIRE(run_convsim(fmt::format("merge '{}' '{}' '{}' -o '{}'", w.path("s3"), w.path("s1"), w.path("s2"),
                                  w.path("merged")),
                      w.path("merge.log")) == 0);
  std::set<std::string> whole = files_in(w.dir / "whole");
  CHECK(files_in(w.dir / "merged") == whole);
  // timing.json holds wall time: not byte-identical between two whole runs either.
  whole.erase("timing.json");
  whole.erase(".convsim-run");  // the folder's lock
  CHECK(whole.count("windows.csv") == 1);
  CHECK(whole.count("gpus.csv") == 1);
  for (const std::string& file : whole) {
    INFO(file);
    const std::string expected = read_file(w.dir / "whole" / file);
    CHECK(expected.size() > 10);
    CHECK(read_file(w.dir / "merged" / file) == expected);
  }
  CHECK(read_file(w.dir / "merged" / "summary.json").find("\"scenario_file\": \"fleet.yaml\"") != std::string::npos);
  // Every replica served: the shards did split the fleet.
  const std::string turns = read_file(w.dir / "whole" / "turns.csv");
  for (int replica = 0; replica < 4; ++replica) {
    CHECK(turns.find(fmt::format(",{},", replica)) != std::string::npos);
  }
}

TEST_CASE("a single shard, 1/1, merged into its own folder, equals the whole run") {
  const Workspace w("run-shard-one");
  const std::string s = w.write("fleet.yaml", fleet_scenario("fleet"));
  REQUIRE(run_convsim(fmt::format("run '{}' -q -o '{}'", s, w.path("whole")), w.path("log")) == 0);
  REQUIRE(run_convsim(fmt::format("run '{}' -q -o '{}' --shard 1/1", s, w.path("one")), w.path("log")) == 0);
  REQUIRE(run_convsim(fmt::format("merge '{}'", w.path("one")), w.path("log")) == 0);  // -o: the one folder
  for (const char* file : {"turns.csv", "gpus.csv", "summary.json", "windows.csv"}) {
    INFO(file);
    CHECK(read_file(w.dir / "one" / file) == read_file(w.dir / "whole" / file));
  }
}

TEST_CASE("shards beyond the replicas (6 shards of 4 replicas) simulate nothing and still merge exactly") {
  const Workspace w("run-shard-many");
  const std::string s = w.write("fleet.yaml", fleet_scenario("fleet"));
  REQUIRE(run_convsim(fmt::format("run '{}' -q -o '{}'", s, w.path("whole")), w.path("log")) == 0);
  for (int i = 1; i <= 6; ++i) {
    REQUIRE(run_convsim(fmt::format("run '{}' -q -o '{}' --shard {}/6", s, w.path("shards"), i), w.path("log")) == 0);
  }
  REQUIRE(run_convsim(fmt::format("merge '{}' -o '{}'", w.path("shards"), w.path("merged")), w.path("log")) == 0);
  for (const char* file : {"turns.csv", "gpus.csv", "summary.json", "windows.csv"}) {
    INFO(file);
    CHECK(read_file(w.dir / "merged" / file) == read_file(w.dir / "whole" / file));
  }
}

TEST_CASE("shards of a fleet beyond the flat zone, each building only its own nodes, merge into the whole run") {
  // 18 nodes (one zone per node: sim/cluster/platform.hpp) of two GPUs, a TP2
  // replica on each: shard i of 4 builds the nodes of replicas i-1, i+3, ...
  const Workspace w("run-shard-nodes");
  const std::string s = w.write(
      "fleet.yaml", small_scenario("fleet", 4,
                                   {{"tokens_per_word: 1.33", "tokens_per_word: 1.33\n  sessions: 18"},
                                    {"nodes: 1, gpus_per_node: 1,", "nodes: 18, gpus_per_node: 2,"},
                                    {"parallelism: {tp: 1, pp: 1}", "parallelism: {tp: 2, pp: 1, dp: 18}"}}));
  REQUIRE(run_convsim(fmt::format("run '{}' -q -o '{}'", s, w.path("whole")), w.path("log")) == 0);
  for (int i = 1; i <= 4; ++i) {
    REQUIRE(run_convsim(fmt::format("run '{}' -q -o '{}' --shard {}/4", s, w.path("shards"), i), w.path("log")) == 0);
  }
  REQUIRE(run_convsim(fmt::format("merge '{}' -o '{}'", w.path("shards"), w.path("merged")), w.path("log")) == 0);
  for (const char* file : {"turns.csv", "gpus.csv", "summary.json"}) {
    INFO(file);
    const std::string expected = read_file(w.dir / "whole" / file);
    CHECK(expected.size() > 10);
    CHECK(read_file(w.dir / "merged" / file) == expected);
  }
  // A TP2 replica's second GPU reads its first's timeline track: the shard writes
  // the bins once. Pointed at another replica's GPU, the merge refuses it.
  const fs::path manifest = w.dir / "shards" / "run-shard-1-of-4.json";
  std::string text = read_file(manifest);
  const auto at = text.find("\"bins_of\": 0");
  REQUIRE(at != std::string::npos);
  text.replace(at, std::string("\"bins_of\": 0").size(), "\"bins_of\": 8");
  w.write("shards/run-shard-1-of-4.json", text);
  CHECK(run_convsim(fmt::format("merge '{}' -o '{}'", w.path("shards"), w.path("bad")), w.path("log")) == 1);
  const std::string log = read_file(w.dir / "log");
  INFO(log);
  CHECK(log.find("GPU rank 1 reads the bins of rank 8, which is not an earlier GPU of replica 0") != std::string::npos);
  CHECK_FALSE(fs::exists(w.dir / "bad"));
}

TEST_CASE("run --shard refuses a malformed or out-of-range i/N, writing nothing") {
  const Workspace w("run-shard-usage");
  const std::string s = w.write("fleet.yaml", fleet_scenario("fleet"));
  for (const char* shard : {"0/2", "3/2", "1/0", "a/b", "1-2", "2", "-1/2"}) {
    INFO(shard);
    CHECK(run_convsim(fmt::format("run '{}' -o '{}' --shard {}", s, w.path("out"), shard), w.path("log")) == 2);
    CHECK_FALSE(fs::exists(w.dir / "out"));
  }
}

TEST_CASE("run --shard refuses, naming the reason, a scenario whose replicas share something, writing nothing") {
  const Workspace w("run-shard-refusals");
  struct Case {
    std::string routing;
    std::string options;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"least_loaded", "", "serving.routing is least_loaded"},
      {"round_robin", "", "serving.routing is round_robin"},
      {"prefix_affinity", "--set serving.prefix_caching=true", "serving.routing is prefix_affinity"},
      {"affinity", "--set context.kv_between_turns=offload_cpu", "context.kv_between_turns offloads"},
      {"affinity",
       "--set cluster.scale_up_topology=pcie_switch --set cluster.scale_up=pcie5 --set parallelism.tp=2 "
       "--set parallelism.dp=2",
       "replica 0's collectives and sends cross links that other traffic uses"},
      {"affinity", "--trace", "--trace: trace.json keeps the first 400,000 slices"},
      {"affinity", "--simgrid-every-transfer", "--simgrid-every-transfer: every transfer"},
  };
  for (const Case& c : cases) {
    INFO(c.reason);
    const std::string s = w.write("fleet.yaml", fleet_scenario("fleet", c.routing));
    CHECK(run_convsim(fmt::format("run '{}' -o '{}' --shard 1/2 {}", s, w.path("out"), c.options), w.path("log")) == 1);
    const std::string log = read_file(w.dir / "log");
    CHECK(log.find("fleet: cannot run in shards: " + c.reason) != std::string::npos);
    CHECK_FALSE(fs::exists(w.dir / "out"));
  }
}

TEST_CASE("merge of run shards refuses missing, duplicate and foreign shards, naming them, writing nothing") {
  const Workspace w("run-merge-errors");
  const std::string s = w.write("fleet.yaml", fleet_scenario("fleet"));
  const std::string other = w.write("other.yaml", fleet_scenario("other"));
  auto shard = [&](const std::string& file, const std::string& dir, const std::string& i_n, const std::string& sets) {
    REQUIRE(run_convsim(fmt::format("run '{}' -q -o '{}' --shard {} {}", file, w.path(dir), i_n, sets), w.path("log")) ==
            0);
  };
  shard(s, "one", "1/2", "");
  shard(s, "two", "2/2", "");
  shard(s, "again", "1/2", "");
  shard(s, "seeded", "2/2", "--set seed=4");
  shard(other, "foreign", "2/2", "");
  shard(s, "three", "2/3", "");
  struct Case {
    std::vector<std::string> dirs;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"one"}, "1 of 2 shards missing: 2/2"},
      {{"one", "two", "again"}, "shard 1/2 appears twice"},
      {{"one", "seeded"}, "not from the same run as"},
      {{"one", "foreign"}, "their 'scenario_hash' differ"},
      {{"one", "three"}, "shards of different splits"},
  };
  for (const Case& c : cases) {
    INFO(c.message);
    std::string args;
    for (const std::string& d : c.dirs) args += fmt::format(" '{}'", w.path(d));
    CHECK(run_convsim(fmt::format("merge{} -o '{}'", args, w.path("out")), w.path("log")) == 1);
    const std::string log = read_file(w.dir / "log");
    INFO(log);
    CHECK(log.find(c.message) != std::string::npos);
    CHECK_FALSE(fs::exists(w.dir / "out"));
  }
  CHECK_FALSE(fs::exists(w.dir / "one" / "summary.json"));
}

TEST_CASE("merge refuses shards run with other catalog presets than each other's or than the catalog's now") {
  const Workspace w("run-merge-catalog");
  const std::string s = w.write("fleet.yaml", fleet_scenario("fleet"));
  // A copy of the catalog whose H100 idles 10 W higher: the shards' GPU energy differs.
  const fs::path changed = catalog_copy_with(w.dir, "gpus/h100-sxm.yaml", "power_idle_w: 100", "power_idle_w: 110");
  const std::string with_changed = fmt::format("CONVSIM_CATALOG='{}' ", changed.string());
  auto shard = [&](const std::string& env, const std::string& dir, const std::string& i_n) {
    REQUIRE(shell(fmt::format("{}{} run '{}' -q -o '{}' --shard {} > '{}' 2>&1", env, CONVSIM_BINARY, s, w.path(dir),
                              i_n, w.path("log"))) == 0);
  };
  shard("", "one", "1/2");
  shard(with_changed, "two-changed", "2/2");
  shard(with_changed, "one-changed", "1/2");
  // Shards of two catalogs: refused, naming the differing key.
  CHECK(run_convsim(fmt::format("merge '{}' '{}' -o '{}'", w.path("one"), w.path("two-changed"), w.path("out")),
                    w.path("log")) == 1);
  CHECK(read_file(w.dir / "log").find("their 'catalog_files' differ") != std::string::npos);
  // Both shards of the changed catalog, merged against the shipped one: refused,
  // naming the preset.
  CHECK(run_convsim(fmt::format("merge '{}' '{}' -o '{}'", w.path("one-changed"), w.path("two-changed"), w.path("out")),
                    w.path("log")) == 1);
  CHECK(read_file(w.dir / "log").find("the catalog preset gpus/h100-sxm.yaml changed since the shards ran") !=
        std::string::npos);
  CHECK_FALSE(fs::exists(w.dir / "out"));
  // Merged against the catalog they ran with: accepted.
  CHECK(shell(fmt::format("{}{} merge '{}' '{}' -o '{}' > '{}' 2>&1", with_changed, CONVSIM_BINARY,
                          w.path("one-changed"), w.path("two-changed"), w.path("out"), w.path("log"))) == 0);
}

TEST_CASE("merge refuses a hand-edited shard: a replica listed twice, a negative or non-finite quantity") {
  const Workspace w("run-merge-tampered");
  const std::string s = w.write("fleet.yaml", fleet_scenario("fleet"));
  for (const char* i_n : {"1/2", "2/2"}) {
    REQUIRE(run_convsim(fmt::format("run '{}' -q -o '{}' --shard {}", s, w.path(fmt::format("s{}", i_n[0])), i_n),
                        w.path("log")) == 0);
  }
  const fs::path manifest = w.dir / "s2" / "run-shard-2-of-2.json";
  const nlohmann::json original = nlohmann::json::parse(read_file(manifest));
  struct Case {
    const char* what;
    std::function<void(nlohmann::json&)> edit;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"shard 2's first replica relabelled as shard 1's replica 0",
       [](nlohmann::json& m) { m["replicas"][0]["replica"] = 0; }, "replica 0 is listed twice"},
      {"a negative GPU energy", [](nlohmann::json& m) { m["replicas"][0]["gpus"][0]["active_energy_j"] = -5.0; },
       "active_energy_j = -5.0 is not a finite quantity >= 0"},
      {"a clock beyond any span", [](nlohmann::json& m) { m["clock_s"] = 1e300; },
       "clock_s = 1e+300 s is beyond any simulated span"},
      {"a negative counter", [](nlohmann::json& m) { m["counters"]["iterations"] = -3; },
       "counter iterations = -3 is negative"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    nlohmann::json edited = original;
    c.edit(edited);
    std::ofstream(manifest) << edited.dump(1) << "\n";
    CHECK(run_convsim(fmt::format("merge '{}' '{}' -o '{}'", w.path("s1"), w.path("s2"), w.path("out")),
                      w.path("log")) == 1);
    const std::string log = read_file(w.dir / "log");
    INFO(log);
    CHECK(log.find(manifest.string() + ": " + c.message) != std::string::npos);
    CHECK_FALSE(fs::exists(w.dir / "out"));
  }
}
