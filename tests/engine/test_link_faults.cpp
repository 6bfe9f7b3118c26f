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

// The duration (s) of the first all-reduce of GPU 0 in trace.json, with GPU 0's
// NVLink port slowed `factor` times from the start.
double first_allreduce_s(const fs::path& dir, double factor, bool every_transfer) {
  const std::string out = (dir / fmt::format("f{}-{}", factor, every_transfer)).string();
  const std::string command =
      fmt::format("{} run '{}' -o '{}' -q --trace {} "
                  "--set 'faults=[{{kind: link_slow, at_min: 0, gpu: 0, link: nvlink, factor: {}}}]' > '{}.log' 2>&1",
                  CONVSIM_BINARY, (dir / "s.yaml").string(), out, every_transfer ? "--simgrid-every-transfer" : "",
                  factor, out);
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
