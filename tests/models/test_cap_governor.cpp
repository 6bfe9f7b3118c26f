// Under a power cap each stage runs at the highest clock at which it fits
// (models/cap_governor.hpp): work that fits at the top clock keeps it, work that
// does not is slowed only as far as the cap needs, and compute-bound work lands at
// the clock a compute-bound kernel runs at under the cap (models/clocks.hpp).

#include <vector>

#include <catch2/catch.hpp>

#include "models/cap_governor.hpp"
#include "models/clocks.hpp"
#include "models/power.hpp"
#include "models/roofline.hpp"
#include "models/transformer_cost.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;

namespace {

const GpuSpec& h100() { return test::catalog().gpus.at("h100-sxm"); }

StageWork llama70b_tp8(const std::vector<SequenceWork>& batch) {
  return stage_work(test::catalog().models.at("llama-3.1-70b"), {}, Sharding{8, 1, 0}, batch);
}

std::vector<SequenceWork> decode(int batch, long context) {
  return std::vector<SequenceWork>(static_cast<std::size_t>(batch), SequenceWork{1, context, true});
}

// The stage's power before any limit at clock fraction x (models/clocks.hpp's
// formulas through set_clock).
double power_at_w(double x, const StageWork& w) {
  GpuSpec g = h100();
  set_clock(h100(), x, std::nullopt, g);
  const double t = stage_time(g, Precision::bf16, w).compute_s;
  return unlimited_busy_power_w(g, work_rates(g, Precision::bf16, w, t));
}

}  // namespace

TEST_CASE("a cap is governed only when it binds below the locked clock") {
  CHECK_FALSE(CapGovernor(h100(), ClockSettings{}).active());
  CHECK_FALSE(CapGovernor(h100(), ClockSettings{std::nullopt, 1500.0}).active());
  CHECK(CapGovernor(h100(), ClockSettings{350.0, std::nullopt}).active());
  // Locked at 1,200 MHz, a compute-bound kernel draws 68.4 + 631.6 (1200/1980)^3 =
  // 209.0 W: a 210 W cap never binds, a 205 W one does.
  CHECK_FALSE(CapGovernor(h100(), ClockSettings{210.0, 1200.0}).active());
  CHECK(CapGovernor(h100(), ClockSettings{205.0, 1200.0}).active());
}

TEST_CASE("under a cap, work that fits at the maximum clock keeps it: its time and power are the uncapped ones") {
  const CapGovernor governor(h100(), ClockSettings{650.0, std::nullopt});
  const StageWork w = llama70b_tp8(decode(8, 2000));
  const double t_ref = stage_time(h100(), Precision::bf16, w).compute_s;
  const double p_ref = busy_power_w(h100(), work_rates(h100(), Precision::bf16, w, t_ref));
  REQUIRE(p_ref < 650);
  const CapGovernor::StageRun run = governor.run(Precision::bf16, w, 0.0);
  CHECK(run.clock_fraction == 1.0);
  CHECK(run.timing.compute_s == t_ref);
  CHECK(run.busy_power_w == Approx(p_ref).epsilon(1e-12));
}

TEST_CASE("under a cap, a compute-bound prefill runs where its power meets the cap, below the compute-bound clock by its HBM accesses' draw") {
  // at_operating_point's compute-bound clock is that of a kernel drawing the board
  // limit at the top clock with nothing else: ((350 - 68.4) / (700 - 68.4))^(1/3) =
  // 0.7639. An H100 whose tensor cores at their roof draw exactly the limit (static +
  // J/FLOP x peak x efficiency.compute = power_max_w, as tools/fit_serving.py fits it)
  // also moves this prefill's bytes: their access in the HBM devices (3.9 pJ a bit,
  // O'Connor et al., MICRO 2017) draws the same at any SM clock and leaves less of the
  // cap to the clocked part, so the clock lands lower. The power at that clock, its
  // terms written out here (models/clocks.hpp), meets the cap.
  GpuSpec gpu = h100();
  gpu.power.j_per_flop_bf16 =
      (gpu.power_max_w - gpu.power.static_w) / (gpu.peak_for(Precision::bf16) * gpu.efficiency.compute);
  const ClockSettings cap{350.0, std::nullopt};
  const GpuSpec capped = at_operating_point(gpu, cap);
  REQUIRE(capped.compute_clock_fraction == Approx(0.7639).epsilon(1e-4));
  const StageWork prefill = llama70b_tp8({SequenceWork{8192, 0, true}});
  const CapGovernor::StageRun run = CapGovernor(gpu, cap).run(Precision::bf16, prefill, 0.0);
  const double x = run.clock_fraction;
  CHECK(x < capped.compute_clock_fraction);
  const double t = run.timing.compute_s;
  const double device_j_per_byte = 3.9e-12 * 8;
  const double power_w = 68.4 + (gpu.power.static_w - 68.4) * x * x * x +
                         (device_j_per_byte + (gpu.power.j_per_hbm_byte - device_j_per_byte) * x * x) *
                             prefill.mean_gpu_hbm_bytes() / t +
                         gpu.power.j_per_flop_bf16 * x * x * prefill.flops() / t;
  CHECK(run.busy_power_w == Approx(power_w).epsilon(1e-9));
  CHECK(run.busy_power_w <= 350);
  CHECK(run.busy_power_w > 349);  // within 1 MHz of the cap: a few tenths of a watt
}

TEST_CASE("under a 350 W cap, an H100's governed stages slow as Splitwise measured: prefill 1.3x within 5%, decode under 5%") {
  // Splitwise (ISCA 2024), DGX-H100 with each GPU at 350 W: prompt phases 1.30x, token
  // phases 1.00x (its simulator's h100-80gb-pcap rows, Mutinifni/splitwise-sim
  // data/perf_model.csv). A decode step streams weights and KV: under the cap its
  // clock falls until the on-chip part of each byte's energy fits, and only the small
  // compute part of its blended roofline slows.
  const CapGovernor governor(h100(), ClockSettings{350.0, std::nullopt});
  for (int batch : {1, 8, 32, 64}) {
    const StageWork w = llama70b_tp8(decode(batch, 2000));
    const double slowdown = governor.run(Precision::bf16, w, 0.0).timing.compute_s /
                            stage_time(h100(), Precision::bf16, w).compute_s;
    INFO("decode batch " << batch << ": " << slowdown);
    CHECK(slowdown >= 1.0);
    CHECK(slowdown < 1.05);
  }
  for (long tokens : {4096L, 8192L}) {
    const StageWork w = llama70b_tp8({SequenceWork{tokens, 0, true}});
    const double slowdown = governor.run(Precision::bf16, w, 0.0).timing.compute_s /
                            stage_time(h100(), Precision::bf16, w).compute_s;
    INFO("prefill of " << tokens << " tokens: " << slowdown);
    CHECK(slowdown == Approx(1.30).epsilon(0.05));
  }
}

TEST_CASE("under a cap, work above the lowest modelled clock runs at the highest clock that fits: 1 MHz more exceeds the cap") {
  const double step = 1.0 / h100().max_sm_clock_mhz;
  int between = 0;
  for (double cap_w : {400.0, 500.0, 600.0}) {
    const CapGovernor governor(h100(), ClockSettings{cap_w, std::nullopt});
    // The lowest clock the model covers: a compute-bound kernel's under the 200 W minimum limit.
    const double floor = clock_fraction_under_cap(h100(), h100().min_power_limit_w);
    for (int batch : {1, 8, 32, 64, 128}) {
      for (long prompt : {0L, 256L, 1024L}) {
        std::vector<SequenceWork> work = decode(batch, 2000);
        if (prompt > 0) work.push_back(SequenceWork{prompt, 0, true});
        const StageWork w = llama70b_tp8(work);
        const CapGovernor::StageRun run = governor.run(Precision::bf16, w, 0.0);
        INFO("cap " << cap_w << " W, batch " << batch << ", prompt " << prompt << ": clock " << run.clock_fraction);
        CHECK(run.busy_power_w <= cap_w);
        CHECK(run.clock_fraction >= floor);
        if (run.clock_fraction < 1 && run.clock_fraction > floor) {
          ++between;
          CHECK(power_at_w(run.clock_fraction, w) <= cap_w);
          CHECK(power_at_w(run.clock_fraction + step, w) > cap_w);
          // Its busy power is the power at its clock, not clipped.
          CHECK(run.busy_power_w == Approx(power_at_w(run.clock_fraction, w)).epsilon(1e-12));
        }
      }
    }
  }
  CHECK(between > 0);  // some of the cases did land between the two clocks
}
