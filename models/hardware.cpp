#include "models/hardware.hpp"

#include <algorithm>

namespace convsim {

double GpuSpec::peak_for(Precision matmul) const {
  if (auto it = peak_flops_per_s.find(matmul); it != peak_flops_per_s.end()) return it->second;
  return peak_flops_per_s.at(Precision::bf16);
}

double GpuSpec::power_limit_w() const { return power_cap_w ? std::min(*power_cap_w, power_max_w) : power_max_w; }

}  // namespace convsim
