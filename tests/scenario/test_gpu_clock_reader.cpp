// cluster.gpu_power_cap_w and cluster.gpu_clock_mhz: the GPU at that operating point,
// and each bad value reported at its spot with the allowed range, before time starts.

#include <cmath>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "sim/scenario/config_error.hpp"
#include "sim/scenario/loader.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;

namespace {

// Lines 1-4; the cluster's keys start on line 5, two spaces in.
const std::string kHead =
    "name: x\n"
    "conversation: {duration_min: 10, speakers: [{name: a, turn_words: 5}]}\n"
    "model: {preset: llama-3.1-8b}\n"
    "cluster:\n";

std::string error_of(const std::string& cluster_lines) {
  try {
    test::scenario_from(kHead + cluster_lines);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("a power cap and a locked clock set the cluster's GPU at that operating point") {
  const Scenario s = test::scenario_from(kHead + "  gpu: h100-sxm\n  gpu_power_cap_w: 350\n");
  CHECK(*s.cluster.gpu_clocks.power_cap_w == 350);
  CHECK_FALSE(s.cluster.gpu_clocks.sm_clock_mhz);
  CHECK(s.cluster.gpu.power_limit_w() == 350);
  CHECK(s.cluster.gpu.compute_clock_fraction == Approx(std::cbrt(281.6 / 631.6)).epsilon(1e-12));
  CHECK(s.warnings.empty());  // 350 W is above the H100's static_w (179 W)

  const Scenario locked = test::scenario_from(kHead + "  gpu: h100-sxm\n  gpu_clock_mhz: 1485\n");
  CHECK(locked.cluster.gpu.compute_clock_fraction == Approx(0.75).epsilon(1e-12));
  // Through --set as through a compare variant.
  const Scenario set = test::scenario_from(kHead + "  gpu: a100-sxm\n", {{"cluster.gpu_power_cap_w", "250"}});
  CHECK(set.cluster.gpu.power_limit_w() == 250);

  const Scenario plain = test::scenario_from(kHead + "  gpu: h100-sxm\n");
  CHECK(plain.cluster.gpu.power_limit_w() == 700);
  CHECK(plain.cluster.gpu.compute_clock_fraction == 1.0);
}

TEST_CASE("a cap below the fitted static power is allowed, with a located warning that memory-bound work is optimistic") {
  // No shipped preset draws more while running kernels than its lowest accepted cap
  // (the H100's fitted 179 W against its 200 W minimum): a catalog whose H100 draws
  // 260 W.
  Catalog catalog = test::catalog();
  catalog.gpus.at("h100-sxm").power.static_w = 260;
  const Scenario s =
      load_scenario_text(kHead + "  gpu: h100-sxm\n  gpu_power_cap_w: 250\n", "test.yaml", {}, catalog);
  REQUIRE(s.warnings.size() == 1);
  CHECK(s.warnings[0] ==
        "test.yaml:6:20: warning: cluster.gpu_power_cap_w = 250 W is below h100-sxm's static_w (260 W, a "
        "clocked-up GPU before data moves): memory-bound work and host waits are clipped to the cap without their "
        "memory traffic being slowed, so their latency under it is optimistic");
}

TEST_CASE("each bad cap or clock is reported with its exact located message and the allowed range",
          "[scenario][errors]") {
  struct Case {
    const char* rule;
    std::string lines;
    std::string expected;
  };
  // The H100's range: caps from its 200 W minimum power limit to its 700 W board
  // limit; clocks from 1980 * ((200 - 68.4) / (700 - 68.4))^(1/3) = 1173.8 MHz (68.4 W
  // its bare idle), rounded up to 1174, to its 1980 MHz maximum.
  const std::string h100 = "  gpu: h100-sxm\n";
  const std::vector<Case> cases = {
      {"a cap above the board limit", h100 + "  gpu_power_cap_w: 800\n",
       "test.yaml:6:20: cluster.gpu_power_cap_w must be in [200, 700] W for h100-sxm (its minimum power limit to its "
       "board limit), got 800"},
      {"a cap below the minimum power limit", h100 + "  gpu_power_cap_w: 150\n",
       "test.yaml:6:20: cluster.gpu_power_cap_w must be in [200, 700] W for h100-sxm (its minimum power limit to its "
       "board limit), got 150"},
      {"a cap that is not finite", h100 + "  gpu_power_cap_w: .inf\n",
       "test.yaml:6:20: cluster.gpu_power_cap_w: expected a finite number, got '.inf'"},
      {"a cap that is not a number", h100 + "  gpu_power_cap_w: low\n",
       "test.yaml:6:20: cluster.gpu_power_cap_w: expected a number, got 'low'"},
      {"a clock above the maximum", h100 + "  gpu_clock_mhz: 2100\n",
       "test.yaml:6:18: cluster.gpu_clock_mhz must be in [1174, 1980] MHz for h100-sxm (from the clock a "
       "compute-bound kernel runs at under its 200 W minimum power limit to its maximum SM clock), got 2100"},
      {"a clock below the range modelled", h100 + "  gpu_clock_mhz: 1100\n",
       "test.yaml:6:18: cluster.gpu_clock_mhz must be in [1174, 1980] MHz for h100-sxm (from the clock a "
       "compute-bound kernel runs at under its 200 W minimum power limit to its maximum SM clock), got 1100"},
      {"a clock that is not finite", h100 + "  gpu_clock_mhz: .nan\n",
       "test.yaml:6:18: cluster.gpu_clock_mhz: expected a finite number, got '.nan'"},
      {"a cap on a GPU whose preset gives no power-limit range", "  gpu: mi300x\n  gpu_power_cap_w: 500\n",
       "test.yaml:6:20: cluster.gpu_power_cap_w: the GPU preset mi300x gives no min_power_limit_w (the lowest power "
       "limit its driver accepts), so it cannot be capped; presets that do: a100-sxm, b200, gb200, gb300, h100-sxm, "
       "h200"},
      {"a clock on a GPU whose preset gives no clock range", "  gpu: b300\n  gpu_clock_mhz: 1500\n",
       "test.yaml:6:18: cluster.gpu_clock_mhz: the GPU preset b300 gives no max_sm_clock_mhz and min_power_limit_w "
       "(the range of clocks modelled), so its clock cannot be set; presets that do: a100-sxm, b200, gb200, gb300, "
       "h100-sxm, h200"},
      // GB200: clocks from 2062 * ((200 - 165.7) / (1200 - 165.7))^(1/3) = 662.5 MHz,
      // rounded up to 663, to 2062 MHz.
      {"a GB200 clock below its range", "  gpu: gb200\n  gpu_clock_mhz: 650\n",
       "test.yaml:6:18: cluster.gpu_clock_mhz must be in [663, 2062] MHz for gb200 (from the clock a "
       "compute-bound kernel runs at under its 200 W minimum power limit to its maximum SM clock), got 650"},
      // GB300: caps in [200, 1400] W; clocks from 2070 * ((200 - 178) / (1400 - 178))^(1/3)
      // = 542.5 MHz, rounded up to 543.
      {"a GB300 clock below its range", "  gpu: gb300\n  gpu_clock_mhz: 500\n",
       "test.yaml:6:18: cluster.gpu_clock_mhz must be in [543, 2070] MHz for gb300 (from the clock a "
       "compute-bound kernel runs at under its 200 W minimum power limit to its maximum SM clock), got 500"},
      // B200: caps in [200, 1000] W; clocks from 1965 * ((200 - 138.9) / (1000 - 138.9))^(1/3)
      // = 813.5 MHz, rounded up to 814, to 1965 MHz.
      {"a B200 cap below its minimum power limit", "  gpu: b200\n  gpu_power_cap_w: 150\n",
       "test.yaml:6:20: cluster.gpu_power_cap_w must be in [200, 1000] W for b200 (its minimum power limit to its "
       "board limit), got 150"},
      {"a B200 clock above its maximum", "  gpu: b200\n  gpu_clock_mhz: 2000\n",
       "test.yaml:6:18: cluster.gpu_clock_mhz must be in [814, 1965] MHz for b200 (from the clock a "
       "compute-bound kernel runs at under its 200 W minimum power limit to its maximum SM clock), got 2000"},
      {"a misspelt key gets a did-you-mean", h100 + "  gpu_power_cap: 350\n",
       "test.yaml:6:3: unknown key 'gpu_power_cap' in cluster; did you mean 'gpu_power_cap_w'?"},
  };
  for (const Case& c : cases) {
    INFO(c.rule);
    CHECK(error_of(c.lines) == c.expected);
  }
}
