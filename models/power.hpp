#pragma once
// GPU board power from what the GPU is doing. Between idle and the board limit the
// dynamic range is filled in proportion to how hard the memory system and the
// tensor cores are driven:
//   power_w = idle_w + (max_w - idle_w) * min(1, k_memory * u_memory + k_compute * u_compute)
// where u_memory = achieved HBM bytes/s / datasheet bandwidth and u_compute =
// achieved FLOP/s / datasheet peak over the busy interval. While a GPU waits on a
// collective it draws idle_w + (max_w - idle_w) * k_communication.
// The coefficients are fitted on The ML.ENERGY Leaderboard v3 H100 measurements
// (data/calibration/mlenergy_h100.csv) by tools/fit_power.py; other GPUs use the
// same fractions of their own idle-to-limit range.

#include "models/hardware.hpp"

namespace convsim {

// Fitted jointly on Llama-3.1-8B (1 H100) and Llama-3.1-70B (4 H100, TP4) at
// batch 8, 64 and 256 by a grid search over full simulations (tools/fit_power.py),
// minimising the worst error of mean power and energy per token: within 12% and
// 16% of the measurements. k_compute > 1 means the board limit is reached before the
// tensor cores are fully used, as H100s under dense matmuls are.
struct PowerCoefficients {
  double memory = 0.8;
  double compute = 2.0;
  double communication = 0.1;
};

inline constexpr PowerCoefficients kFittedPower{};

// Never above gpu.power_max_w, never below gpu.power_idle_w.
double busy_power_w(const GpuSpec& gpu, double memory_utilisation, double compute_utilisation,
                    PowerCoefficients coefficients = kFittedPower);

double communication_power_w(const GpuSpec& gpu, PowerCoefficients coefficients = kFittedPower);

}  // namespace convsim
