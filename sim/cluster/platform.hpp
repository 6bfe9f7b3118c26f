#pragma once
// The cluster as a SimGrid platform. GPUs are hosts (speed: the GPU's BF16 peak);
// each has its own NVLink port (a split-duplex link to its node's switch) and its
// own NIC (a split-duplex link to the scale-out network). Nodes are joined by a
// fat-tree core through per-node uplinks (non-blocking by default: the NICs are the
// bottlenecks).
//
// Routes: GPU to GPU in a node crosses [nvlink_a, nvlink_b]; across nodes
// [nic_a, uplink_A, uplink_B, nic_b], each node's uplink (to a two-level fat-tree's
// core) carrying its NICs together over cluster.oversubscription. Each port link carries half of its fabric's hop latency,
// so a route's latency is exactly the fabric's latency_s.
//
// For KV caches moved out of HBM, each node also has a CPU host (its DRAM) and an
// NVMe target: GPU to CPU crosses the GPU's own PCIe link [pcie_g]; GPU to NVMe
// [pcie_g, nvme_n], the node's drives being one shared link.
//
// Up to kFlatZoneMaxNodes nodes, all GPUs sit in one full zone with explicit
// routes: measured 25% faster per simulated iteration than a zone per node (route
// resolution through the zone hierarchy dominated), at the price of N^2/2 routes.
// Larger clusters get a full zone per node under a star zone (O(nodes) routes), each
// node's traffic leaving through an uplink as wide as its NICs together, so a
// cross-node route is [nic_a, uplink_A, uplink_B, nic_b] with the same latency.

#include <vector>

#include <simgrid/s4u.hpp>

#include "sim/scenario/scenario.hpp"

namespace convsim {

// Sets SimGrid so an uncontended transfer takes latency + bytes / bandwidth exactly
// and parallel tasks are available. REQUIRES: called once, after the Engine is
// created and before the platform is built.
void configure_exact_models(simgrid::s4u::Engine& engine);

struct Platform {
  std::vector<simgrid::s4u::Host*> gpus;  // node-major: node * gpus_per_node + local index
  std::vector<simgrid::s4u::Host*> cpus;  // one per node: host memory
  std::vector<simgrid::s4u::Host*> nvme;  // one per node: the node's NVMe drives
  std::vector<simgrid::s4u::Link*> nvlinks, nics, pcie;  // per GPU: its NVLink port, NIC, PCIe link
  int nodes = 0;
  int gpus_per_node = 0;
  int node_of(int gpu) const { return gpu / gpus_per_node; }
};

inline constexpr int kFlatZoneMaxNodes = 16;

// A node's uplink to the scale-out core: its NICs together over the oversubscription.
double uplink_bytes_per_s(const ClusterSpec& cluster);

Platform build_platform(const ClusterSpec& cluster);

}  // namespace convsim
