#pragma once
// The cluster section's topology keys: cluster.scale_up_topology (nvswitch |
// pcie_switch), cluster.pcie_switches_per_node and cluster.scale_out_topology
// (fat_tree | rail_optimized), checked against the fabrics and sizes already read.

#include <string>
#include <vector>

#include "sim/scenario/catalog.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/scenario/yaml_reader.hpp"

namespace convsim {

// Reads the topology keys into `spec`; a key the chosen topology does not use
// (pcie_switches_per_node on NVSwitch nodes, host_link on PCIe nodes) adds a
// warning. REQUIRES: spec's nodes, gpus_per_node and scale_up already read from `c`.
void read_cluster_topology(const MapReader& c, const Catalog& catalog, ClusterSpec& spec,
                           std::vector<std::string>& warnings);

}  // namespace convsim
