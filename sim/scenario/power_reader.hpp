#pragma once
// The cluster section's power, carbon and price keys: cluster.system (a system
// preset or none), cluster.system_power (overrides of its terms), cluster.grid_region
// or cluster.grid_gco2e_per_kwh, cluster.usd_per_kwh and cluster.gpu_hour_usd.

#include <string>
#include <vector>

#include "sim/scenario/catalog.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/scenario/yaml_reader.hpp"

namespace convsim {

// Reads those keys into `spec`. The default system is the preset carrying
// cluster.gpu (the one with cluster.gpus_per_node GPUs per node if several do); a
// GPU no preset carries gets none, with a warning. REQUIRES: spec's gpu,
// gpus_per_node and host_power_w_per_node already read from `c`.
void read_cluster_power(const MapReader& c, const Catalog& catalog, ClusterSpec& spec,
                        std::vector<std::string>& warnings);

}  // namespace convsim
