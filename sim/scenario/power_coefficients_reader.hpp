#pragma once
// The power coefficients of a GPU (models/power.hpp), wherever they are read: a GPU
// preset's power_coefficients, or a GPU's entry in the serving fits
// (models/catalog/fits/serving.yaml, which `convsim validate` puts into its rows). The
// same keys, defaults and rules in both, each refusal at its key:
//   - static_w in [power_idle_w, power_max_w): a GPU running kernels draws at least
//     its idle and less than its board limit;
//   - the tensor cores of every precision the GPU has, at their roof, at most
//     power_max_w (roof_over_board_limit: the load the limit is rated for);
//   - static_w + collective_w at most power_max_w.
// Unless given, the FP8 and FP4 energies per FLOP follow the peaks
// (default_j_per_flop_fp8, default_j_per_flop_fp4).

#include <string>
#include <vector>

#include "models/hardware.hpp"
#include "sim/scenario/yaml_reader.hpp"

namespace convsim {

// Reads the map `k` for `gpu`, whose peaks, efficiencies, idle and board limit are
// already read. `extra_keys` are allowed besides the coefficients (read by the caller).
PowerCoefficients read_power_coefficients(const MapReader& k, const GpuSpec& gpu,
                                          const std::vector<std::string>& extra_keys = {});

}  // namespace convsim
