#pragma once
// The cluster section's GPU operating point: cluster.gpu_power_cap_w (W, a power
// limit as nvidia-smi -pl sets) and cluster.gpu_clock_mhz (MHz, a locked SM clock as
// nvidia-smi -lgc sets), checked against the GPU preset's range and applied to
// spec.gpu (models/clocks.hpp).

#include <string>
#include <vector>

#include "sim/scenario/catalog.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/scenario/yaml_reader.hpp"

namespace convsim {

// Reads the two keys into spec.gpu_clocks and replaces spec.gpu by the GPU at that
// operating point. A cap must lie in [gpu.min_power_limit_w, gpu.power_max_w], a
// clock in [the clock a compute-bound kernel runs at under the minimum power limit
// (rounded up to a whole MHz), gpu.max_sm_clock_mhz]; a preset without those figures
// takes neither key. A cap below the preset's static_w adds a warning (memory-bound
// work is clipped to the cap without being slowed). REQUIRES: spec.gpu read from `c`.
void read_gpu_clocks(const MapReader& c, const Catalog& catalog, ClusterSpec& spec, std::vector<std::string>& warnings);

}  // namespace convsim
