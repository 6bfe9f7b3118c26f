// A link_slow fault slows the transfers that cross the link by its factor, whether
// the replica's collectives are computed directly (the default, for replicas whose
// links nothing else shares) or run as SimGrid activities
// (--simgrid-every-transfer). Run through the binary: one simulation per process.

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/support/scenario_fixture.hpp"

using Json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

// One 1000-token prompt on Llama-3.1-8B split over two H100s (TP 2): every layer
// all-reduces its activations over the two GPUs' NVLink ports.
constexpr const char* kTwoGpuRequest = R"(
name: link-fault
requests:
  count: 1
  input_tokens: {fixed: 1000}
  output_tokens: {fixed: 4}
  arrival: {all_at_once: true}
model: {preset: llama-3.1-8b}
cluster: {gpu: h100-sxm, nodes: 1, gpus_per_node: 2}
parallelism: {tp: 2, pp: 1}
)";

// The duration (s) of the first all-reduce of GPU 0 in trace.json under `faults`
// (the scenario's faults list, as YAML), into folder `tag`.
double first_allreduce_under_s(const fs::path& dir, const std::string& faults, const std::string& tag,
                               bool every_transfer) {
  const std::string out = (dir / tag).string();
  const std::string command =
      fmt::format("{} run '{}' -o '{}' -q --trace {} --set 'faults={}' > '{}.log' 2>&1", CONVSIM_BINARY,
                  (dir / "s.yaml").string(), out, every_transfer ? "--simgrid-every-transfer" : "", faults, out);
  const int status = std::system(command.c_str());
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  const Json trace = Json::parse(::convsim::test::read_file(fs::path(out) / "trace.json"));
  int gpu0_tid = -1;
  for (const Json& e : trace["traceEvents"]) {
    if (e["ph"] == "M" && e["name"] == "thread_name" && e["args"]["name"] == "gpu 0") gpu0_tid = e["tid"];
  }
  REQUIRE(gpu0_tid >= 0);
  for (const Json& e : trace["traceEvents"]) {
    if (e["ph"] == "X" && e["name"] == "all-reduce" && e["tid"] == gpu0_tid) return e["dur"].get<double>() * 1e-6;
  }
  FAIL("no all-reduce on gpu 0");
  return 0;
}

// The same with GPU 0's NVLink port slowed `factor` times from the start.
double first_allreduce_s(const fs::path& dir, double factor, bool every_transfer) {
  return first_allreduce_under_s(
      dir, fmt::format("[{{kind: link_slow, at_min: 0, gpu: 0, link: nvlink, factor: {}}}]", factor),
      fmt::format("f{}-{}", factor, every_transfer), every_transfer);
}

}  // namespace

TEST_CASE("a link_slow fault multiplies the bandwidth term of the transfers crossing the link, in both modes") {
  const fs::path dir = fs::temp_directory_path() / fmt::format("convsim-link-fault-{}", ::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "s.yaml") << kTwoGpuRequest;
  for (const bool every_transfer : {false, true}) {
    INFO((every_transfer ? "--simgrid-every-transfer" : "default (computed) path"));
    // An all-reduce takes L + factor * B: L its latencies, B its bytes over the
    // port's bandwidth. Factors 1, 2 and 4 give B = d2 - d1 and d4 - d2 = 2 B.
    const double d1 = first_allreduce_s(dir, 1, every_transfer);
    const double d2 = first_allreduce_s(dir, 2, every_transfer);
    const double d4 = first_allreduce_s(dir, 4, every_transfer);
    INFO("all-reduce s: factor 1 " << d1 << ", factor 2 " << d2 << ", factor 4 " << d4);
    CHECK(d2 > d1 * 1.2);  // the bytes, not the latency, dominate a 1000-token all-reduce
    CHECK(d4 - d2 == Approx(2 * (d2 - d1)).epsilon(1e-4));
  }
  fs::remove_all(dir);
}

TEST_CASE("faults overlapping on one link: the largest active factor holds, and one fault's end leaves the others") {
  const fs::path dir = fs::temp_directory_path() / fmt::format("convsim-link-faults-{}", ::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "s.yaml") << kTwoGpuRequest;
  const double d4 = first_allreduce_s(dir, 4, false);
  // A factor-4 fault for the whole run with a factor-2 one over the first minute,
  // in either order: the first all-reduce (within milliseconds) runs at factor 4.
  const std::string four = "{kind: link_slow, at_min: 0, gpu: 0, link: nvlink, factor: 4}";
  const std::string two_for_a_minute = "{kind: link_slow, at_min: 0, until_min: 1, gpu: 0, link: nvlink, factor: 2}";
  CHECK(first_allreduce_under_s(dir, "[" + four + ", " + two_for_a_minute + "]", "a", false) == Approx(d4));
  CHECK(first_allreduce_under_s(dir, "[" + two_for_a_minute + ", " + four + "]", "b", false) == Approx(d4));
  // A factor-2 fault that ends after 6 microseconds, before the first all-reduce:
  // its end restores the factor-4 fault's bandwidth, not the link's own.
  const std::string two_briefly = "{kind: link_slow, at_min: 0, until_min: 1e-7, gpu: 0, link: nvlink, factor: 2}";
  CHECK(first_allreduce_under_s(dir, "[" + four + ", " + two_briefly + "]", "c", false) == Approx(d4));
  fs::remove_all(dir);
}
