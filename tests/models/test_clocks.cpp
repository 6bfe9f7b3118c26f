// Power caps and locked clocks (models/clocks.hpp): the formulas worked out here by
// hand, and the capped H100 against Splitwise's DGX-H100 measurement.

#include <cmath>
#include <vector>

#include <catch2/catch.hpp>

#include "models/clocks.hpp"
#include "models/power.hpp"
#include "models/roofline.hpp"
#include "models/transformer_cost.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;

namespace {

const GpuSpec& h100() { return test::catalog().gpus.at("h100-sxm"); }

GpuSpec capped_h100(double cap_w) { return at_operating_point(h100(), ClockSettings{cap_w, std::nullopt}); }

// Llama-3.1-70B at TP8 on one DGX, as Splitwise ran Llama2-70B: one GPU's share.
StageWork llama70b_tp8(const std::vector<SequenceWork>& batch) {
  return stage_work(test::catalog().models.at("llama-3.1-70b"), {}, Sharding{8, 1, 0}, batch);
}

double time_s(const GpuSpec& gpu, const StageWork& w) { return stage_time(gpu, Precision::bf16, w).compute_s; }

}  // namespace

TEST_CASE("under a cap the clock is where a compute-bound kernel's power, bare idle + (limit - bare idle) x^3, meets it") {
  const GpuSpec& gpu = h100();
  REQUIRE(gpu.power_bare_idle_w == 68.4);
  REQUIRE(gpu.power_idle_w == 100);
  REQUIRE(gpu.power_max_w == 700);
  // (350 - 68.4) / (700 - 68.4) = 0.44585; its cube root 0.76395.
  const GpuSpec capped = capped_h100(350);
  CHECK(capped.compute_clock_fraction == Approx(std::cbrt(281.6 / 631.6)).epsilon(1e-12));
  CHECK(capped.compute_clock_fraction == Approx(0.76395).epsilon(1e-4));
  // A GPU with nothing to run keeps drawing its idle with a context, under the cap.
  CHECK(capped.power_idle_w == 100);
  CHECK(capped.power_limit_w() == 350);
  for (const auto& [precision, peak] : gpu.peak_flops_per_s) {
    CHECK(capped.peak_flops_per_s.at(precision) == Approx(peak * capped.compute_clock_fraction).epsilon(1e-12));
  }
  // A cap leaves the clock up for work that fits under it: coefficients unchanged,
  // and HBM bandwidth never follows the SM clock.
  CHECK(capped.power.static_w == gpu.power.static_w);
  CHECK(capped.power.j_per_flop_bf16 == gpu.power.j_per_flop_bf16);
  CHECK(capped.hbm_bytes_per_s == gpu.hbm_bytes_per_s);
  // At the board limit nothing changes.
  const GpuSpec at_limit = capped_h100(700);
  CHECK(at_limit.compute_clock_fraction == 1.0);
  CHECK(at_limit.peak_flops_per_s == gpu.peak_flops_per_s);
  CHECK(at_limit.power_limit_w() == 700);
  // No settings: the preset itself.
  const GpuSpec same = at_operating_point(gpu, ClockSettings{});
  CHECK_FALSE(same.power_cap_w);
  CHECK(same.power_limit_w() == gpu.power_max_w);
}

TEST_CASE("a locked clock scales the peaks by f / f_max, a FLOP's energy by (f / f_max)^2, the clocked-up power by the cube") {
  const GpuSpec& gpu = h100();
  REQUIRE(gpu.max_sm_clock_mhz == 1980);
  const double x = 1485.0 / 1980.0;  // 0.75
  const GpuSpec locked = at_operating_point(gpu, ClockSettings{std::nullopt, 1485.0});
  CHECK(locked.compute_clock_fraction == Approx(0.75).epsilon(1e-12));
  CHECK(locked.peak_flops_per_s.at(Precision::bf16) == Approx(gpu.peak_flops_per_s.at(Precision::bf16) * 0.75));
  CHECK(locked.power.j_per_flop_bf16 == Approx(gpu.power.j_per_flop_bf16 * 0.5625).epsilon(1e-12));
  CHECK(locked.power.j_per_flop_fp8 == Approx(gpu.power.j_per_flop_fp8 * 0.5625).epsilon(1e-12));
  // A byte's access in the HBM devices, 3.9 pJ a bit (HBM2, O'Connor et al., MICRO
  // 2017), is on the memory's clock; its trip across the chip scales as a FLOP's.
  const double device_j = 3.9e-12 * 8;
  CHECK(locked.power.j_per_hbm_byte == Approx(device_j + (gpu.power.j_per_hbm_byte - device_j) * 0.5625).epsilon(1e-12));
  // The clocked-up part of the static draw, above the bare idle, scales by the cube:
  // 68.4 + (static - 68.4) * 0.421875; so does the idle with a context:
  // 68.4 + (100 - 68.4) * 0.421875 = 81.73 W.
  CHECK(locked.power.static_w == Approx(68.4 + (gpu.power.static_w - 68.4) * x * x * x).epsilon(1e-12));
  CHECK(locked.power_idle_w == Approx(68.4 + 31.6 * 0.421875).epsilon(1e-12));
  // A compute-bound kernel at 0.75 of the clock: 68.4 + 631.6 * 0.421875 = 334.86 W.
  CHECK(locked.power_limit_w() == Approx(334.85625).epsilon(1e-12));
  // A lock and a stricter cap: the cap's clock wins for compute-bound kernels, the
  // lock's voltage sets the coefficients.
  const GpuSpec both = at_operating_point(gpu, ClockSettings{250.0, 1485.0});
  CHECK(both.compute_clock_fraction == Approx(std::cbrt(181.6 / 631.6)).epsilon(1e-12));
  CHECK(both.power.static_w == Approx(locked.power.static_w));
  CHECK(both.power_limit_w() == 250);
}

TEST_CASE("the lowest clock modelled is the one a compute-bound kernel runs at under the minimum power limit") {
  const GpuSpec& gpu = h100();
  REQUIRE(gpu.min_power_limit_w == 200);
  // 1980 * ((200 - 68.4) / 631.6)^(1/3) = 1980 * 0.59284 = 1173.8 MHz
  CHECK(min_modelled_sm_clock_mhz(gpu) == Approx(1980 * std::cbrt(131.6 / 631.6)).epsilon(1e-12));
  CHECK(min_modelled_sm_clock_mhz(gpu) == Approx(1173.8).epsilon(1e-4));
}

TEST_CASE("a cap between a GPU's bare idle and its idle with a context is allowed: a GPU with nothing to run draws the cap") {
  // The GB300 capture: 178 W with no process at its lowest clock, a 200 W minimum
  // power limit, 204 W idle with a context (178 + 26). At the 200 W minimum a
  // compute-bound kernel runs at ((200 - 178) / (1400 - 178))^(1/3) = 0.2621 of
  // its clock, and a GPU with nothing to run is held to 200 W.
  const GpuSpec& gb300 = test::catalog().gpus.at("gb300");
  REQUIRE(gb300.power_bare_idle_w == 178);
  REQUIRE(gb300.power_idle_w == 204);
  REQUIRE(gb300.min_power_limit_w == 200);
  const GpuSpec capped = at_operating_point(gb300, ClockSettings{200.0, std::nullopt});
  CHECK(capped.compute_clock_fraction == Approx(std::cbrt(22.0 / 1222.0)).epsilon(1e-12));
  CHECK(capped.compute_clock_fraction == Approx(0.2621).epsilon(1e-3));
  CHECK(capped.power_idle_w == 200);
  CHECK(host_wait_power_w(capped) == 200);
  // Where the idle with a context fits under the cap it is kept: a GB200 (165.7 W
  // bare, 191.7 W with a context) at its 200 W minimum.
  const GpuSpec& gb200 = test::catalog().gpus.at("gb200");
  REQUIRE(gb200.power_idle_w == Approx(191.7));
  CHECK(at_operating_point(gb200, ClockSettings{200.0, std::nullopt}).power_idle_w == Approx(191.7));
}

TEST_CASE("under a 350 W cap, half its board limit, an H100's compute-bound prefill slows by Splitwise's 1.3x, within 5%") {
  // Splitwise (ISCA 2024) on DGX-H100: prompt phases 1.30x slower power-capped,
  // token phases 1.00x (its simulator's h100-80gb-pcap rows, for prompts of 128 to
  // 8192 tokens). The model: at most 1 / 0.7639 = 1.309x (1% above 1.30), reached
  // where a prefill is wholly compute-bound. Its GEMMs are (BF16: 2 FLOPs per 2-byte
  // weight per token, so ~N FLOP/byte against a ridge of 989e12 * 0.72 / (3.35e12 *
  // 0.90) = 236), but its elementwise kernels stay memory-bound and its launch times
  // fixed, and neither slows: they weigh less in longer prompts. From 2048 tokens up
  // the slowdown lies in [1.30 * 0.95, 1.30 * 1.05] = [1.235, 1.365]; shorter
  // prompts slow less.
  const GpuSpec capped = capped_h100(350);
  CHECK(1 / capped.compute_clock_fraction == Approx(1.30).epsilon(0.05));
  for (long tokens : {2048L, 4096L, 8192L}) {
    const StageWork w = llama70b_tp8({SequenceWork{tokens, 0, true}});
    const double slowdown = time_s(capped, w) / time_s(h100(), w);
    INFO(tokens << " prompt tokens. Expectation: 1.30 (Splitwise), at most " << 1 / capped.compute_clock_fraction
                << " (the model's compute-bound limit)  Actual: " << slowdown);
    CHECK(slowdown == Approx(1.30).epsilon(0.05));
    CHECK(slowdown <= 1 / capped.compute_clock_fraction + 1e-12);
  }
}

TEST_CASE("under a 350 W cap an H100's memory-bound decode slows by less than 5%") {
  // A decode step of up to 64 sequences (Splitwise's largest batch) streams the
  // weights and KV cache: the compute part of the blended roofline is small, and
  // only it slows by 1 / 0.7639.
  const GpuSpec capped = capped_h100(350);
  for (int batch : {1, 8, 32, 64}) {
    const StageWork w = llama70b_tp8(std::vector<SequenceWork>(static_cast<std::size_t>(batch), SequenceWork{1, 2000, true}));
    const double slowdown = time_s(capped, w) / time_s(h100(), w);
    INFO("batch " << batch << ". Expectation: under 1.05 (Splitwise: 1.00)  Actual: " << slowdown);
    CHECK(slowdown >= 1.0);
    CHECK(slowdown < 1.05);
  }
}

TEST_CASE("no busy, waiting or collective power exceeds the cap, and a compute-bound prefill draws exactly the cap") {
  const std::vector<std::vector<SequenceWork>> batches = {
      {SequenceWork{8192, 0, true}},                                   // compute-bound prefill
      std::vector<SequenceWork>(64, SequenceWork{1, 2000, true}),      // memory-bound decode
      {SequenceWork{2048, 30000, true}, SequenceWork{1, 500, true}},  // mixed
  };
  for (const auto& [name, gpu] : test::catalog().gpus) {
    if (gpu.min_power_limit_w <= 0) continue;  // no cap can be set
    for (double cap_w : {gpu.min_power_limit_w, (gpu.min_power_limit_w + gpu.power_max_w) / 2, gpu.power_max_w}) {
      const GpuSpec capped = at_operating_point(gpu, ClockSettings{cap_w, std::nullopt});
      for (const auto& batch : batches) {
        const StageWork w = llama70b_tp8(batch);
        const double t = time_s(capped, w);
        const double p = busy_power_w(capped, work_rates(capped, Precision::bf16, w, t));
        INFO(name << " capped at " << cap_w << " W, " << batch.size() << " sequences: " << p << " W");
        CHECK(p <= cap_w);
      }
      CHECK(host_wait_power_w(capped) <= cap_w);
      CHECK(capped.power_idle_w <= cap_w);
      CHECK(communication_power_w(capped) <= cap_w);
    }
  }
  // The fitted H100 model puts a compute-bound prefill above the board limit (hence
  // the cap there); capped, at its lower clock, it still reaches the cap.
  const GpuSpec capped = capped_h100(350);
  const StageWork prefill = llama70b_tp8({SequenceWork{8192, 0, true}});
  const double t = time_s(capped, prefill);
  CHECK(busy_power_w(capped, work_rates(capped, Precision::bf16, prefill, t)) == 350);
}

TEST_CASE("a cap that a decode's power fits under leaves that power as it was") {
  // An H100 decoding draws ~410-490 W at batch 8 (ML.ENERGY); under a 600 W cap its
  // clock stays up and it draws what it drew uncapped (its time barely changes).
  const GpuSpec capped = capped_h100(600);
  const StageWork decode = llama70b_tp8(std::vector<SequenceWork>(8, SequenceWork{1, 2000, true}));
  const double t_ref = time_s(h100(), decode);
  const double p_ref = busy_power_w(h100(), work_rates(h100(), Precision::bf16, decode, t_ref));
  const double t = time_s(capped, decode);
  const double p = busy_power_w(capped, work_rates(capped, Precision::bf16, decode, t));
  INFO("uncapped " << p_ref << " W over " << t_ref << " s; capped at 600 W: " << p << " W over " << t << " s");
  REQUIRE(p_ref < 600);
  // The same J per byte and per FLOP over a (slightly) longer step.
  CHECK(p * t == Approx(p_ref * t_ref + capped.power.static_w * (t - t_ref)).epsilon(1e-9));
}

TEST_CASE("the measured GPUs' fitted power puts their tensor cores at the BF16 roof at the board limit, the premise of the cap") {
  // models/clocks.hpp sets the clock a cap leaves from a compute-bound kernel drawing
  // the board limit at the maximum clock; tools/fit_serving.py fits the H100 and B200
  // on that line (ML.ENERGY's heaviest rows run at 685-694 W of 700 and 945-976 W of
  // 1,000). static_w + j_per_flop_bf16 x peak x efficiency.compute = power_max_w, to
  // the 4 significant digits the catalog writes (the energy per FLOP rounded down).
  for (const char* name : {"h100-sxm", "b200"}) {
    const GpuSpec& gpu = test::catalog().gpus.at(name);
    const double roof_w =
        gpu.power.static_w + gpu.power.j_per_flop_bf16 * gpu.peak_for(Precision::bf16) * gpu.efficiency.compute;
    INFO(name << ": " << roof_w << " W at the roof, board limit " << gpu.power_max_w << " W");
    CHECK(roof_w <= gpu.power_max_w * (1 + 5e-4));
    CHECK(roof_w >= gpu.power_max_w * (1 - 5e-4));
  }
}
