#pragma once
// The scenario's `faults:` list. Each entry: at_min, kind (gpu_slow, link_slow,
// gpu_lost, node_lost), the GPU (an index among the GPUs the replicas use) or node,
// for slowdowns a factor >= 1 and an optional until_min, for losses a repair_min.

#include <vector>

#include <yaml-cpp/yaml.h>

#include "sim/scenario/scenario.hpp"
#include "sim/scenario/yaml_reader.hpp"

namespace convsim {

std::vector<FaultSpec> read_faults(const Locator& at, const YAML::Node& list, const YAML::Node& spot,
                                   const ClusterSpec& cluster, const ParallelismSpec& parallelism);

}  // namespace convsim
