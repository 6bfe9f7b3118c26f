#include "models/cap_governor.hpp"

#include <algorithm>

namespace convsim {

CapGovernor::CapGovernor(const GpuSpec& preset, const ClockSettings& settings) : preset_(preset), clocked_(preset) {
  if (!settings.power_cap_w || preset.max_sm_clock_mhz <= 0) return;
  cap_w_ = *settings.power_cap_w;
  top_ = locked_clock_fraction(preset, settings);
  floor_ = std::min(top_, clock_fraction_under_cap(preset, cap_w_));
  step_ = 1.0 / preset.max_sm_clock_mhz;
  active_ = floor_ < top_;
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
  if (power_w > cap_w_) {
    double fits = floor_, over = top_;
    while (over - fits > step_) {
      const double mid = 0.5 * (fits + over);
      (power_at(mid, weights, work, launch_s, at) <= cap_w_ ? fits : over) = mid;
    }
    power_w = power_at(fits, weights, work, launch_s, at);
  }
  at.busy_power_w = std::min(power_w, clocked_.power_limit_w());  // clocked_ is at the clock found
  return at;
}

}  // namespace convsim
