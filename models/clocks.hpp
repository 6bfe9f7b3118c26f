#pragma once
// A GPU run below its defaults: a power cap (nvidia-smi -pl) or a locked SM clock
// (nvidia-smi -lgc), applied once, before time starts, to the GpuSpec a run uses.
//
// The fitted efficiencies and power coefficients hold at the GPU's maximum SM clock
// (gpu.max_sm_clock_mhz, nvidia-smi's "Max Clocks SM", up to which it boosts unless
// power limits it). With x = SM clock / that clock:
//
//   time   Tensor-core peaks scale by x: compute-bound kernels take 1/x as long.
//          HBM has its own clock and voltage, which the SM clock does not move, so
//          a memory-bound kernel slows only by its compute part in the blended
//          roofline (models/roofline.hpp): under 5% for a decode batch far below the
//          ridge point. Launch and elementwise overheads are held fixed.
//   power  Dynamic CMOS power is a C V^2 f, and DVFS lowers the core voltage with
//          the clock (Mei, Wang and Chu, "A Survey and Measurement Study of GPU DVFS
//          on Energy Conservation", Digital Communications and Networks 3(2), 2017).
//          Taking V proportional to f over the range modelled, the clock-driven
//          power goes as x^3: the energy of a FLOP (C V^2) scales by x^2, the power
//          a clocked-up GPU draws above its bare idle before data moves (static_w -
//          power_bare_idle_w: clock tree, schedulers) by x^3, and so does an idle
//          GPU's draw above it (power_idle_w - power_bare_idle_w, what an open
//          context keeps clocked up). An HBM byte's energy (j_per_hbm_byte, about
//          130-150 pJ fitted) is mostly its trip across the chip, through the L2
//          and the crossbar, clocked and powered with the SMs: that part scales by
//          x^2. Its access in the HBM devices, about 3.9 pJ a bit (31 pJ a byte:
//          HBM2, O'Connor et al., "Fine-Grained DRAM", MICRO 2017), is on the
//          memory's own clock and voltage and does not scale. Under a power cap
//          the memory clock stays where it is and the SM clock falls (a 315 W cap
//          on an RTX 3090: sw_power_cap active in every busy sample, memory clock
//          at its full 9,501 MHz in every one; ashalliants/ninfer-3090 PR 72);
//          DeepGEMM's maintainers name the L2's share of the power under the limit
//          as what their larger L2 reuse cut (deepseek-ai/DeepGEMM issue 120). The
//          exponent is this assumption's, checked below against Splitwise's
//          measurement rather than fitted to it.
//   floor  power_bare_idle_w is measured where the clock-driven part vanishes:
//          nvidia-smi of a GPU with no process sits at P0 with its SM clock at the
//          lowest it supports (345 MHz on an H100, 120 MHz on a B200, 6-17% of the
//          maximum, where x^3 < 0.5%) and draws 67-71 W (H100) or 194-206 W (B200)
//          (real-hardware captures cited in the GPU presets). It is the base P(x)
//          starts from; where a preset gives no reading, power_idle_w stands for it.
//   cap    At its maximum clock a compute-bound kernel draws the board limit (the
//          fitted model caps there), so at clock x it draws
//            P(x) = power_bare_idle_w + (power_max_w - power_bare_idle_w) * x^3.
//          Under a cap C the GPU's power management lowers the clock until P(x) = C:
//            x_cap = ((C - power_bare_idle_w) / (power_max_w - power_bare_idle_w))^(1/3).
//          For an H100 SXM (68.4 W bare idle, 700 W board limit) at 350 W, 50% of
//          its board limit: x_cap = (281.6 / 631.6)^(1/3) = 0.764, so a
//          compute-bound prefill takes 1.31x as long. Splitwise (Patel et al., ISCA
//          2024) measured prompt phases 1.3x slower on power-capped DGX-H100s and
//          token phases unchanged: its simulator's h100-80gb-pcap rows
//          (Mutinifni/splitwise-sim data/perf_model.csv) are 1.30x the H100 prompt
//          times and 1.00x the token times for every prompt size and batch, with the
//          capped DGX at 7,140 W, 70% of the DGX-H100's 10,200 W
//          (configs/hardware_repo/skus/dgx-h100-pcap.yaml). The 3,060 W taken off
//          the machine, borne by its 8 GPUs, leaves each 700 - 3060 / 8 = 318 W; the
//          paper's setting is each GPU at 50%, 350 W, the cap tests/models/
//          test_clocks.cpp holds the model to 1.3x at (within 5%).
//
// Under a cap the clock follows the work, as the GPU's power management does: it
// lowers the SM clock while the board would draw more than the limit (nvidia-smi
// --help-query-gpu, clocks_throttle_reasons.sw_power_cap: "SW Power Scaling
// algorithm is reducing the clocks below requested clocks because the GPU is
// consuming too much power"; NVML's nvmlClocksThrottleReasonSwPowerCap). Each stage of each iteration runs at the highest
// clock, at most the locked one (or the maximum), at which its power at that clock
// (coefficients as above) fits under the cap; found by bisection to within 1 MHz
// (sim/engine/iteration_cost.cpp). Power rises with the clock (static and per-FLOP
// terms with it, byte and FLOP rates with the shorter time), so the search is well
// posed. A compute-bound stage lands at x_cap, or below it when it also moves bytes
// (their HBM access draws the same at any clock, leaving less of the cap to the
// clocked part); a memory-bound decode step fits at a clock well below its locked
// one and slows by its compute part only. The floor is the lowest clock the model
// covers (min_modelled_sm_clock_mhz); work that still draws more there is clipped
// to the cap. A cap a compute-bound kernel fits under at the top clock (the board
// limit, where the fitted figures were measured and clip) leaves the governor off.
// A locked clock without a cap applies to all work.
//
// The scenario's GpuSpec (at_operating_point) holds the compute-bound clock's peaks
// and the locked clock's power: what everything outside a stage's busy time uses
// (host and collective waits, work shares, a GPU with nothing to run), and what the
// search starts from. A cap may lie below power_idle_w (a B200's 200 W minimum limit
// is below its 226 W idle with a context): a GPU with nothing to run then draws the
// cap, its clock lowered as for work.

#include <optional>

#include "models/hardware.hpp"

namespace convsim {

// What a scenario asks of its GPUs (cluster.gpu_power_cap_w, cluster.gpu_clock_mhz).
struct ClockSettings {
  std::optional<double> power_cap_w;
  std::optional<double> sm_clock_mhz;
};

// The energy of a byte's access in the HBM devices, which no SM clock moves: 3.9 pJ
// a bit for HBM2 (O'Connor et al., MICRO 2017), taken for every HBM generation.
inline constexpr double kHbmDeviceJPerByte = 3.9e-12 * 8;

// x^3: the clock-driven power at clock fraction x of the maximum clock, as a
// fraction of its value there.
double clock_power_fraction(double clock_fraction);

// Power of a compute-bound kernel at clock fraction x (formula above).
double compute_bound_power_w(const GpuSpec& gpu, double clock_fraction);

// The clock fraction at which a compute-bound kernel draws cap_w, at most 1.
// REQUIRES: gpu.power_bare_idle_w < cap_w.
double clock_fraction_under_cap(const GpuSpec& gpu, double cap_w);

// The lowest clock the model covers: the one a compute-bound kernel runs at under the
// GPU's minimum power limit (below it the core voltage stops following the clock).
// REQUIRES: gpu.max_sm_clock_mhz > 0 and gpu.min_power_limit_w > gpu.power_bare_idle_w.
double min_modelled_sm_clock_mhz(const GpuSpec& gpu);

// `preset` at clock fraction x of its maximum SM clock: peaks times x, the
// clock-driven power at x (formulas above), power_cap_w the lower of `cap_w` and
// what a compute-bound kernel draws at x, power_idle_w its value at x but at most
// power_cap_w; compute_clock_fraction x. Written into
// `out`, a copy of `preset` (or of an earlier call's `out`): only numbers change,
// nothing is allocated. REQUIRES: 0 < x <= 1.
void set_clock(const GpuSpec& preset, double x, std::optional<double> cap_w, GpuSpec& out);

// The locked clock's fraction of the maximum (1 without one).
double locked_clock_fraction(const GpuSpec& gpu, const ClockSettings& settings);

// `gpu` at the operating point `settings` asks for: peaks scaled by the clock
// compute-bound kernels run at (the locked clock, or lower if the cap needs it),
// power coefficients at the locked clock, and power_cap_w set to the cap or, with a
// locked clock only, to what a compute-bound kernel draws at it. No settings: `gpu`.
// REQUIRES: the settings are within the GPU's range (checked by the scenario loader).
GpuSpec at_operating_point(const GpuSpec& gpu, const ClockSettings& settings);

}  // namespace convsim
