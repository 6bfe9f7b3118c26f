#include "models/hardware.hpp"

namespace convsim {

double GpuSpec::peak_for(Precision matmul) const {
  if (auto it = peak_flops_per_s.find(matmul); it != peak_flops_per_s.end()) return it->second;
  return peak_flops_per_s.at(Precision::bf16);
}

}  // namespace convsim
