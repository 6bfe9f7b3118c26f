#pragma once
// The cluster's topology as a Boost.Graph graph, for checks and for people: GPUs,
// each node's NVLink switch and scale-out leaf, and the fat-tree core; edges are
// the platform's links (NVLink ports, NICs, node uplinks) with their bandwidth per
// direction. The same topology is lowered to SimGrid by build_platform().

#include <string>
#include <vector>

#include "sim/scenario/scenario.hpp"

namespace convsim {

struct TopologySummary {
  int gpus = 0;
  int links = 0;                 // NVLink ports + NICs + node uplinks
  double bisection_bytes_per_s = 0;  // per direction, between the first and second half of the nodes
  std::vector<std::string> path;     // links from one GPU to another
};

// Bisection bandwidth by max-flow from the GPUs of the first half of the nodes to
// those of the second half (0 for a single node), and the path between two GPUs.
// REQUIRES: 0 <= from_gpu, to_gpu < nodes * gpus_per_node.
TopologySummary summarize_topology(const ClusterSpec& cluster, int from_gpu, int to_gpu);

}  // namespace convsim
