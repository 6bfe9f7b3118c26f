#include "models/clocks.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace convsim {

double clock_power_fraction(double clock_fraction) { return clock_fraction * clock_fraction * clock_fraction; }

double compute_bound_power_w(const GpuSpec& gpu, double clock_fraction) {
  return gpu.power_bare_idle_w + (gpu.power_max_w - gpu.power_bare_idle_w) * clock_power_fraction(clock_fraction);
}

double clock_fraction_under_cap(const GpuSpec& gpu, double cap_w) {
  assert(cap_w > gpu.power_bare_idle_w && "a cap at or below the lowest clock's power leaves no clock");
  const double fraction = (cap_w - gpu.power_bare_idle_w) / (gpu.power_max_w - gpu.power_bare_idle_w);
  return std::min(1.0, std::cbrt(fraction));
}

double min_modelled_sm_clock_mhz(const GpuSpec& gpu) {
  assert(gpu.max_sm_clock_mhz > 0 && gpu.min_power_limit_w > gpu.power_bare_idle_w);
  return gpu.max_sm_clock_mhz * clock_fraction_under_cap(gpu, gpu.min_power_limit_w);
}

void set_clock(const GpuSpec& preset, double x, std::optional<double> cap_w, GpuSpec& out) {
  assert(x > 0 && x <= 1 && "a clock between zero and the maximum");
  assert(out.peak_flops_per_s.size() == preset.peak_flops_per_s.size() && "out is a copy of the preset");
  auto from = preset.peak_flops_per_s.begin();
  for (auto& entry : out.peak_flops_per_s) entry.second = (from++)->second * x;
  // The voltage the clock sets: every kernel's clock-driven power follows it.
  PowerCoefficients& k = out.power;
  const double v2 = x * x;
  const double v2f = clock_power_fraction(x);
  const double floor_w = preset.power_bare_idle_w;
  k.static_w = floor_w + (preset.power.static_w - floor_w) * v2f;
  k.collective_w = preset.power.collective_w * v2f;
  // A byte's trip across the chip (L2, crossbar) is clocked with the SMs; its access
  // in the HBM devices is not.
  const double device_j = std::min(preset.power.j_per_hbm_byte, kHbmDeviceJPerByte);
  k.j_per_hbm_byte = device_j + (preset.power.j_per_hbm_byte - device_j) * v2;
  k.j_per_flop_bf16 = preset.power.j_per_flop_bf16 * v2;
  k.j_per_flop_fp8 = preset.power.j_per_flop_fp8 * v2;
  k.j_per_flop_fp4 = preset.power.j_per_flop_fp4 * v2;
  // The most it draws: the cap, or what a compute-bound kernel draws at this clock,
  // whichever is lower.
  const double at_clock_w = compute_bound_power_w(preset, x);
  out.power_cap_w = cap_w ? std::min(*cap_w, at_clock_w) : at_clock_w;
  // A GPU with nothing to run keeps its context's clock: its draw above the bare idle
  // follows the clock too, and the power manager holds it under the cap.
  const double idle_w = floor_w + (preset.power_idle_w - floor_w) * v2f;
  out.power_idle_w = std::min(idle_w, *out.power_cap_w);
  out.compute_clock_fraction = x;
}

double locked_clock_fraction(const GpuSpec& gpu, const ClockSettings& settings) {
  return settings.sm_clock_mhz ? *settings.sm_clock_mhz / gpu.max_sm_clock_mhz : 1.0;
}

GpuSpec at_operating_point(const GpuSpec& gpu, const ClockSettings& settings) {
  if (!settings.power_cap_w && !settings.sm_clock_mhz) return gpu;
  const double locked = locked_clock_fraction(gpu, settings);
  const double capped = settings.power_cap_w ? clock_fraction_under_cap(gpu, *settings.power_cap_w) : 1.0;
  assert(locked > 0 && locked <= 1 && "the clock is checked against the GPU's range by the loader");
  const double compute = std::min(locked, capped);
  GpuSpec out = gpu;
  set_clock(gpu, locked, settings.power_cap_w, out);  // power at the locked clock
  for (auto& [precision, peak] : out.peak_flops_per_s) peak = gpu.peak_flops_per_s.at(precision) * compute;
  out.compute_clock_fraction = compute;
  return out;
}

}  // namespace convsim
