#pragma once
// The cluster's topology as one Boost.Graph graph: the single description that
// `convsim topology` reports on and build_platform() lowers to SimGrid.
//
// Vertices: GPUs (gpu-n-g), each node's CPU (cpu-n: host memory and the PCIe root
// complex) and NVMe drives (nvme-n), and switches. Edges: links, usable at their
// bandwidth in each direction at once (split duplex), each with a name, a latency
// and a kind. A link's first end is the one nearer the GPUs: crossing it that way
// is "up".
//
// Scale-up (cluster.scale_up_topology):
//   nvswitch     each GPU's port (nvlink-n-g, cluster.scale_up) to its node's
//                NVSwitch: GPU to GPU [nvlink_a, nvlink_b]. Each GPU also has its own
//                PCIe link to the CPU (pcie-n-g, cluster.host_link).
//   pcie_switch  GPUs in contiguous blocks under cluster.pcie_switches_per_node PCIe
//                switches; each GPU's x16 port (pcie-n-g, cluster.scale_up: pcie4 or
//                pcie5) to its switch, each switch's uplink (pcie-uplink-n-s) to the
//                CPU's root complex. Same switch [pcie_a, pcie_b]; across switches
//                [pcie_a, pcie-uplink_sa, pcie-uplink_sb, pcie_b]; GPU to CPU
//                [pcie_g, pcie-uplink_s]. An uplink is one x16 link of the same PCIe
//                generation, as wide as one GPU port: PCIe switches reach the CPU
//                through x16 (or x8) uplink ports, and Supermicro's single-root 8-GPU
//                server notes "only one PCIe x16 Gen 3 link between the CPU and the
//                GPUs" (Supermicro SYS-4029GP-TRT3, PCIe root architectures page;
//                hyper-server.com, Typical GPU server system topologies: direct attach
//                vs PCIe switch, 2026).
// Scale-out (cluster.scale_out_topology):
//   fat_tree     each GPU's NIC (nic-n-g) to its node's leaf (leaf-n); leaves to the
//                core through per-node uplinks (uplink-n) of gpus_per_node NICs over
//                cluster.oversubscription. Across nodes [nic_a, uplink_A, uplink_B, nic_b].
//   rail_optimized  the NIC of local GPU g of every node to rail switch g (rail-g),
//                rail switches to the spine through rail uplinks (rail-uplink-g) of
//                nodes NICs over cluster.oversubscription. Same rail [nic_a, nic_b],
//                one switch away; across rails [nic_a, rail-uplink_ga, rail-uplink_gb,
//                nic_b]. As in NVIDIA's DGX SuperPOD: "Each group of 32 nodes is
//                rail-aligned. Traffic per rail of the DGX H100 systems is always one hop
//                away from the other 31 nodes in a SU. Traffic between nodes, or between
//                rails, traverses the spine layer" (NVIDIA DGX SuperPOD Reference
//                Architecture, DGX H100, Network Fabrics,
//                docs.nvidia.com/dgx-superpod/reference-architecture-scalable-infrastructure-h100).
//                Here all nodes form one such unit: one rail switch per rail.
// Each node's NVMe drives hang off its CPU as one shared link (nvme-n).
//
// Routing: GPUs of one node talk over the scale-up links, GPUs of different nodes
// over the scale-out links (NCCL's choice: NVLink or PCIe peer-to-peer inside a
// node, the GPU's own NIC between nodes), a GPU and its node's CPU or NVMe over the
// scale-up and host links; among those, the route with the fewest links (unique in
// every topology above). GPUs relay nothing. Ports carry half their fabric's
// latency, uplinks none, so every GPU-to-GPU route's latency is exactly its
// fabric's latency_s.

#include <cstddef>
#include <string>
#include <vector>

#include <boost/graph/adjacency_list.hpp>

#include "sim/scenario/scenario.hpp"

namespace convsim {

// Whether a node's GPUs sit on an NVSwitch (so NVLink-only one-shot and two-shot
// all-reduce kernels apply), rather than on PCIe switches.
bool scale_up_is_nvswitch(const ClusterSpec& cluster);

// Fat-tree: a node's uplink to the core carries its NICs over the oversubscription.
double uplink_bytes_per_s(const ClusterSpec& cluster);
// Rail-optimised: a rail switch's uplink to the spine carries its rail's NICs (one
// per node) over the oversubscription.
double rail_uplink_bytes_per_s(const ClusterSpec& cluster);

enum class VertexKind { gpu, cpu, nvme, network_switch };
enum class LinkKind { gpu_port, pcie_uplink, host_link, nvme, nic, node_uplink, rail_uplink };

// Which links a route may use: scale_up (GPU ports, PCIe switch uplinks),
// scale_out (NICs and the uplinks above them), host (scale_up plus the GPUs' host
// links and the NVMe links).
enum class Plane { scale_up, scale_out, host };

struct TopologyVertex {
  VertexKind kind = VertexKind::gpu;
  std::string name;
  int node = -1;  // -1: shared by the nodes (core, spine, rail switches)
};

struct TopologyLink {
  int id = 0;  // index among the topology's links, in creation order
  std::string name;
  LinkKind kind = LinkKind::gpu_port;
  double bytes_per_s = 0;  // in each direction
  double latency_s = 0;
  int node = -1;  // the node whose zone holds it; -1 for uplinks to the core or spine
  std::size_t lower = 0;  // the end nearer the GPUs (a TopologyVertexId)
};

using TopologyGraph =
    boost::adjacency_list<boost::vecS, boost::vecS, boost::undirectedS, TopologyVertex, TopologyLink>;
using TopologyVertexId = TopologyGraph::vertex_descriptor;

// One link of a route, and the direction it is crossed in.
struct Hop {
  int link = 0;  // TopologyLink::id
  bool up = true;
};

class Topology {
 public:
  explicit Topology(const ClusterSpec& cluster);

  const TopologyGraph& graph() const { return graph_; }
  const ClusterSpec& cluster() const { return cluster_; }
  int gpu_count() const { return cluster_.nodes * cluster_.gpus_per_node; }
  std::size_t link_count() const { return links_.size(); }
  const TopologyLink& link(int id) const { return graph_[links_[static_cast<std::size_t>(id)]]; }

  // REQUIRES: 0 <= index < gpu_count(); 0 <= node < nodes.
  TopologyVertexId gpu(int index) const { return static_cast<TopologyVertexId>(index); }
  TopologyVertexId cpu(int node) const { return cpus_[static_cast<std::size_t>(node)]; }
  TopologyVertexId nvme(int node) const { return nvmes_[static_cast<std::size_t>(node)]; }
  // Fat-tree only: a node's leaf, where its traffic to other nodes gathers.
  TopologyVertexId leaf(int node) const { return leaves_[static_cast<std::size_t>(node)]; }
  // The fat-tree's core or the rail-optimised spine. REQUIRES: nodes > 1.
  TopologyVertexId core() const { return core_; }

  // The route from a GPU to another GPU, or to its node's CPU or NVMe, under the
  // routing rule above. Empty when `from == to`.
  std::vector<Hop> route(TopologyVertexId from, TopologyVertexId to) const;
  // The route with the fewest links of `plane` (empty if none). GPUs other than
  // `from` relay nothing.
  std::vector<Hop> route(TopologyVertexId from, TopologyVertexId to, Plane plane) const;
  std::vector<std::string> names(const std::vector<Hop>& route) const;

  // Maximum flow, over the links of `plane` used in both directions, from the
  // vertices `sources` to the vertices `sinks` (push-relabel).
  double max_flow_bytes_per_s(const std::vector<TopologyVertexId>& sources,
                              const std::vector<TopologyVertexId>& sinks, Plane plane) const;

 private:
  TopologyVertexId add_vertex(VertexKind kind, std::string name, int node);
  void add_link(TopologyVertexId lower, TopologyVertexId upper, std::string name, LinkKind kind,
                double bytes_per_s, double latency_s, int node);

  ClusterSpec cluster_;
  TopologyGraph graph_;
  std::vector<TopologyGraph::edge_descriptor> links_;
  std::vector<TopologyVertexId> cpus_, nvmes_, leaves_;
  TopologyVertexId core_ = 0;
  // Breadth-first search scratch, stamped per search so no search clears it.
  mutable std::vector<unsigned> seen_stamp_;
  mutable std::vector<TopologyGraph::edge_descriptor> via_;
  mutable unsigned stamp_ = 0;
};

struct TopologySummary {
  int gpus = 0;
  int links = 0;  // every link of the graph
  // Per direction. Cluster: first half of the nodes to the second, over the
  // scale-out links (0 for one node). Node: the first half of one node's GPUs to
  // the second, over its scale-up links (0 for one GPU).
  double bisection_bytes_per_s = 0;
  double node_bisection_bytes_per_s = 0;
  std::vector<std::string> path;  // links from one GPU to another
};

// REQUIRES: 0 <= from_gpu, to_gpu < nodes * gpus_per_node.
TopologySummary summarize_topology(const ClusterSpec& cluster, int from_gpu, int to_gpu);

}  // namespace convsim
