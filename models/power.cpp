#include "models/power.hpp"

#include <algorithm>

namespace convsim {

double busy_power_w(const GpuSpec& gpu, const WorkRates& rates) {
  const PowerCoefficients& k = gpu.power;
  const double p = k.static_w + k.j_per_hbm_byte * rates.hbm_bytes_per_s + k.j_per_flop_bf16 * rates.bf16_flops_per_s +
                   k.j_per_flop_fp8 * rates.fp8_flops_per_s;
  return std::min(p, gpu.power_max_w);
}

double host_wait_power_w(const GpuSpec& gpu) { return std::min(gpu.power.static_w, gpu.power_max_w); }

double communication_power_w(const GpuSpec& gpu) {
  return std::min(gpu.power.static_w + gpu.power.collective_w, gpu.power_max_w);
}

}  // namespace convsim
