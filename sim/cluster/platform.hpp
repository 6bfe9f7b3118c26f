#pragma once
// The cluster as a SimGrid platform, lowered from its topology graph
// (sim/cluster/topology.hpp: which links exist, their bandwidth and latency, and the
// route between any two endpoints). GPUs are hosts (speed: the GPU's BF16 peak);
// each node's CPU (host memory) and NVMe drives are hosts too; every graph link is a
// split-duplex link of the same name; every route is the graph's route, link by
// link. A GPU-to-GPU route's latency is exactly its fabric's latency_s.
//
// Up to kFlatZoneMaxNodes nodes, and for rail-optimised scale-out (up to
// kRailOptimizedMaxGpus GPUs), all hosts sit in one full zone with an explicit route
// per pair of GPUs and per GPU to its CPU and NVMe: measured 25% faster per simulated
// iteration than a zone per node (route resolution through the zone hierarchy
// dominated), at the price of N^2/2 routes. Larger fat-tree clusters get a full zone per node (its in-node routes from
// the graph; its leaf as gateway, reached over the GPU's NIC) under a star zone whose
// route for each node is the graph's route from its leaf to the core (its uplink):
// O(nodes) routes. A cross-node route is then [nic_a, uplink_A, uplink_B, nic_b], as
// in the graph. Rails cannot be lowered this way: a route across nodes would depend
// on the GPUs' rails, not only on their nodes.

#include <vector>

#include <simgrid/s4u.hpp>

#include "sim/cluster/topology.hpp"
#include "sim/scenario/scenario.hpp"

namespace convsim {

// Sets SimGrid so an uncontended transfer takes latency + bytes / bandwidth exactly
// and parallel tasks are available. REQUIRES: called once, after the Engine is
// created and before the platform is built.
void configure_exact_models(simgrid::s4u::Engine& engine);

// Every list has an entry for every GPU (or node) of the cluster; a node left out of
// the build (build_platform's nodes_wanted) has null entries.
struct Platform {
  std::vector<simgrid::s4u::Host*> gpus;  // node-major: node * gpus_per_node + local index
  std::vector<simgrid::s4u::Host*> cpus;  // one per node: host memory
  std::vector<simgrid::s4u::Host*> nvme;  // one per node: the node's NVMe drives
  // Per GPU: its scale-up port (NVLink, or its PCIe x16 link on pcie_switch nodes),
  // its NIC, and its link to host memory (on pcie_switch nodes its port again).
  std::vector<simgrid::s4u::Link*> nvlinks, nics, pcie;
  int nodes = 0;
  int gpus_per_node = 0;
  int node_of(int gpu) const { return gpu / gpus_per_node; }
};

inline constexpr int kFlatZoneMaxNodes = 16;

// `nodes_wanted`, when not empty, has one entry per node: a zone-per-node cluster
// (larger fat-trees) builds only the nodes marked, with their links and the fabric
// links their routes cross, so a run shard pays for its own nodes only. Building
// all nodes still costs time quadratic in them, in SimGrid: it checks each new
// host's name against every zone made so far and visits every host of the platform
// to seal a zone (its links, made before any node zone, escape the check). Routes
// between built nodes are the whole platform's. The flat zone builds every node.
// REQUIRES: an Engine exists, configured by configure_exact_models().
Platform build_platform(const ClusterSpec& cluster, const std::vector<bool>& nodes_wanted = {});

// Link energy of one byte from GPU a to GPU b (a != b): a route crosses two port
// links (GPU to switch, switch to GPU) and fabric presets give the energy of one
// crossing; scale-up inside a node, scale-out across nodes.
inline double route_energy_j_per_byte(const ClusterSpec& cluster, const Platform& platform, int a, int b) {
  const FabricSpec& fabric = platform.node_of(a) == platform.node_of(b) ? cluster.scale_up : cluster.scale_out;
  constexpr double kLinkCrossingsPerRoute = 2.0;
  return fabric.energy_j_per_byte * kLinkCrossingsPerRoute;
}

}  // namespace convsim
