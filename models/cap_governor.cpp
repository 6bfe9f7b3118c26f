#include "models/cap_governor.hpp"

#include <algorithm>

namespace convsim {

CapGovernor::CapGovernor(const GpuSpec& preset, const ClockSettings& settings) : preset_(preset), clocked_(preset) {
  if (!settings.power_cap_w || preset.max_sm_clock_mhz <= 0) return;
  cap_w_ = *settings.power_cap_w;
  top_ = locked_clock_fraction(preset, settings);
  // Active where a compute-bound kernel at the top clock draws more than the cap; the
  // clock may then fall as low as the model covers, the one a compute-bound kernel
  // runs at under the GPU's minimum power limit.
  active_ = clock_fraction_under_cap(preset, cap_w_) < top_;
  const double lowest_w =
      preset.min_power_limit_w > preset.power_bare_idle_w ? std::min(cap_w_, preset.min_power_limit_w) : cap_w_;
  floor_ = std::min(top_, clock_fraction_under_cap(preset, lowest_w));
  step_ = 1.0 / preset.max_sm_clock_mhz;
}

double CapGovernor::power_at(double x, Precision weights, const StageWork& work, double launch_s,
                             StageRun& out) const {
  set_clock(preset_, x, cap_w_, clocked_);
  out.timing = stage_time(clocked_, weights, work);
  out.timing.compute_s += launch_s;
  out.rates = work_rates(clocked_, weights, work, out.timing.compute_s);
  out.clock_fraction = x;
  return unlimited_busy_power_w(clocked_, out.rates);
}

CapGovernor::StageRun CapGovernor::run(Precision weights, const StageWork& work, double launch_s) const {
  StageRun at;
  double power_w = power_at(top_, weights, work, launch_s, at);
  if (power_w <= cap_w_) {
    // Fits at the top clock: drawn as at that clock without a cap.
    at.busy_power_w = std::min(power_w, clocked_.power_limit_w());
    return at;
  }
  double fits = floor_, over = top_;
  while (over - fits > step_) {
    const double mid = 0.5 * (fits + over);
    (power_at(mid, weights, work, launch_s, at) <= cap_w_ ? fits : over) = mid;
  }
  power_w = power_at(fits, weights, work, launch_s, at);
  // Below the top clock the cap is the limit: what the stage's terms draw there,
  // HBM accesses included, the cap holding it at the floor.
  at.busy_power_w = std::min(power_w, cap_w_);
  return at;
}

}  // namespace convsim
