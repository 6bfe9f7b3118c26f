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

namespace {

double peak_of(const GpuSpec& gpu, Precision p) {
  const auto it = gpu.peak_flops_per_s.find(p);
  return it == gpu.peak_flops_per_s.end() ? 0.0 : it->second;
}

double fp4_peak(const GpuSpec& gpu) {
  return std::max(peak_of(gpu, Precision::nvfp4), peak_of(gpu, Precision::mxfp4));
}

// A precision's tensor cores at their roof: the peak at the fraction of it the GPU's
// dense GEMMs reach in that precision (efficiency.compute_fp8 for FP8, compute_fp4 for
// NVFP4 and MXFP4, compute else).
double roof_of(const GpuSpec& gpu, Precision p, double peak) {
  return peak * (p == Precision::fp8  ? gpu.efficiency.compute_fp8
                 : is_fp4(p)          ? gpu.efficiency.compute_fp4
                                      : gpu.efficiency.compute);
}

}  // namespace

double default_j_per_flop_fp8(const GpuSpec& gpu, double j_per_flop_bf16) {
  const double fp8 = peak_of(gpu, Precision::fp8);
  return fp8 > 0 ? j_per_flop_bf16 * roof_of(gpu, Precision::bf16, peak_of(gpu, Precision::bf16)) /
                       roof_of(gpu, Precision::fp8, fp8)
                 : j_per_flop_bf16 / 2;
}

double default_j_per_flop_fp4(const GpuSpec& gpu, double j_per_flop_bf16, double j_per_flop_fp8) {
  const double fp4 = fp4_peak(gpu);
  return fp4 > 0 ? j_per_flop_bf16 * roof_of(gpu, Precision::bf16, peak_of(gpu, Precision::bf16)) /
                       roof_of(gpu, Precision::nvfp4, fp4)
                 : j_per_flop_fp8 / 2;
}

std::optional<RoofOverLimit> roof_over_board_limit(const GpuSpec& gpu, const PowerCoefficients& k) {
  const struct {
    Precision precision;
    const char* key;
    double j_per_flop, peak;
  } roofs[] = {{Precision::bf16, "j_per_flop_bf16", k.j_per_flop_bf16, peak_of(gpu, Precision::bf16)},
               {Precision::fp8, "j_per_flop_fp8", k.j_per_flop_fp8, peak_of(gpu, Precision::fp8)},
               {peak_of(gpu, Precision::nvfp4) > 0 ? Precision::nvfp4 : Precision::mxfp4, "j_per_flop_fp4",
                k.j_per_flop_fp4, fp4_peak(gpu)}};
  for (const auto& roof : roofs) {
    if (roof.peak <= 0) continue;
    RoofOverLimit r;
    r.precision = roof.precision;
    r.key = roof.key;
    r.j_per_flop = roof.j_per_flop;
    r.flops_per_s = roof_of(gpu, roof.precision, roof.peak);
    r.power_w = k.static_w + roof.j_per_flop * r.flops_per_s;
    r.max_j_per_flop = (gpu.power_max_w - k.static_w) / r.flops_per_s;
    // Within 5e-4 of the limit counts as at it: the catalog's and the fits' files write
    // coefficients to 4-6 significant digits, and a fit on the limit rounds either way.
    if (r.power_w > gpu.power_max_w * (1 + 5e-4)) return r;
  }
  return std::nullopt;
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
