#pragma once
// Under a power cap, the SM clock each stage of an iteration runs at, as the GPU's
// power management picks it (models/clocks.hpp explains the model and its sources):
// the highest clock, at most the locked one (or the maximum), at which the stage's
// busy power at that clock fits under the cap. Found by bisection between the lowest
// clock the model covers (a compute-bound kernel's under the GPU's minimum power
// limit: below it the core voltage stops following the clock) and the top clock, to
// within 1 MHz. Power rises with the clock (its static, per-FLOP and on-chip per-byte
// terms with the voltage, its byte and FLOP rates with the shorter time), so the
// clock found is the one the cap allows. Work that still draws more at the floor is
// clipped to the cap there.

#include <optional>

#include "models/clocks.hpp"
#include "models/power.hpp"
#include "models/roofline.hpp"

namespace convsim {

class CapGovernor {
 public:
  // `preset`: the GPU preset before any operating point (its maximum clock, no cap).
  // Inactive without a cap, or with one that a compute-bound kernel fits under at the
  // top clock (then the clock is the locked one for all work: at_operating_point).
  CapGovernor(const GpuSpec& preset, const ClockSettings& settings);
  bool active() const { return active_; }

  struct StageRun {
    StageTiming timing;
    WorkRates rates;           // zero when timing.compute_s is 0
    double busy_power_w = 0;   // over timing.compute_s, at most the cap and a compute-bound kernel's draw at the clock
    double clock_fraction = 1; // of the maximum SM clock
  };
  // `work` at the clock the cap allows; `launch_s` (host launches, clock-free) is
  // added to its compute time. REQUIRES: active(); work takes some compute time.
  StageRun run(Precision weights, const StageWork& work, double launch_s) const;

 private:
  // The stage at clock fraction x: its timing, rates and power before the cap.
  double power_at(double x, Precision weights, const StageWork& work, double launch_s, StageRun& out) const;

  GpuSpec preset_;
  mutable GpuSpec clocked_;  // preset_ re-clocked in place: nothing allocated per stage
  bool active_ = false;
  double floor_ = 1, top_ = 1;  // clock fractions
  double cap_w_ = 0;
  double step_ = 0;  // 1 MHz as a fraction of the maximum clock
};

}  // namespace convsim
