#pragma once
// GPU board power in physical units. While a GPU runs kernels it draws
//   P = static_w + j_per_hbm_byte * (HBM bytes / s)
//              + j_per_flop_bf16 * (BF16 FLOP / s) + j_per_flop_fp8 * (FP8 FLOP / s)
//              + j_per_flop_fp4 * (FP4 FLOP / s)
// capped at the GPU's power limit (gpu.power_limit_w(): the board limit, or a
// run's power cap): the energy of an iteration is a fixed draw for its time plus a
// cost per byte moved and per FLOP computed, so energy follows the work, whatever
// the GPU. While it waits on the engine's CPU side it draws static_w; while it waits
// in a collective, static_w + collective_w; with nothing scheduled, power_idle_w.
// The coefficients are the GPU preset's power_coefficients (see PowerCoefficients in
// models/hardware.hpp), or those of the clock a run locks (models/clocks.hpp).

#include <optional>

#include "models/hardware.hpp"
#include "models/transformer_cost.hpp"

namespace convsim {

// Work rates of a busy interval, per GPU.
struct WorkRates {
  double hbm_bytes_per_s = 0;
  double bf16_flops_per_s = 0;  // attention, elementwise, and matmuls in BF16 (or dequantised)
  double fp8_flops_per_s = 0;   // matmuls on FP8 tensor cores
  double fp4_flops_per_s = 0;   // matmuls on FP4 tensor cores (NVFP4, MXFP4 weights)
};

// The rates at which one GPU moves HBM bytes and computes FLOPs (by tensor-core
// precision: matmuls on FP8 or FP4 tensor cores when the weights are in that
// precision and the GPU has them) while it runs `work` for time_s. REQUIRES: time_s > 0.
WorkRates work_rates(const GpuSpec& gpu, Precision weights, const StageWork& work, double time_s);

// Which tensor cores a GPU's work runs on for weights of one precision, looked up
// once: the same rates as above without the lookups on every call.
struct TensorCorePaths {
  bool fp8_matmuls = false;  // FP8 weights on a GPU with FP8 tensor cores
  bool fp4_matmuls = false;  // NVFP4/MXFP4 weights on a GPU with FP4 tensor cores
  bool fp8_indexer = false;  // sparse attention's indexer, where the GPU has FP8 tensor cores
};
TensorCorePaths tensor_core_paths(const GpuSpec& gpu, Precision weights);
WorkRates work_rates(const TensorCorePaths& paths, const StageWork& work, double time_s);

// static_w + the per-byte and per-FLOP terms, never above gpu.power_limit_w().
double busy_power_w(const GpuSpec& gpu, const WorkRates& rates);
// The same before the limit: what the work would draw were nothing to stop it.
double unlimited_busy_power_w(const GpuSpec& gpu, const WorkRates& rates);

// Waiting for the host to schedule and launch the next iteration.
double host_wait_power_w(const GpuSpec& gpu);

// Waiting inside a collective (spinning kernels), never above gpu.power_limit_w().
double communication_power_w(const GpuSpec& gpu);

// Unless a preset gives them, the energy of an FP8 and of an FP4 FLOP: a precision's
// tensor cores at their roof (peak x the fraction its GEMMs reach: efficiency.compute,
// compute_fp8 for FP8, compute_fp4 for FP4) draw what BF16's do at theirs, so its FLOP
// costs j_per_flop_bf16 x the BF16 roof over its own (on an H100, whose FP8 GEMMs
// reach 0.62 of twice the peak where BF16's reach 0.72, 0.58; on a B200, FP4 at 0.59
// of four times the peak against 0.63, 0.27), or half the next wider one's where the
// GPU has no such tensor cores.
double default_j_per_flop_fp8(const GpuSpec& gpu, double j_per_flop_bf16);
double default_j_per_flop_fp4(const GpuSpec& gpu, double j_per_flop_bf16, double j_per_flop_fp8);

// Full load, the load a board limit is rated for: a precision's tensor cores at their
// roof (peak x efficiency.compute), which models/clocks.hpp takes to draw the limit at
// the maximum clock. The first precision whose roof `k` puts above gpu.power_max_w
// (by more than 5e-4 of it: the files hold coefficients to 4-6 significant digits).
struct RoofOverLimit {
  Precision precision = Precision::bf16;
  const char* key = "";      // its coefficient: j_per_flop_bf16, j_per_flop_fp8 or j_per_flop_fp4
  double j_per_flop = 0;
  double flops_per_s = 0;    // the roof
  double power_w = 0;        // static_w + j_per_flop x flops_per_s
  double max_j_per_flop = 0; // what would put it at the limit
};
std::optional<RoofOverLimit> roof_over_board_limit(const GpuSpec& gpu, const PowerCoefficients& k);


}  // namespace convsim
