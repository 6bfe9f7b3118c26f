#include "sim/cluster/topology.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include <boost/graph/push_relabel_max_flow.hpp>
#include <fmt/format.h>
#include <xbt/asserts.h>

namespace convsim {

bool scale_up_is_nvswitch(const ClusterSpec& cluster) {
  return cluster.scale_up_topology == ScaleUpTopology::nvswitch;
}

double uplink_bytes_per_s(const ClusterSpec& cluster) {
  return cluster.gpus_per_node * cluster.scale_out.bandwidth_bytes_per_s / cluster.oversubscription;
}

double rail_uplink_bytes_per_s(const ClusterSpec& cluster) {
  return cluster.nodes * cluster.scale_out.bandwidth_bytes_per_s / cluster.oversubscription;
}

namespace {

bool in_plane(LinkKind kind, Plane plane) {
  switch (kind) {
    case LinkKind::gpu_port:
    case LinkKind::pcie_uplink:
      return plane != Plane::scale_out;
    case LinkKind::host_link:
    case LinkKind::nvme:
      return plane == Plane::host;
    case LinkKind::nic:
    case LinkKind::node_uplink:
    case LinkKind::rail_uplink:
      return plane == Plane::scale_out;
  }
  return false;
}

}  // namespace

TopologyVertexId Topology::add_vertex(VertexKind kind, std::string name, int node) {
  return boost::add_vertex(TopologyVertex{kind, std::move(name), node}, graph_);
}

void Topology::add_link(TopologyVertexId lower, TopologyVertexId upper, std::string name, LinkKind kind,
                        double bytes_per_s, double latency_s, int node) {
  const int id = static_cast<int>(links_.size());
  links_.push_back(
      boost::add_edge(lower, upper, TopologyLink{id, std::move(name), kind, bytes_per_s, latency_s, node, lower}, graph_)
          .first);
}

Topology::Topology(const ClusterSpec& c) : cluster_(c) {
  const int per_node = c.gpus_per_node;
  const bool nvswitch = scale_up_is_nvswitch(c);
  const bool rails = c.scale_out_topology == ScaleOutTopology::rail_optimized;
  // GPUs first, so a GPU's vertex is its index (node-major).
  for (int n = 0; n < c.nodes; ++n) {
    for (int g = 0; g < per_node; ++g) add_vertex(VertexKind::gpu, fmt::format("gpu-{}-{}", n, g), n);
  }
  std::vector<TopologyVertexId> rail_switches;
  if (rails) {
    for (int g = 0; g < per_node; ++g) rail_switches.push_back(add_vertex(VertexKind::network_switch, fmt::format("rail-{}", g), -1));
  }
  const double port_latency_s = c.scale_up.latency_s / 2.0;
  const double nic_latency_s = c.scale_out.latency_s / 2.0;
  for (int n = 0; n < c.nodes; ++n) {
    const TopologyVertexId cpu = add_vertex(VertexKind::cpu, fmt::format("cpu-{}", n), n);
    const TopologyVertexId nvme = add_vertex(VertexKind::nvme, fmt::format("nvme-{}", n), n);
    cpus_.push_back(cpu);
    nvmes_.push_back(nvme);
    std::vector<TopologyVertexId> scale_up_switches;
    if (nvswitch) {
      scale_up_switches.push_back(add_vertex(VertexKind::network_switch, fmt::format("nvswitch-{}", n), n));
    } else {
      for (int s = 0; s < c.pcie_switches_per_node; ++s) {
        scale_up_switches.push_back(add_vertex(VertexKind::network_switch, fmt::format("pcie-switch-{}-{}", n, s), n));
      }
    }
    if (!rails) leaves_.push_back(add_vertex(VertexKind::network_switch, fmt::format("leaf-{}", n), n));
    const int gpus_per_switch = per_node / static_cast<int>(scale_up_switches.size());
    for (int g = 0; g < per_node; ++g) {
      const TopologyVertexId gpu_vertex = gpu(n * per_node + g);
      const TopologyVertexId up_switch = scale_up_switches[static_cast<std::size_t>(g / gpus_per_switch)];
      add_link(gpu_vertex, up_switch, fmt::format(nvswitch ? "nvlink-{}-{}" : "pcie-{}-{}", n, g), LinkKind::gpu_port,
               c.scale_up.bandwidth_bytes_per_s, port_latency_s, n);
      if (nvswitch) {
        add_link(gpu_vertex, cpu, fmt::format("pcie-{}-{}", n, g), LinkKind::host_link, c.host_link.bandwidth_bytes_per_s,
                 c.host_link.latency_s, n);
      }
      const TopologyVertexId scale_out_switch = rails ? rail_switches[static_cast<std::size_t>(g)] : leaves_.back();
      add_link(gpu_vertex, scale_out_switch, fmt::format("nic-{}-{}", n, g), LinkKind::nic,
               c.scale_out.bandwidth_bytes_per_s, nic_latency_s, n);
    }
    if (!nvswitch) {
      // One x16 link of the GPU ports' PCIe generation per switch (see the header).
      for (std::size_t s = 0; s < scale_up_switches.size(); ++s) {
        add_link(scale_up_switches[s], cpu, fmt::format("pcie-uplink-{}-{}", n, s), LinkKind::pcie_uplink,
                 c.scale_up.bandwidth_bytes_per_s, 0, n);
      }
    }
    add_link(cpu, nvme, fmt::format("nvme-{}", n), LinkKind::nvme, c.nvme_bytes_per_s_per_node, 0, n);
  }
  if (c.nodes > 1) {
    core_ = add_vertex(VertexKind::network_switch, rails ? "spine" : "core", -1);
    if (rails) {
      for (int g = 0; g < per_node; ++g) {
        add_link(rail_switches[static_cast<std::size_t>(g)], core_, fmt::format("rail-uplink-{}", g),
                 LinkKind::rail_uplink, rail_uplink_bytes_per_s(c), 0, -1);
      }
    } else {
      for (int n = 0; n < c.nodes; ++n) {
        add_link(leaves_[static_cast<std::size_t>(n)], core_, fmt::format("uplink-{}", n), LinkKind::node_uplink,
                 uplink_bytes_per_s(c), 0, -1);
      }
    }
  }
  seen_stamp_.assign(boost::num_vertices(graph_), 0);
  via_.resize(boost::num_vertices(graph_));
}

std::vector<Hop> Topology::route(TopologyVertexId from, TopologyVertexId to) const {
  const TopologyVertex& a = graph_[from];
  const TopologyVertex& b = graph_[to];
  xbt_assert(a.kind == VertexKind::gpu || b.kind == VertexKind::gpu, "a route starts or ends at a GPU: %s to %s",
             a.name.c_str(), b.name.c_str());
  if (a.kind == VertexKind::gpu && b.kind == VertexKind::gpu) {
    return route(from, to, a.node == b.node ? Plane::scale_up : Plane::scale_out);
  }
  xbt_assert(a.node == b.node, "a GPU reaches only its own node's CPU and NVMe: %s to %s", a.name.c_str(),
             b.name.c_str());
  return route(from, to, Plane::host);
}

std::vector<Hop> Topology::route(TopologyVertexId from, TopologyVertexId to, Plane plane) const {
  if (from == to) return {};
  if (++stamp_ == 0) {  // wrapped: clear once
    std::fill(seen_stamp_.begin(), seen_stamp_.end(), 0);
    stamp_ = 1;
  }
  std::vector<TopologyVertexId> frontier = {from};
  seen_stamp_[from] = stamp_;
  bool found = false;
  for (std::size_t i = 0; i < frontier.size() && !found; ++i) {
    const TopologyVertexId u = frontier[i];
    if (u != from && graph_[u].kind == VertexKind::gpu) continue;  // GPUs relay nothing
    for (auto [e, end] = boost::out_edges(u, graph_); e != end; ++e) {
      if (!in_plane(graph_[*e].kind, plane)) continue;
      const TopologyVertexId v = boost::target(*e, graph_);
      if (seen_stamp_[v] == stamp_) continue;
      seen_stamp_[v] = stamp_;
      via_[v] = *e;
      if (v == to) {
        found = true;
        break;
      }
      frontier.push_back(v);
    }
  }
  std::vector<Hop> hops;
  if (!found) return hops;
  for (TopologyVertexId v = to; v != from;) {
    const TopologyLink& link = graph_[via_[v]];
    const TopologyVertexId u = boost::source(via_[v], graph_);
    hops.push_back(Hop{link.id, u == link.lower});
    v = u;
  }
  std::reverse(hops.begin(), hops.end());
  return hops;
}

std::vector<std::string> Topology::names(const std::vector<Hop>& route) const {
  std::vector<std::string> out;
  for (const Hop& hop : route) out.push_back(link(hop.link).name);
  return out;
}

namespace {

using FlowTraits = boost::adjacency_list_traits<boost::vecS, boost::vecS, boost::directedS>;
// Capacities in whole bytes per second: push-relabel checks exact flow
// conservation (an assertion in Boost), which floating-point capacities can miss by
// a rounding; link rates are whole numbers of bytes per second anyway.
struct FlowArc {
  long long capacity = 0;
  long long residual = 0;
  FlowTraits::edge_descriptor reverse;
};
using FlowGraph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS, boost::no_property, FlowArc>;

// An arc u -> v of `capacity` with its zero-capacity reverse (the residual graph's).
void add_arc(FlowGraph& g, std::size_t u, std::size_t v, long long capacity) {
  auto forward = boost::add_edge(u, v, g).first;
  auto backward = boost::add_edge(v, u, g).first;
  g[forward] = FlowArc{capacity, 0, backward};
  g[backward] = FlowArc{0, 0, forward};
}

}  // namespace

double Topology::max_flow_bytes_per_s(const std::vector<TopologyVertexId>& sources,
                                      const std::vector<TopologyVertexId>& sinks, Plane plane) const {
  if (sources.empty() || sinks.empty()) return 0;
  const std::size_t vertices = boost::num_vertices(graph_);
  // One graph: edge descriptors stored as reverse arcs do not survive a copy.
  FlowGraph g(vertices + 2);
  const std::size_t source = vertices, sink = vertices + 1;
  long long total = 0;
  for (const auto& e : links_) {
    const TopologyLink& link = graph_[e];
    if (!in_plane(link.kind, plane)) continue;
    const std::size_t a = boost::source(e, graph_), b = boost::target(e, graph_);
    const long long rate = std::llround(link.bytes_per_s);
    add_arc(g, a, b, rate);  // split duplex: the full rate each way
    add_arc(g, b, a, rate);
    total += 2 * rate;
  }
  const long long unbounded = total + 1;  // more than any cut
  for (const TopologyVertexId v : sources) add_arc(g, source, v, unbounded);
  for (const TopologyVertexId v : sinks) add_arc(g, v, sink, unbounded);
  return static_cast<double>(boost::push_relabel_max_flow(g, source, sink, boost::get(&FlowArc::capacity, g),
                                      boost::get(&FlowArc::residual, g), boost::get(&FlowArc::reverse, g),
                                      boost::get(boost::vertex_index, g)));
}

TopologySummary summarize_topology(const ClusterSpec& c, int from_gpu, int to_gpu) {
  const Topology topology(c);
  TopologySummary summary;
  summary.gpus = topology.gpu_count();
  summary.links = static_cast<int>(topology.link_count());
  std::vector<TopologyVertexId> first, second;
  const int half_nodes = c.nodes / 2;
  for (int gpu = 0; gpu < summary.gpus; ++gpu) {
    (gpu / c.gpus_per_node < half_nodes ? first : second).push_back(topology.gpu(gpu));
  }
  if (c.nodes > 1) summary.bisection_bytes_per_s = topology.max_flow_bytes_per_s(first, second, Plane::scale_out);
  first.clear();
  second.clear();
  for (int g = 0; g < c.gpus_per_node; ++g) (g < c.gpus_per_node / 2 ? first : second).push_back(topology.gpu(g));
  summary.node_bisection_bytes_per_s = topology.max_flow_bytes_per_s(first, second, Plane::scale_up);
  summary.path = topology.names(topology.route(topology.gpu(from_gpu), topology.gpu(to_gpu)));
  return summary;
}

}  // namespace convsim
