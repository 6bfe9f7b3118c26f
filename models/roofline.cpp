#include "models/roofline.hpp"

#include <algorithm>
#include <cmath>

namespace convsim {

namespace {

// kernel_time's formula with the class's rates already multiplied out.
inline KernelTiming roof_time(const KernelWork& work, const ClassRoof& roof, double hbm_bytes_per_s,
                              double roofline_exponent) {
  KernelTiming t;
  const double compute_s = compute_time_s(work, roof);
  const double memory_s = work.hbm_bytes / roof.memory_bytes_per_s;
  t.compute_bound = compute_s > memory_s;
  // Scaled by the larger term so that the powers neither overflow nor underflow.
  const double larger_s = std::max(compute_s, memory_s);
  const double p = roofline_exponent;
  double blended_s = 0;
  if (larger_s > 0) {
    const double c = compute_s / larger_s, m = memory_s / larger_s;
    // p = 2 (the fitted value) is the Euclidean norm: a square root, not three powers.
    blended_s = larger_s * (p == 2.0 ? std::sqrt(c * c + m * m) : std::pow(std::pow(c, p) + std::pow(m, p), 1.0 / p));
  }
  t.time_s = std::max(blended_s, larger_s) + work.kernels * roof.overhead_per_kernel_s;
  t.floor_s = std::max(work.flops / roof.peak_flops_per_s, work.hbm_bytes / hbm_bytes_per_s);
  return t;
}

ClassRoof class_roof(const GpuSpec& gpu, double peak_flops_per_s, double overhead_per_kernel_s,
                     double memory_efficiency, double compute_efficiency) {
  return ClassRoof{peak_flops_per_s, peak_flops_per_s * compute_efficiency, gpu.hbm_bytes_per_s * memory_efficiency,
                   overhead_per_kernel_s};
}

}  // namespace

double compute_time_s(const KernelWork& work, const ClassRoof& roof) {
  return (work.flops + roof.overhead_keys * work.flops_per_key) / roof.compute_flops_per_s;
}

KernelTiming kernel_time(const GpuSpec& gpu, const KernelWork& work, double peak_flops_per_s,
                         double overhead_per_kernel_s, double memory_efficiency) {
  const ClassRoof roof =
      class_roof(gpu, peak_flops_per_s, overhead_per_kernel_s, memory_efficiency, gpu.efficiency.compute);
  return roof_time(work, roof, gpu.hbm_bytes_per_s, gpu.efficiency.roofline_exponent);
}

StagePeaks stage_peaks(const GpuSpec& gpu, Precision weights) {
  // FP8 and FP4 weights run on their own tensor cores where the GPU has them (peak_for
  // falls back to BF16 otherwise); INT8/INT4 weight-only formats dequantise to BF16.
  const bool native = weights == Precision::fp8 || weights == Precision::nvfp4 || weights == Precision::mxfp4;
  StagePeaks peaks;
  peaks.matmul_flops_per_s = native ? gpu.peak_for(weights) : gpu.peak_for(Precision::bf16);
  peaks.bf16_flops_per_s = gpu.peak_for(Precision::bf16);
  peaks.fp8_flops_per_s = gpu.peak_for(Precision::fp8);
  for (int i = 0; i < kKernelClasses; ++i) {
    const auto kernel_class = static_cast<KernelClass>(i);
    const double overhead = kernel_class == KernelClass::elementwise ? gpu.efficiency.elementwise_kernel_s
                                                                     : gpu.efficiency.kernel_overhead_s;
    const bool over_cache = kernel_class == KernelClass::attention || kernel_class == KernelClass::indexer;
    const double memory_efficiency = over_cache ? gpu.efficiency.attention_memory
                                     : kernel_class == KernelClass::experts ? gpu.efficiency.experts_memory
                                                                            : gpu.efficiency.memory;
    const double peak = is_matmul(kernel_class)                  ? peaks.matmul_flops_per_s
                        : kernel_class == KernelClass::indexer ? peaks.fp8_flops_per_s
                                                               : peaks.bf16_flops_per_s;
    // FP8 and FP4 weights run the dense matmuls on their own tensor cores at those
    // cores' own fraction of the peak (the routed experts keep the fused-MoE kernel's).
    const bool native_matmul = native && gpu.peak_flops_per_s.count(weights) > 0 && is_matmul(kernel_class);
    const bool fp8_matmul = native_matmul && weights == Precision::fp8;
    const bool fp4_matmul = native_matmul && is_fp4(weights);
    const double compute_efficiency = kernel_class == KernelClass::experts     ? gpu.efficiency.experts_compute
                                      : kernel_class == KernelClass::attention ? gpu.efficiency.attention_compute
                                      : fp8_matmul                             ? gpu.efficiency.compute_fp8
                                      : fp4_matmul                             ? gpu.efficiency.compute_fp4
                                                                               : gpu.efficiency.compute;
    ClassRoof& roof = peaks.by_class[static_cast<std::size_t>(i)];
    roof = class_roof(gpu, peak, overhead, memory_efficiency, compute_efficiency);
    if (kernel_class == KernelClass::attention) roof.overhead_keys = gpu.efficiency.attention_row_overhead_tokens;
  }
  return peaks;
}

StageTiming stage_time(const GpuSpec& gpu, Precision weights, const StageWork& work) {
  return stage_time(gpu, stage_peaks(gpu, weights), work);
}

StageTiming stage_time(const GpuSpec& gpu, const StagePeaks& peaks, const StageWork& work) {
  StageTiming timing;
  for (int i = 0; i < kKernelClasses; ++i) {
    const KernelWork& kw = work.by_class[i];
    if (kw.kernels == 0 && kw.flops == 0 && kw.hbm_bytes == 0) continue;
    timing.by_class[i] = roof_time(kw, peaks.by_class[static_cast<std::size_t>(i)], gpu.hbm_bytes_per_s,
                                   gpu.efficiency.roofline_exponent);
    timing.compute_s += timing.by_class[i].time_s;
    timing.floor_s += timing.by_class[i].floor_s;
  }
  return timing;
}

}  // namespace convsim
