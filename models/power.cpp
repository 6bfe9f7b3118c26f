#include "models/power.hpp"

#include <algorithm>

namespace convsim {

double unlimited_busy_power_w(const GpuSpec& gpu, const WorkRates& rates) {
  const PowerCoefficients& k = gpu.power;
  return k.static_w + k.j_per_hbm_byte * rates.hbm_bytes_per_s + k.j_per_flop_bf16 * rates.bf16_flops_per_s +
         k.j_per_flop_fp8 * rates.fp8_flops_per_s + k.j_per_flop_fp4 * rates.fp4_flops_per_s;
}

double busy_power_w(const GpuSpec& gpu, const WorkRates& rates) {
  return std::min(unlimited_busy_power_w(gpu, rates), gpu.power_limit_w());
}

double host_wait_power_w(const GpuSpec& gpu) { return std::min(gpu.power.static_w, gpu.power_limit_w()); }

double communication_power_w(const GpuSpec& gpu) {
  return std::min(gpu.power.static_w + gpu.power.collective_w, gpu.power_limit_w());
}

TensorCorePaths tensor_core_paths(const GpuSpec& gpu, Precision weights) {
  // Matmuls run on the tensor cores of the weights' precision where the GPU has them
  // (FP4 weights on a GPU without FP4 tensor cores are dequantised to BF16).
  const bool has_peak = gpu.peak_flops_per_s.count(weights) > 0;
  TensorCorePaths paths;
  paths.fp8_matmuls = weights == Precision::fp8 && has_peak;
  paths.fp4_matmuls = (weights == Precision::nvfp4 || weights == Precision::mxfp4) && has_peak;
  // Sparse attention's indexer runs in FP8 where the GPU has FP8 tensor cores.
  paths.fp8_indexer = gpu.peak_flops_per_s.count(Precision::fp8) > 0;
  return paths;
}

WorkRates work_rates(const GpuSpec& gpu, Precision weights, const StageWork& work, double time_s) {
  return work_rates(tensor_core_paths(gpu, weights), work, time_s);
}

WorkRates work_rates(const TensorCorePaths& paths, const StageWork& work, double time_s) {
  double matmul_flops = 0;
  for (int i = 0; i < kKernelClasses; ++i) {
    if (is_matmul(static_cast<KernelClass>(i))) matmul_flops += work.by_class[i].flops;
  }
  const double fp8_indexer = paths.fp8_indexer ? work[KernelClass::indexer].flops : 0.0;
  const double fp8_flops = (paths.fp8_matmuls ? matmul_flops : 0.0) + fp8_indexer;
  const double fp4_flops = paths.fp4_matmuls ? matmul_flops : 0.0;
  WorkRates rates;
  rates.hbm_bytes_per_s = work.mean_gpu_hbm_bytes() / time_s;  // the group's mean GPU, not its busiest
  rates.fp8_flops_per_s = fp8_flops / time_s;
  rates.fp4_flops_per_s = fp4_flops / time_s;
  rates.bf16_flops_per_s = (work.flops() - fp8_flops - fp4_flops) / time_s;
  return rates;
}

}  // namespace convsim
