#pragma once
// Time of a GPU's work: the roofline with fitted efficiencies, plus the fixed time
// each kernel pays. Also the physical floor that no prediction may go below.

#include "models/hardware.hpp"
#include "models/transformer_cost.hpp"

namespace convsim {

struct KernelTiming {
  double time_s = 0;
  double floor_s = 0;           // max(flops / peak, bytes / bandwidth): no efficiency, no overhead
  bool compute_bound = false;
};

// With compute_s = flops / (peak * eff_compute) and memory_s = bytes / (bandwidth *
// memory_efficiency), p = gpu.efficiency.roofline_exponent:
//   time = (compute_s^p + memory_s^p)^(1/p) + kernels * overhead
// never below max(compute_s, memory_s) + kernels * overhead; compute_bound when
// compute_s > memory_s.
KernelTiming kernel_time(const GpuSpec& gpu, const KernelWork& work, double peak_flops_per_s,
                         double overhead_per_kernel_s, double memory_efficiency);

struct StageTiming {
  double compute_s = 0;  // sum over kernel classes
  double floor_s = 0;    // sum of the classes' floors
  std::array<KernelTiming, kKernelClasses> by_class{};
};

// The compute time of one GPU's stage work (communication excluded). Matmuls run
// at the peak of the weight precision when it has a tensor-core path (FP8, NVFP4,
// MXFP4 where the GPU has them), else at BF16 (weight-only quantisation dequantises
// to BF16); attention and elementwise kernels run at BF16; sparse attention's
// indexer at FP8 where the GPU has FP8 tensor cores, and reads its key cache at the
// attention kernels' memory efficiency.
StageTiming stage_time(const GpuSpec& gpu, Precision weights, const StageWork& work);

// What one kernel class runs at: its peak, the peak times the compute efficiency,
// the HBM bandwidth times its memory efficiency, and its fixed time per kernel.
struct ClassRoof {
  double peak_flops_per_s = 0;
  double compute_flops_per_s = 0;
  double memory_bytes_per_s = 0;
  double overhead_per_kernel_s = 0;
  double overhead_keys = 0;  // attention: key positions of fixed work per query row (KernelWork::flops_per_key)
};

// A class's time at its compute roof: its FLOPs and, for attention, the fixed work
// of its query tiles, at the class's compute rate.
double compute_time_s(const KernelWork& work, const ClassRoof& roof);

// The peaks stage_time uses for weights of one precision, and each kernel class's
// roof on the GPU, worked out once.
struct StagePeaks {
  double matmul_flops_per_s = 0;  // the weights' tensor-core path, else BF16
  double bf16_flops_per_s = 0;
  double fp8_flops_per_s = 0;     // sparse attention's indexer (BF16 where no FP8)
  std::array<ClassRoof, kKernelClasses> by_class{};
};
StagePeaks stage_peaks(const GpuSpec& gpu, Precision weights);
// The same as stage_time(gpu, weights, work) with peaks = stage_peaks(gpu, weights).
StageTiming stage_time(const GpuSpec& gpu, const StagePeaks& peaks, const StageWork& work);

}  // namespace convsim
