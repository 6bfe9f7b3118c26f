// What a run leaves on disk, run through the binary: outputs complete or absent
// (atomic files, summary.json last with "complete": true), a full disk failing with
// exit 3, one run per folder, names confined to the output folder, RFC 4180 CSV,
// the resolved scenario re-running byte-identical. Signals: test_signals.cpp.

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/support/cli_run.hpp"

using Json = nlohmann::json;
namespace fs = std::filesystem;

using namespace ::convsim::test;

TEST_CASE("a run writes summary.json last, marked complete, and leaves no temporary file") {
  const Workspace w("complete");
  const std::string s = w.write("s.yaml", small_scenario("complete", 2));
  REQUIRE(run_convsim(fmt::format("run '{}' -o '{}' -q", s, w.path("out")), w.path("log")) == 0);
  const Json summary = Json::parse(read_file(w.dir / "out" / "summary.json"));
  CHECK(summary["complete"] == true);
  const std::set<std::string> expected = {".convsim-run", "scenario.resolved.yaml", "turns.csv",
                                          "gpus.csv",     "timing.json",            "summary.json"};
  CHECK(files_in(w.dir / "out") == expected);
  // summary.json is renamed into place after every other output.
  const auto summary_time = fs::last_write_time(w.dir / "out" / "summary.json");
  for (const char* file : {"turns.csv", "gpus.csv", "timing.json", "scenario.resolved.yaml"}) {
    INFO(file);
    CHECK(fs::last_write_time(w.dir / "out" / file) <= summary_time);
  }
}

TEST_CASE("a run into a folder replaces every output of the run before it: no windows.csv or trace.json stays behind") {
  const Workspace w("stale");
  const std::string with_extras =
      w.write("a.yaml", small_scenario("stale", 2, {{"slo: {ttft_s: 0.5, tpot_s: 0.05}",
                                                     "slo: {ttft_s: 0.5, tpot_s: 0.05, window_min: 1}"}}));
  const std::string plain = w.write("b.yaml", small_scenario("stale", 2));
  REQUIRE(run_convsim(fmt::format("run '{}' -o '{}' -q --trace", with_extras, w.path("out")), w.path("log")) == 0);
  REQUIRE(fs::exists(w.dir / "out" / "windows.csv"));
  REQUIRE(fs::exists(w.dir / "out" / "trace.json"));
  REQUIRE(run_convsim(fmt::format("run '{}' -o '{}' -q", plain, w.path("out")), w.path("log")) == 0);
  const std::set<std::string> expected = {".convsim-run", "scenario.resolved.yaml", "turns.csv",
                                          "gpus.csv",     "timing.json",            "summary.json"};
  CHECK(files_in(w.dir / "out") == expected);
}

TEST_CASE("a full filesystem fails the run with exit 3 naming the file, and leaves no complete-looking folder") {
  const Workspace w("full-disk");
  const std::string s = w.write("s.yaml", small_scenario("full-disk", 30));
  const std::string mount = w.path("small");
  fs::create_directories(mount);
  // A 16 KiB tmpfs: scenario.resolved.yaml fits, turns.csv of a 30-minute
  // conversation (about 180 rows of ~250 bytes) does not. Without root, the mount
  // is made in a user namespace of its own.
  const std::string body =
      fmt::format("mount -t tmpfs -o size=16k tmpfs '{0}' && {1} run '{2}' -o '{0}/out' -q > '{3}' 2>&1; code=$?; "
                  "ls -a '{0}/out' > '{4}'; umount '{0}'; exit $code",
                  mount, CONVSIM_BINARY, s, w.path("log"), w.path("listing"));
  const std::string script = w.write("full.sh", body + "\n");
  const std::string command = ::geteuid() == 0 ? fmt::format("sh '{}'", script)
                                               : fmt::format("unshare --mount --map-root-user sh '{}'", script);
  CHECK(shell(command) == 3);
  const std::string log = read_file(w.path("log"));
  INFO(log);
  CHECK(log.find(mount + "/out/") != std::string::npos);
  CHECK(log.find("cannot write file: No space left on device") != std::string::npos);
  const std::string listing = read_file(w.path("listing"));
  INFO(listing);
  CHECK(listing.find("summary.json") == std::string::npos);
  CHECK(listing.find("tmp-") == std::string::npos);
}

TEST_CASE("a second run into a folder another run holds fails at once, another scenario's folder needs --force") {
  const Workspace w("lock");
  const std::string a = w.write("a.yaml", small_scenario("scenario-a", 2));
  const std::string b = w.write("b.yaml", small_scenario("scenario-b", 2));
  const std::string out = w.path("out");
  REQUIRE(run_convsim(fmt::format("run '{}' -o '{}' -q", a, out), w.path("log")) == 0);
  // Held: flock(1) keeps the folder's lock file locked while the second run starts.
  CHECK(shell(fmt::format("flock '{}/.convsim-run' {} run '{}' -o '{}' -q > '{}' 2>&1", out, CONVSIM_BINARY, a, out,
                          w.path("held"))) == 3);
  CHECK(read_file(w.path("held")).find("another convsim run is writing this folder") != std::string::npos);
  // Another scenario's outputs: refused, then replaced with --force.
  CHECK(run_convsim(fmt::format("run '{}' -o '{}' -q", b, out), w.path("other")) == 3);
  CHECK(read_file(w.path("other")).find("holds the outputs of scenario 'scenario-a'") != std::string::npos);
  CHECK(Json::parse(read_file(fs::path(out) / "summary.json"))["scenario"] == "scenario-a");
  REQUIRE(run_convsim(fmt::format("run '{}' -o '{}' -q --force", b, out), w.path("forced")) == 0);
  CHECK(Json::parse(read_file(fs::path(out) / "summary.json"))["scenario"] == "scenario-b");
  // The same scenario runs again into its own folder.
  CHECK(run_convsim(fmt::format("run '{}' -o '{}' -q", b, out), w.path("again")) == 0);
}

TEST_CASE("scenario and variant names that would leave the output folder are refused with their location") {
  const Workspace w("names");
  struct Case {
    std::string edit_from, edit_to;
    std::string where;  // :line:column
  };
  const std::string base = small_scenario("names", 2);
  const std::vector<Case> cases = {
      {"name: names", "name: ../x", ":2:7"},
      {"name: names", "name: /abs", ":2:7"},
      {"name: names", "name: a/../../b", ":2:7"},
      {"slo: {ttft_s: 0.5, tpot_s: 0.05}\n", "slo: {ttft_s: 0.5, tpot_s: 0.05}\ncompare:\n  - {name: ../up}\n",
       ":20:12"},
      {"slo: {ttft_s: 0.5, tpot_s: 0.05}\n", "slo: {ttft_s: 0.5, tpot_s: 0.05}\ncompare:\n  - {name: a/b}\n",
       ":20:12"},
  };
  for (const Case& c : cases) {
    std::string text = base;
    text.replace(text.find(c.edit_from), c.edit_from.size(), c.edit_to);
    const std::string s = w.write("s.yaml", text);
    INFO(c.edit_to);
    CHECK(run_convsim(fmt::format("check '{}'", s), w.path("log")) == 1);
    const std::string log = read_file(w.path("log"));
    INFO(log);
    CHECK(log.rfind(s + c.where + ": ", 0) == 0);
  }
  // --set is checked the same way.
  const std::string s = w.write("s.yaml", base);
  CHECK(run_convsim(fmt::format("run '{}' --set name=../../escape -o '{}'", s, w.path("out")), w.path("log")) == 1);
  CHECK(!fs::exists(w.dir / "out"));
}

TEST_CASE("a speaker name with a comma and quotes round-trips through python's csv module") {
  const Workspace w("csv");
  const std::string speaker = "Smith, Jr. \"Bobby\"";
  const std::string s = w.write(
      "s.yaml", small_scenario("csv", 2, {{"{name: bob,", "{name: 'Smith, Jr. \"Bobby\"',"}}));
  REQUIRE(run_convsim(fmt::format("run '{}' -o '{}' -q", s, w.path("out")), w.path("log")) == 0);
  // python3 reads every row with csv.DictReader and prints the set of speakers and
  // the number of fields of each row.
  const std::string script = w.write("read.py", R"(import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
header = open(sys.argv[1]).readline().rstrip('\n').split(',')
assert all(len(r) == len(header) and None not in r for r in rows), 'a row with a wrong number of fields'
print('\n'.join(sorted({r['speaker'] for r in rows})))
)");
  REQUIRE(shell(fmt::format("python3 '{}' '{}' > '{}' 2>&1", script, w.path("out/turns.csv"), w.path("speakers"))) ==
          0);
  CHECK(read_file(w.path("speakers")) == "Smith, Jr. \"Bobby\"\nalice\n");
}

TEST_CASE("scenario.resolved.yaml runs again to byte-identical turns.csv and summary.json") {
  const Workspace w("resolved");
  const std::string s = w.write("s.yaml", small_scenario("resolved", 3));
  REQUIRE(run_convsim(fmt::format("run '{}' -o '{}' -q --set context.kv_between_turns=drop --set seed=7", s,
                                  w.path("first")),
                      w.path("log")) == 0);
  REQUIRE(run_convsim(fmt::format("run '{}' -o '{}' -q", w.path("first/scenario.resolved.yaml"), w.path("again")),
                      w.path("log")) == 0);
  for (const char* file : {"turns.csv", "summary.json", "gpus.csv", "scenario.resolved.yaml"}) {
    INFO(file);
    CHECK(read_file(w.dir / "again" / file) == read_file(w.dir / "first" / file));
  }
  const Json summary = Json::parse(read_file(w.dir / "first" / "summary.json"));
  CHECK(summary["run"]["overrides"] == Json::array({"context.kv_between_turns=drop", "seed=7"}));
  CHECK(summary["run"]["scenario_file"] == s);
  CHECK(summary["run"]["seed"] == 7);
  // The catalog files used: the model, the GPU and the three fabrics (defaults too).
  std::set<std::string> files;
  for (const Json& f : summary["run"]["catalog_files"]) files.insert(f["file"].get<std::string>());
  CHECK(files == std::set<std::string>{"models/llama-3.1-8b.yaml", "gpus/h100-sxm.yaml", "fabrics/nvlink4.yaml",
                                       "fabrics/ib-ndr.yaml", "fabrics/pcie5.yaml"});
}

TEST_CASE("a scenario run without --set, most of it defaults, re-runs from its resolved scenario byte-identical") {
  const Workspace w("resolved-bare");
  // Neither context, parallelism, serving nor slo; a request stream with its
  // distributions and arrival left to their defaults.
  const std::string s = w.write("s.yaml", R"(name: bare
requests: {count: 12}
model: {preset: llama-3.1-8b}
cluster: {gpu: h100-sxm, gpus_per_node: 1}
)");
  REQUIRE(run_convsim(fmt::format("run '{}' -o '{}' -q", s, w.path("first")), w.path("log")) == 0);
  const std::string resolved = read_file(w.dir / "first" / "scenario.resolved.yaml");
  INFO(resolved);
  for (const char* key : {"serving:", "max_batch_seqs:", "context:", "policy:", "parallelism:", "slo:", "ttft_s:",
                          "input_tokens:", "arrival:", "scale_up:", "kv_cache:", "seed:"}) {
    INFO(key);
    CHECK(resolved.find(key) != std::string::npos);
  }
  REQUIRE(run_convsim(fmt::format("run '{}' -o '{}' -q", w.path("first/scenario.resolved.yaml"), w.path("again")),
                      w.path("log")) == 0);
  for (const char* file : {"turns.csv", "summary.json", "gpus.csv", "scenario.resolved.yaml"}) {
    INFO(file);
    CHECK(read_file(w.dir / "again" / file) == read_file(w.dir / "first" / file));
  }
}

TEST_CASE("different overrides give different scenario hashes, the same scenario the same hash") {
  const Workspace w("hash");
  const std::string s = w.write("s.yaml", small_scenario("hash", 1));
  auto hash = [&](const std::string& sets, const std::string& out) {
    REQUIRE(run_convsim(fmt::format("run '{}' -o '{}' -q {}", s, w.path(out), sets), w.path("log")) == 0);
    return Json::parse(read_file(w.dir / out / "summary.json"))["run"]["scenario_hash"].get<std::string>();
  };
  const std::string plain = hash("", "plain");
  CHECK(hash("--set seed=4", "seed4") != plain);
  CHECK(hash("--set slo.ttft_s=0.25", "slo") != plain);
  CHECK(hash("--set seed=3", "same") == plain);  // the file's own seed
}

TEST_CASE("merge refuses a variant folder whose summary.json is not marked complete") {
  const Workspace w("incomplete");
  const std::string s = w.write("s.yaml", small_scenario("incomplete", 1) +
                                              "compare:\n  - {name: kept}\n  - {name: dropped, set: "
                                              "{context.kv_between_turns: drop}}\n");
  REQUIRE(run_convsim(fmt::format("compare '{}' -o '{}' --shard 1/2", s, w.path("one")), w.path("log")) == 0);
  REQUIRE(run_convsim(fmt::format("compare '{}' -o '{}' --shard 2/2", s, w.path("two")), w.path("log")) == 0);
  REQUIRE(run_convsim(fmt::format("merge '{}' '{}' -o '{}'", w.path("one"), w.path("two"), w.path("all")),
                      w.path("log")) == 0);
  // A summary.json without the marker, as an older or interrupted writer leaves it.
  const fs::path summary = w.dir / "two" / "dropped" / "summary.json";
  Json j = Json::parse(read_file(summary));
  j.erase("complete");
  std::ofstream(summary) << j.dump(2);
  CHECK(run_convsim(fmt::format("merge '{}' '{}' -o '{}'", w.path("one"), w.path("two"), w.path("all2")),
                    w.path("log")) == 1);
  CHECK(read_file(w.path("log")).find("variant 'dropped' did not finish") != std::string::npos);
}

TEST_CASE("convsim --version and summary.json name the source revision it was built from, not one configured before") {
  // The revision of the tree now, as git gives it (the build reads it at every
  // build, so a commit after CMake configured is still reported).
  const Workspace w("version");
  const std::string git = fmt::format("git -C '{}' rev-parse --short=12 HEAD > '{}' 2>/dev/null", CONVSIM_SOURCE_DIR,
                                      w.path("head"));
  std::string head = std::system(git.c_str()) == 0 ? read_file(w.path("head")) : "";
  while (!head.empty() && (head.back() == '\n' || head.back() == '\r')) head.pop_back();
  if (head.empty()) head = "unknown";
  REQUIRE(run_convsim("--version", w.path("log")) == 0);
  CHECK(read_file(w.path("log")) == fmt::format("convsim {} ({})\n", CONVSIM_VERSION, head));
  const std::string s = w.write("s.yaml", small_scenario("version", 1));
  REQUIRE(run_convsim(fmt::format("run '{}' -o '{}' -q", s, w.path("out")), w.path("run")) == 0);
  CHECK(Json::parse(read_file(w.dir / "out" / "summary.json"))["run"]["git_revision"] == head);
}

TEST_CASE("a truncated trace says so on stderr, and --trace-from-min/--trace-to-min trace a late window") {
  const Workspace w("trace-window");
  const std::string s = ::convsim::test::source_path("scenarios/podcast-10h.yaml");
  // The ten-hour conversation on 64 GPUs makes millions of slices: the cap is reached.
  REQUIRE(run_convsim(fmt::format("run '{}' -o '{}' -q --trace", s, w.path("all")), w.path("log")) == 0);
  const std::string log = read_file(w.path("log"));
  INFO(log);
  CHECK(log.find(w.path("all") + "/trace.json: truncated at 400000 slices, at minute ") != std::string::npos);
  CHECK(Json::parse(read_file(w.dir / "all" / "trace.json"))["otherData"]["truncated"] == true);
  // Minutes 505 to 506 only: under the cap, every slice overlapping the window.
  REQUIRE(run_convsim(fmt::format("run '{}' -o '{}' -q --trace-from-min 505 --trace-to-min 506", s, w.path("late")),
                      w.path("late-log")) == 0);
  CHECK(read_file(w.path("late-log")).find("truncated") == std::string::npos);
  const Json trace = Json::parse(read_file(w.dir / "late" / "trace.json"));
  CHECK(trace["otherData"]["truncated"] == false);
  long slices = 0;
  for (const Json& e : trace["traceEvents"]) {
    if (e["ph"] != "X") continue;
    ++slices;
    const double start_s = e["ts"].get<double>() * 1e-6, end_s = start_s + e["dur"].get<double>() * 1e-6;
    CHECK(end_s >= 505 * 60.0 - 1e-6);
    CHECK(start_s <= 506 * 60.0 + 1e-6);
  }
  CHECK(slices > 0);
  CHECK(run_convsim(fmt::format("run '{}' -o '{}' -q --trace-from-min 6 --trace-to-min 5", s, w.path("bad")),
                    w.path("bad-log")) == 2);
}

TEST_CASE("a number option given NaN or infinity is a usage error (exit 2) naming it, before anything runs") {
  const Workspace w("nan-options");
  const std::string s = w.write("s.yaml", small_scenario("nan-options", 1));
  const std::vector<std::string> commands = {
      fmt::format("run '{}' -o '{}' -q --trace-from-min nan", s, w.path("a")),
      fmt::format("run '{}' -o '{}' -q --trace-to-min inf", s, w.path("b")),
      fmt::format("explain '{}' --minute nan", s),
      fmt::format("breakpoint '{}' --vary conversation.sessions --from 1 --to nan -o '{}'", s, w.path("c")),
      fmt::format("breakpoint '{}' --vary conversation.sessions --from 1 --to 4 --tolerance nan -o '{}'", s,
                  w.path("d")),
  };
  for (const std::string& command : commands) {
    INFO(command);
    CHECK(run_convsim(command, w.path("log")) == 2);
    const std::string log = read_file(w.path("log"));
    INFO(log);
    CHECK(log.find("expected a finite number") != std::string::npos);
  }
  for (const char* folder : {"a", "b", "c", "d"}) CHECK_FALSE(fs::exists(w.dir / folder));
}

TEST_CASE("an empty output folder name is a usage error, and validate refuses an unusable folder before simulating") {
  const Workspace w("output-names");
  const std::string s = w.write("s.yaml", small_scenario("output-names", 1));
  for (const std::string& command : {fmt::format("run '{}' -o ''", s), fmt::format("compare '{}' -o ''", s),
                                     fmt::format("plan '{}' -o ''", s), std::string("validate -o ''")}) {
    INFO(command);
    CHECK(run_convsim(command, w.path("log")) == 2);
    CHECK(read_file(w.path("log")).find("expected a folder, got an empty name") != std::string::npos);
  }
  // A file where the folder should be: exit 3 at once, naming it (the serving rows
  // take about 20 s; their output would be lost).
  const std::string file = w.write("a-file", "x\n");
  CHECK(run_convsim(fmt::format("validate --only operators -o '{}/sub'", file), w.path("log")) == 3);
  CHECK(read_file(w.path("log")).find(file + "/sub: cannot create folder") != std::string::npos);
}

TEST_CASE("compare -q prints nothing on success and still writes compare.csv") {
  const Workspace w("compare-quiet");
  const std::string s = w.write("s.yaml", small_scenario("compare-quiet", 1) +
                                              "compare:\n  - {name: kept}\n  - {name: dropped, set: "
                                              "{context.kv_between_turns: drop}}\n");
  REQUIRE(shell(fmt::format("{} compare '{}' -o '{}' -q > '{}' 2> '{}'", CONVSIM_BINARY, s, w.path("out"),
                            w.path("stdout"), w.path("stderr"))) == 0);
  CHECK(read_file(w.path("stdout")).empty());
  CHECK(without_sanitizer_warnings(read_file(w.path("stderr"))).empty());
  CHECK(fs::exists(w.dir / "out" / "compare.csv"));
}

TEST_CASE("run and compare write to different default folders: neither mixes with nor replaces the other") {
  const Workspace w("default-folders");
  const std::string s = w.write("s.yaml", small_scenario("folders", 1) +
                                              "compare:\n  - {name: kept}\n  - {name: dropped, set: "
                                              "{context.kv_between_turns: drop}}\n");
  // Both from the workspace, so that their default out/ folders are in it.
  const std::string in_workspace = fmt::format("cd '{}' && {}", w.dir.string(), CONVSIM_BINARY);
  REQUIRE(shell(fmt::format("{} run '{}' -q > '{}' 2>&1", in_workspace, s, w.path("run-log"))) == 0);
  const std::string run_summary = read_file(w.dir / "out" / "folders" / "summary.json");
  REQUIRE(shell(fmt::format("{} compare '{}' -q > '{}' 2>&1", in_workspace, s, w.path("compare-log"))) == 0);
  INFO(read_file(w.path("compare-log")));
  // The run's folder holds the run's outputs alone, unchanged.
  const std::set<std::string> run_files = {".convsim-run", "scenario.resolved.yaml", "turns.csv",
                                           "gpus.csv",     "timing.json",            "summary.json"};
  CHECK(files_in(w.dir / "out" / "folders") == run_files);
  CHECK(read_file(w.dir / "out" / "folders" / "summary.json") == run_summary);
  // The compare's in its own, which it owns as a run does: the table and a folder per variant.
  const fs::path compare = w.dir / "out" / "folders-compare";
  CHECK(files_in(compare) == std::set<std::string>{".convsim-run", "compare.csv", "compare.md", "kept", "dropped"});
  CHECK(fs::exists(compare / "kept" / "summary.json"));
  // And the run again, after the compare: still its own folder.
  CHECK(shell(fmt::format("{} run '{}' -q > '{}' 2>&1", in_workspace, s, w.path("run-log"))) == 0);
}
