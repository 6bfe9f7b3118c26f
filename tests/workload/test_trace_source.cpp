// Trace replay: the requests a replayed trace makes, against the file read here
// independently of the project's reader.

#include <ctime>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "sim/engine/simulation.hpp"
#include "sim/workload/workload.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;

namespace {

const std::string kAzureConv = std::string(CONVSIM_SOURCE_DIR) + "/data/traces/azure_llm_2023_conv.csv";

struct AzureRow {
  double clock_s;
  long context_tokens;
  long generated_tokens;
};

// The Azure CSV read with the C library's calendar (timegm), not the project's.
std::vector<AzureRow> read_azure(const std::string& path, std::size_t rows) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);  // header
  std::vector<AzureRow> out;
  while (out.size() < rows && std::getline(in, line)) {
    std::istringstream cells(line);
    std::string stamp, context, generated;
    std::getline(cells, stamp, ',');
    std::getline(cells, context, ',');
    std::getline(cells, generated, ',');
    std::tm tm{};
    std::istringstream(stamp.substr(0, 19)) >> std::get_time(&tm, "%Y-%m-%d %H:%M:%S");
    const double fraction = std::stod("0" + stamp.substr(19));
    out.push_back({static_cast<double>(timegm(&tm)) + fraction, std::stol(context), std::stol(generated)});
  }
  return out;
}

std::string azure_scenario(const std::string& trace_keys) {
  return fmt::format(R"(
name: azure-replay
requests: {{trace: {}, format: azure{}}}
model: {{preset: llama-3.1-8b}}
cluster: {{gpu: h100-sxm, nodes: 1, gpus_per_node: 1}}
parallelism: {{tp: 1}}
)",
                     kAzureConv, trace_keys);
}

}  // namespace

TEST_CASE("a replayed Azure trace's arrivals and lengths match the file row for row") {
  const std::vector<AzureRow> file = read_azure(kAzureConv, 100000);
  REQUIRE(file.size() == 19366);  // the whole hour (data/traces/README.md)
  const RunResult r = simulate(test::scenario_from(azure_scenario("")));
  REQUIRE(r.replies.size() == file.size());
  std::map<int, ReplyRecord> by_row;  // every row is a session of its own, numbered in file order
  for (const ReplyRecord& reply : r.replies) by_row[reply.session] = reply;
  REQUIRE(by_row.size() == file.size());
  for (std::size_t k = 0; k < file.size(); ++k) {
    const ReplyRecord& reply = by_row.at(static_cast<int>(k));
    INFO("row " << k + 2 << " of the file");
    REQUIRE(reply.start_s == Approx(file[k].clock_s - file[0].clock_s).margin(1e-6));
    REQUIRE(reply.prompt_tokens == file[k].context_tokens);
    REQUIRE(reply.output_tokens == file[k].generated_tokens);
    REQUIRE(reply.served);
  }
}

TEST_CASE("a trace window keeps the rows from start_s for duration_s, shifted to 0 and scaled by time_scale") {
  const double start_s = 600, duration_s = 30, scale = 0.5;
  const std::vector<AzureRow> file = read_azure(kAzureConv, 20000);
  std::vector<AzureRow> expected;
  for (const AzureRow& row : file) {
    const double t = row.clock_s - file[0].clock_s;
    if (t >= start_s && t < start_s + duration_s) expected.push_back(row);
  }
  REQUIRE(expected.size() > 5);
  const Scenario s = test::scenario_from(azure_scenario(fmt::format(", start_s: {}, duration_s: {}, time_scale: {}",
                                                                    start_s, duration_s, scale)));
  Workload w(s);
  CHECK(w.initial_requests().empty());
  std::vector<Request> got;
  while (std::optional<Request> r = w.next_arrival()) got.push_back(*r);
  REQUIRE(got.size() == expected.size());
  for (std::size_t k = 0; k < got.size(); ++k) {
    CHECK(got[k].arrival_s == Approx((expected[k].clock_s - file[0].clock_s - start_s) * scale).margin(1e-6));
    CHECK(got[k].prompt_tokens == expected[k].context_tokens);
  }
}

TEST_CASE("max_requests cuts a trace after that many rows") {
  const Scenario s = test::scenario_from(azure_scenario(", max_requests: 7"));
  Workload w(s);
  long n = 0;
  while (w.next_arrival()) ++n;
  CHECK(n == 7);
}
