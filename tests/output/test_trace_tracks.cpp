// trace.json draws one track per GPU and link: a slice on a track is something that
// track did, and a GPU (or a link direction) does one thing at a time, so the slices
// of one track never overlap. Checked on the trace.json of runs through the binary,
// over layouts that make compute, collective, pipeline and KV-transfer slices.

#include <algorithm>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sim/output/trace_lanes.hpp"
#include "tests/support/cli_run.hpp"

using Json = nlohmann::json;
using namespace ::convsim::test;

namespace {

// trace.json prints ts and dur in microseconds with 3 decimals: each is rounded by
// at most half a nanosecond, so a slice's printed end may pass the next slice's
// printed start by up to 1.5 ns when they touch exactly.
constexpr double kPrintedResolutionUs = 0.0015;

struct Slice {
  double start_us, end_us;
  std::string name;
};

}  // namespace

TEST_CASE("slices on one trace track never overlap") {
  const std::string base = "--set cluster.gpus_per_node=4 --set conversation.sessions=6";
  const std::vector<std::pair<std::string, std::string>> layouts = {
      {"tp", "--set parallelism.tp=4"},
      {"pp", "--set parallelism.pp=2 --set parallelism.tp=2 --set parallelism.micro_batches=2"},
      {"dp-offload", "--set parallelism.dp=4 --set context.kv_between_turns=offload_cpu"},
      {"disaggregated", "--set parallelism.prefill.replicas=1 --set parallelism.prefill.tp=2 --set parallelism.tp=2"},
  };
  const Workspace w("trace-tracks");
  const std::string conversation = w.write("s.yaml", small_scenario("tracks", 4));
  // 32 requests at once, prefilled in one pool and handed to another: their KV
  // handoffs between the same two replicas overlap, and are drawn on lanes.
  const std::string burst = w.write("burst.yaml", R"(name: burst
requests: {count: 32, input_tokens: {fixed: 2000}, output_tokens: {fixed: 20}, arrival: {all_at_once: true}}
model: {preset: llama-3.1-8b}
cluster: {gpu: h100-sxm, gpus_per_node: 4}
parallelism: {tp: 2, prefill: {replicas: 1, tp: 2}}
)");
  std::vector<std::tuple<std::string, std::string, std::string>> runs;  // label, scenario, options
  for (const auto& [label, sets] : layouts) runs.emplace_back(label, conversation, base + " " + sets);
  runs.emplace_back("burst", burst, "");
  for (const auto& [label, s, sets] : runs) {
    INFO(label);
    const std::string out = w.path(label);
    REQUIRE(run_convsim(fmt::format("run '{}' -o '{}' -q --trace {}", s, out, sets), w.path("log")) == 0);
    const Json trace = Json::parse(read_file(out + "/trace.json"));
    std::map<std::pair<int, int>, std::vector<Slice>> tracks;  // (pid, tid) -> slices
    for (const Json& e : trace["traceEvents"]) {
      if (e["ph"] != "X") continue;
      const double start_us = e["ts"].get<double>();
      tracks[{e["pid"].get<int>(), e["tid"].get<int>()}].push_back(
          {start_us, start_us + e["dur"].get<double>(), e["name"].get<std::string>()});
    }
    REQUIRE(!tracks.empty());
    if (label == "burst") {
      bool lanes = false;
      for (const Json& e : trace["traceEvents"]) {
        lanes = lanes || (e["name"] == "thread_name" && e["args"]["name"] == "replica 1 -> 0 kv #2");
      }
      CHECK(lanes);
    }
    for (auto& [track, slices] : tracks) {
      std::sort(slices.begin(), slices.end(), [](const Slice& a, const Slice& b) { return a.start_us < b.start_us; });
      for (std::size_t i = 1; i < slices.size(); ++i) {
        const Slice& before = slices[i - 1];
        const Slice& after = slices[i];
        INFO(fmt::format("track pid {} tid {}: {} [{}, {}] us then {} [{}, {}] us", track.first, track.second,
                         before.name, before.start_us, before.end_us, after.name, after.start_us, after.end_us));
        CHECK(after.start_us >= before.end_us - kPrintedResolutionUs);
      }
    }
  }
}

TEST_CASE("a track's overlapping slices go to separate lanes, touching ones share a lane") {
  using convsim::TraceSlice;
  // Three transfers on one link: [0, 2) and [1, 3) overlap, [2, 4) starts as the
  // first ends; another track's slice at the same time keeps lane 0.
  const std::vector<TraceSlice> slices = {{"gpu 0 pcie", "offload", 0.0, 2.0, 0, 1, 1e6},
                                          {"gpu 0 pcie", "offload", 1.0, 2.0, 0, 1, 1e6},
                                          {"gpu 0 pcie", "offload", 2.0, 2.0, 0, 1, 1e6},
                                          {"gpu 1", "decode", 1.0, 5.0, 1, 1, 0}};
  CHECK(convsim::trace_lanes(slices) == std::vector<int>{0, 1, 0, 0});
  CHECK(convsim::lane_name("gpu 0 pcie", 0) == "gpu 0 pcie");
  CHECK(convsim::lane_name("gpu 0 pcie", 1) == "gpu 0 pcie #2");
}
