// convsim against The ML.ENERGY Leaderboard v3 H100 measurements
// (data/calibration/mlenergy_h100.csv): Llama-3.1-8B on one H100 and Llama-3.1-70B on
// four at TP4, vLLM at steady state with max_num_seqs requests in flight. Median
// inter-token latency, GPU energy per output token and mean GPU power must each be
// within 15% of the measurement. One TEST_CASE per point: one simulation per process.

#include <cmath>
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "sim/validation/calibration.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;

namespace {

constexpr double kTolerance = 0.15;

// The case list, the overrides and the metrics are those of
// sim/validation/calibration.hpp, which `convsim validate` prints for every batch.
void check_point(const ServingModel& model, int batch) {
  const ServingCase c = serving_case(model, batch, default_calibration_dir());
  const ServingMetrics p = simulate_serving(c, test::catalog());
  const double itl_s = p.median_itl_s, energy_per_token_j = p.energy_per_token_j, power_w = p.power_w;
  const ServingMetrics& m = c.measured;
  INFO(fmt::format("{} batch {}: ITL {:.2f} ms (measured {:.2f}), energy {:.4f} J/token ({:.4f}), power {:.0f} W ({:.0f})",
                   model.model, batch, itl_s * 1e3, m.median_itl_s * 1e3, energy_per_token_j, m.energy_per_token_j,
                   power_w, m.power_w));
  CHECK(std::abs(itl_s / m.median_itl_s - 1) < kTolerance);
  CHECK(std::abs(energy_per_token_j / m.energy_per_token_j - 1) < kTolerance);
  CHECK(std::abs(power_w / m.power_w - 1) < kTolerance);
}

const ServingModel& k8b = kServingModels[0];
const ServingModel& k70b = kServingModels[1];

}  // namespace

TEST_CASE("Llama-3.1-8B on one H100 at batch 8 matches ML.ENERGY within 15%") {
  check_point(k8b, 8);
}
TEST_CASE("Llama-3.1-8B on one H100 at batch 64 matches ML.ENERGY within 15%") {
  check_point(k8b, 64);
}
TEST_CASE("Llama-3.1-8B on one H100 at batch 256 matches ML.ENERGY within 15%") {
  check_point(k8b, 256);
}
TEST_CASE("Llama-3.1-70B on four H100 at TP4, batch 8, matches ML.ENERGY within 15%") {
  check_point(k70b, 8);
}
TEST_CASE("Llama-3.1-70B on four H100 at TP4, batch 64, matches ML.ENERGY within 15%") {
  check_point(k70b, 64);
}
TEST_CASE("Llama-3.1-70B on four H100 at TP4, batch 256, matches ML.ENERGY within 15%") {
  check_point(k70b, 256);
}
