#include "sim/scenario/gpu_clock_reader.hpp"

#include <cmath>

#include <fmt/format.h>

#include "models/clocks.hpp"
#include "sim/scenario/text_util.hpp"

namespace convsim {

namespace {

constexpr const char* kCapKey = "gpu_power_cap_w";
constexpr const char* kClockKey = "gpu_clock_mhz";

// The presets giving the figures a key needs, for the message of one that does not.
std::string presets_with(const Catalog& catalog, bool needs_clock) {
  std::vector<std::string> names;
  for (const auto& [name, gpu] : catalog.gpus) {
    if (gpu.min_power_limit_w > 0 && (!needs_clock || gpu.max_sm_clock_mhz > 0)) names.push_back(name);
  }
  return names.empty() ? "none" : join(names);
}

double read_cap_w(const MapReader& c, const Catalog& catalog, const GpuSpec& gpu) {
  const double cap_w = c.number(kCapKey);  // finite
  if (gpu.min_power_limit_w <= 0) {
    c.locator().fail(c.spot(kCapKey),
                     fmt::format("{}: the GPU preset {} gives no min_power_limit_w (the lowest power limit its "
                                 "driver accepts), so it cannot be capped; presets that do: {}",
                                 c.child_path(kCapKey), gpu.name, presets_with(catalog, false)));
  }
  if (!(gpu.min_power_limit_w <= cap_w && cap_w <= gpu.power_max_w)) {
    c.locator().fail(c.spot(kCapKey),
                     fmt::format("{} must be in [{}, {}] W for {} (its minimum power limit to its board limit), got {}",
                                 c.child_path(kCapKey), format_number(gpu.min_power_limit_w),
                                 format_number(gpu.power_max_w), gpu.name, c.get(kCapKey).Scalar()));
  }
  return cap_w;
}

double read_clock_mhz(const MapReader& c, const Catalog& catalog, const GpuSpec& gpu) {
  const double clock_mhz = c.number(kClockKey);  // finite
  if (gpu.max_sm_clock_mhz <= 0 || gpu.min_power_limit_w <= 0) {
    c.locator().fail(c.spot(kClockKey),
                     fmt::format("{}: the GPU preset {} gives no max_sm_clock_mhz and min_power_limit_w (the range "
                                 "of clocks modelled), so its clock cannot be set; presets that do: {}",
                                 c.child_path(kClockKey), gpu.name, presets_with(catalog, true)));
  }
  const double low_mhz = std::ceil(min_modelled_sm_clock_mhz(gpu));
  if (!(low_mhz <= clock_mhz && clock_mhz <= gpu.max_sm_clock_mhz)) {
    c.locator().fail(c.spot(kClockKey),
                     fmt::format("{} must be in [{}, {}] MHz for {} (from the clock a compute-bound kernel runs at "
                                 "under its {} W minimum power limit to its maximum SM clock), got {}",
                                 c.child_path(kClockKey), format_number(low_mhz), format_number(gpu.max_sm_clock_mhz),
                                 gpu.name, format_number(gpu.min_power_limit_w), c.get(kClockKey).Scalar()));
  }
  return clock_mhz;
}

}  // namespace

void read_gpu_clocks(const MapReader& c, const Catalog& catalog, ClusterSpec& spec, std::vector<std::string>& warnings) {
  ClockSettings settings;
  if (c.has(kCapKey)) settings.power_cap_w = read_cap_w(c, catalog, spec.gpu);
  if (c.has(kClockKey)) settings.sm_clock_mhz = read_clock_mhz(c, catalog, spec.gpu);
  if (settings.power_cap_w && *settings.power_cap_w < spec.gpu.power.static_w) {
    warnings.push_back(fmt::format(
        "{}: warning: {} = {} W is below {}'s static_w ({} W, a clocked-up GPU before data moves): memory-bound "
        "work and host waits are clipped to the cap without their memory traffic being slowed, so their latency "
        "under it is optimistic",
        c.locator().where(c.spot(kCapKey)), c.child_path(kCapKey), format_number(*settings.power_cap_w),
        spec.gpu.name, format_number(spec.gpu.power.static_w)));
  }
  spec.gpu_clocks = settings;
  spec.gpu_preset = spec.gpu;
  spec.gpu = at_operating_point(spec.gpu, settings);
}

}  // namespace convsim
