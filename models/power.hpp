#pragma once
// GPU board power from what the GPU is doing. Between idle and the board limit the
// dynamic range is filled in proportion to how hard the memory system and the
// tensor cores are driven:
//   power_w = idle_w + (max_w - idle_w) * min(1, k_memory * u_memory + k_compute * u_compute)
// where u_memory = achieved HBM bytes/s / datasheet bandwidth and u_compute =
// achieved FLOP/s / datasheet peak over the busy interval. While a GPU waits on a
// collective it draws idle_w + (max_w - idle_w) * k_communication.
// The coefficients are the GPU preset's power_coefficients (see PowerCoefficients
// in models/hardware.hpp for how they were fitted); GPUs without their own use
// the H100 fit, as fractions of their own idle-to-limit range.

#include "models/hardware.hpp"

namespace convsim {

// Never above gpu.power_max_w, never below gpu.power_idle_w.
double busy_power_w(const GpuSpec& gpu, double memory_utilisation, double compute_utilisation);

double communication_power_w(const GpuSpec& gpu);

}  // namespace convsim
