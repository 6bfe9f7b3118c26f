// Replicas on clocks of their own (sim/engine/replica_clock.hpp): a replica that
// nothing else in the run can affect waits out its iterations by adding to its own
// date instead of on SimGrid timers. Its outputs must be the ones every wait on a
// SimGrid timer gives (--simgrid-every-wait), byte for byte, with KV-cache
// transfers (pauses), faults, many replicas and routers (up to their next
// routing); and it must not run ahead where others deliver at any time (a
// disaggregated pool). Run through the binary: one simulation per process.

#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/support/cli_run.hpp"

namespace fs = std::filesystem;
using namespace convsim::test;

namespace {

struct Runs {
  nlohmann::json own_clock_timing, summary;
};

// Runs `file` (in the workspace, or a path) with `args` twice, on replicas' own
// clocks and with every wait on SimGrid, and checks that every output but
// timing.json is the same byte for byte.
Runs run_both(const Workspace& w, const std::string& file, const std::string& args = "") {
  const std::string name = fs::path(file).filename().string();
  const std::string fast = w.path(name + "-own"), slow = w.path(name + "-simgrid");
  const std::string path = fs::path(file).is_absolute() ? file : w.path(file);
  REQUIRE(run_convsim(fmt::format("run '{}' {} -q -o '{}'", path, args, fast), w.path("log")) == 0);
  REQUIRE(run_convsim(fmt::format("run '{}' {} -q -o '{}' --simgrid-every-wait", path, args, slow), w.path("log")) ==
          0);
  std::set<std::string> files = files_in(fast);
  CHECK(files_in(slow) == files);
  files.erase("timing.json");  // wall time
  files.erase(".convsim-run");
  CHECK(files.count("turns.csv") == 1);
  CHECK(files.count("gpus.csv") == 1);
  for (const std::string& f : files) {
    INFO(file << ": " << f);
    const std::string expected = read_file(fs::path(slow) / f);
    CHECK(expected.size() > 10);
    CHECK(read_file(fs::path(fast) / f) == expected);
  }
  const auto slow_timing = nlohmann::json::parse(read_file(fs::path(slow) / "timing.json"));
  CHECK(slow_timing["replicas_on_own_clock"].get<long>() == 0);
  return {nlohmann::json::parse(read_file(fs::path(fast) / "timing.json")),
          nlohmann::json::parse(read_file(fs::path(fast) / "summary.json"))};
}

// A stream of `count` requests on one H100 serving Llama-3.1-8B, arriving as
// `arrival` (a YAML flow map), routed by `routing`.
std::string stream(const std::string& name, int count, const std::string& arrival, const std::string& routing) {
  return fmt::format(R"(name: {}
seed: 5
requests:
  count: {}
  input_tokens: {{median: 900, sigma: 0.5}}
  output_tokens: {{median: 180, sigma: 0.5}}
  arrival: {}
model: {{preset: llama-3.1-8b}}
cluster: {{gpu: h100-sxm, nodes: 1, gpus_per_node: 1}}
parallelism: {{tp: 1, pp: 1}}
serving: {{max_batch_seqs: 256, prefill_chunk_tokens: 2048, routing: {}}}
slo: {{ttft_s: 10, tpot_s: 1}}
)",
                     name, count, arrival, routing);
}

std::string fleet(const std::string& name, const std::string& routing, const std::string& kv) {
  return small_scenario(name, 6,
                        {{"tokens_per_word: 1.33", "tokens_per_word: 1.33\n  sessions: 6"},
                         {"kv_between_turns: keep", "kv_between_turns: " + kv},
                         {"gpus_per_node: 1,", "gpus_per_node: 4,"},
                         {"parallelism: {tp: 1, pp: 1}", "parallelism: {tp: 1, pp: 1, dp: 4}"},
                         {"serving: {max_batch_seqs: 16,", "serving: {routing: " + routing + ", max_batch_seqs: 16,"}});
}

}  // namespace

TEST_CASE("a request stream on one replica runs on its own clock to the outputs of SimGrid's timers") {
  const Workspace w("run-ahead-stream");
  w.write("stream.yaml", stream("stream", 400, "{rate_per_s: 3}", "affinity"));
  const Runs r = run_both(w, "stream.yaml");
  CHECK(r.own_clock_timing["replicas_on_own_clock"].get<long>() == 1);
  CHECK(r.summary["replies"].get<long>() == 400);
}

TEST_CASE("four replicas with session affinity each run on their own clock, the same outputs") {
  const Workspace w("run-ahead-fleet");
  w.write("fleet.yaml", fleet("fleet", "affinity", "keep"));
  const Runs r = run_both(w, "fleet.yaml");
  CHECK(r.own_clock_timing["replicas_on_own_clock"].get<long>() == 4);
}

TEST_CASE("a replica whose caches move to host memory pauses its own clock for each transfer, the same outputs") {
  const Workspace w("run-ahead-offload");
  w.write("offload.yaml", small_scenario("offload", 6, {{"kv_between_turns: keep", "kv_between_turns: offload_cpu"}}));
  const Runs r = run_both(w, "offload.yaml");
  CHECK(r.own_clock_timing["replicas_on_own_clock"].get<long>() == 1);
  CHECK(r.summary["kv_cache"]["offloads"].get<long>() > 0);   // the transfers did run
  CHECK(r.summary["kv_cache"]["restores"].get<long>() > 0);
}

TEST_CASE("four replicas whose kept caches spill to host memory under pressure: the same outputs") {
  // The call-centre day, cut short, with Llama-3.1-405B in FP8 on each TP8 replica:
  // little HBM is left for KV caches, so caches spill while other replicas run ahead.
  const Workspace w("run-ahead-spills");
  const Runs r = run_both(w, source_path("scenarios/call-centre-day.yaml"),
                          "--set conversation.sessions=400 --set conversation.duration_min=25 "
                          "--set conversation.session_stagger_s=1 --set conversation.probe_minutes=[1] "
                          "--set model.preset=llama-3.1-405b --set model.weights=fp8");
  CHECK(r.own_clock_timing["replicas_on_own_clock"].get<long>() == 4);
  CHECK(r.summary["kv_cache"]["offloads"].get<long>() > 100);
  CHECK(r.summary["kv_cache"]["restores"].get<long>() > 100);
}

TEST_CASE("a lost and a slowed GPU on a replica on its own clock: the same outputs") {
  const Workspace w("run-ahead-faults");
  w.write("faults.yaml",
          small_scenario("faults", 8,
                         {{"gpus_per_node: 1,", "gpus_per_node: 2,"},
                          {"parallelism: {tp: 1, pp: 1}", "parallelism: {tp: 2, pp: 1}"},
                          {"slo: {ttft_s: 0.5, tpot_s: 0.05}",
                           "slo: {ttft_s: 0.5, tpot_s: 0.05}\nfaults: [{at_min: 3, kind: gpu_lost, gpu: 0, repair_min: 1}, "
                           "{at_min: 1, kind: gpu_slow, gpu: 1, factor: 2}]"}}));
  const Runs r = run_both(w, "faults.yaml");
  CHECK(r.own_clock_timing["replicas_on_own_clock"].get<long>() == 1);
  bool lost = false;  // the loss took the replica down
  for (const auto& f : r.summary["failures"]) lost = lost || f["kind"].get<std::string>() == "fault";
  CHECK(lost);
}

TEST_CASE("replicas fed by a router run ahead up to its next routing, the same outputs") {
  const Workspace w("run-ahead-router");
  w.write("routed.yaml", fleet("routed", "least_loaded", "keep"));
  const Runs r = run_both(w, "routed.yaml");
  CHECK(r.own_clock_timing["replicas_on_own_clock"].get<long>() == 4);
}

TEST_CASE("a closed loop through a router: each request issued pauses the replica, so it is routed on time") {
  // requests.arrival: concurrency issues the next request when one completes; the
  // router (round_robin) routes it at once, at the completion's date.
  const Workspace w("run-ahead-closed-loop");
  w.write("loop.yaml", stream("loop", 300, "{concurrency: 16}", "round_robin"));
  const Runs r = run_both(w, "loop.yaml");
  CHECK(r.own_clock_timing["replicas_on_own_clock"].get<long>() == 1);
  CHECK(r.summary["replies"].get<long>() == 300);
}

TEST_CASE("a transcript's rows come through the router: the replica runs ahead between them, the same outputs") {
  const Workspace w("run-ahead-transcript");
  const Runs r = run_both(w, source_path("scenarios/meeting-transcript.yaml"));
  CHECK(r.own_clock_timing["replicas_on_own_clock"].get<long>() == 1);
}

TEST_CASE("a disaggregated pool waits on SimGrid: handoffs come from other replicas at any time") {
  const Workspace w("run-ahead-disaggregated");
  w.write("split.yaml", small_scenario("split", 4,
                                       {{"gpus_per_node: 1,", "gpus_per_node: 2,"},
                                        {"parallelism: {tp: 1, pp: 1}",
                                         "parallelism: {tp: 1, pp: 1, prefill: {replicas: 1, tp: 1}}"}}));
  const Runs r = run_both(w, "split.yaml");
  CHECK(r.own_clock_timing["replicas_on_own_clock"].get<long>() == 0);
}
