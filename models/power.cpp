#include "models/power.hpp"

#include <algorithm>

namespace convsim {

double busy_power_w(const GpuSpec& gpu, double memory_utilisation, double compute_utilisation) {
  const PowerCoefficients& k = gpu.power;
  const double load = std::clamp(k.memory * memory_utilisation + k.compute * compute_utilisation, 0.0, 1.0);
  return gpu.power_idle_w + (gpu.power_max_w - gpu.power_idle_w) * load;
}

double communication_power_w(const GpuSpec& gpu) {
  return gpu.power_idle_w + (gpu.power_max_w - gpu.power_idle_w) * std::clamp(gpu.power.communication, 0.0, 1.0);
}

}  // namespace convsim
