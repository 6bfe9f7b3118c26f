// convsim against The ML.ENERGY Leaderboard v3 H100 measurements
// (data/calibration/mlenergy_h100.csv): Llama-3.1-8B on one H100 and Llama-3.1-70B on
// four at TP4, vLLM at steady state with max_num_seqs requests in flight. Median
// inter-token latency, GPU energy per output token and mean GPU power must each be
// within 15% of the measurement. One TEST_CASE per point: one simulation per process.

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "sim/accounting/energy.hpp"
#include "sim/engine/simulation.hpp"
#include "sim/scenario/loader.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;

namespace {

constexpr double kTolerance = 0.15;

struct Measured {
  double median_itl_s = 0, energy_per_token_j = 0, power_w = 0;
};

Measured measured(const std::string& model, int max_num_seqs) {
  std::ifstream in(test::source_path("data/calibration/mlenergy_h100.csv"));
  std::string line;
  std::getline(in, line);  // header: model,...,max_num_seqs(10),...,avg_power_w(13),energy_per_token_j(14),...,median_itl_ms(16)
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) cells.push_back(cell);
    if (cells[0] == model && std::stoi(cells[10]) == max_num_seqs) {
      return Measured{std::stod(cells[16]) * 1e-3, std::stod(cells[14]), std::stod(cells[13])};
    }
  }
  FAIL("no measurement for " << model << " at max_num_seqs " << max_num_seqs);
  return {};
}

void check_point(const std::string& scenario_file, const std::string& model, int batch) {
  const Scenario s = load_scenario(test::source_path("scenarios/calibration/" + scenario_file),
                                   {{"serving.max_batch_seqs", std::to_string(batch)},
                                    {"requests.arrival.concurrency", std::to_string(batch)},
                                    {"requests.count", std::to_string(batch * 20)}},
                                   test::catalog());
  const RunResult r = simulate(s);
  double output_tokens = 0;
  for (const ReplyRecord& reply : r.replies) output_tokens += static_cast<double>(reply.output_tokens);
  const double gpu_j = metered_gpu_energy_j(r);
  const double itl_s = r.inter_token_s.percentiles().p50;
  const double energy_per_token_j = gpu_j / output_tokens;
  const double power_w = gpu_j / r.end_s;
  const Measured m = measured(model, batch);
  INFO(fmt::format("{} batch {}: ITL {:.2f} ms (measured {:.2f}), energy {:.4f} J/token ({:.4f}), power {:.0f} W ({:.0f})",
                   model, batch, itl_s * 1e3, m.median_itl_s * 1e3, energy_per_token_j, m.energy_per_token_j, power_w,
                   m.power_w));
  CHECK(std::abs(itl_s / m.median_itl_s - 1) < kTolerance);
  CHECK(std::abs(energy_per_token_j / m.energy_per_token_j - 1) < kTolerance);
  CHECK(std::abs(power_w / m.power_w - 1) < kTolerance);
}

const char* k8b = "meta-llama/Llama-3.1-8B-Instruct";
const char* k70b = "meta-llama/Llama-3.1-70B-Instruct";

}  // namespace

TEST_CASE("Llama-3.1-8B on one H100 at batch 8 matches ML.ENERGY within 15%") {
  check_point("mlenergy-llama-3.1-8b-h100.yaml", k8b, 8);
}
TEST_CASE("Llama-3.1-8B on one H100 at batch 64 matches ML.ENERGY within 15%") {
  check_point("mlenergy-llama-3.1-8b-h100.yaml", k8b, 64);
}
TEST_CASE("Llama-3.1-8B on one H100 at batch 256 matches ML.ENERGY within 15%") {
  check_point("mlenergy-llama-3.1-8b-h100.yaml", k8b, 256);
}
TEST_CASE("Llama-3.1-70B on four H100 at TP4, batch 8, matches ML.ENERGY within 15%") {
  check_point("mlenergy-llama-3.1-70b-h100-tp4.yaml", k70b, 8);
}
TEST_CASE("Llama-3.1-70B on four H100 at TP4, batch 64, matches ML.ENERGY within 15%") {
  check_point("mlenergy-llama-3.1-70b-h100-tp4.yaml", k70b, 64);
}
TEST_CASE("Llama-3.1-70B on four H100 at TP4, batch 256, matches ML.ENERGY within 15%") {
  check_point("mlenergy-llama-3.1-70b-h100-tp4.yaml", k70b, 256);
}
