// The roofline with the fitted H100 efficiencies against Vidur's measured operator
// times (data/calibration/vidur_h100_llama2_{7b,70b}_mlp.csv: Llama-2-7B and 70B
// linear layers, 1..16384 tokens, TP 1..8). Tolerance: median relative error under
// 10% and 90th percentile under 25% (the fit reaches 6.7% and 19.9%). The cases and
// the prediction formula are those of sim/validation/calibration.hpp, which
// `convsim validate` prints.

#include <cmath>
#include <vector>

#include <catch2/catch.hpp>

#include "sim/validation/calibration.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;

TEST_CASE("linear-layer times on H100 match Vidur's measurements: median error < 10%, p90 < 25%") {
  const GpuSpec& gpu = test::catalog().gpus.at("h100-sxm");
  std::vector<double> errors;
  for (const OperatorCase& c : operator_cases(gpu, default_calibration_dir())) {
    errors.push_back(std::abs(c.predicted_s - c.measured_s) / c.measured_s);
  }
  REQUIRE(errors.size() > 8000);
  const double median = lower_quantile(errors, 0.5), p90 = lower_quantile(errors, 0.9);
  INFO("operators " << errors.size() << ": median error " << median << ", p90 " << p90);
  CHECK(median < 0.10);
  CHECK(p90 < 0.25);
}
