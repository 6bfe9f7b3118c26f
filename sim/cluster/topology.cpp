#include "sim/cluster/topology.hpp"

#include <algorithm>

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/breadth_first_search.hpp>
#include <boost/graph/push_relabel_max_flow.hpp>
#include <fmt/format.h>

#include "sim/cluster/platform.hpp"

namespace convsim {
namespace {

using Traits = boost::adjacency_list_traits<boost::vecS, boost::vecS, boost::directedS>;
struct EdgeProps {
  double capacity = 0;
  double residual = 0;
  Traits::edge_descriptor reverse;
  std::string name;
};
using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS, boost::no_property, EdgeProps>;
using Vertex = Graph::vertex_descriptor;

// A link usable both ways at `bytes_per_s` each way (split duplex), as two arcs
// each with its reverse (for the max-flow residual graph).
void add_link(Graph& g, Vertex a, Vertex b, double bytes_per_s, const std::string& name) {
  auto add_arc = [&](Vertex u, Vertex v, double capacity) {
    auto forward = boost::add_edge(u, v, g).first;
    auto backward = boost::add_edge(v, u, g).first;
    g[forward] = EdgeProps{capacity, 0, backward, name};
    g[backward] = EdgeProps{0, 0, forward, name};
  };
  add_arc(a, b, bytes_per_s);
  add_arc(b, a, bytes_per_s);
}

}  // namespace

TopologySummary summarize_topology(const ClusterSpec& c, int from_gpu, int to_gpu) {
  const int gpus = c.nodes * c.gpus_per_node;
  // Vertices: GPUs, then per node its NVLink switch and its scale-out leaf, then the
  // core, then a source and a sink for the bisection's max flow. (One graph: edge
  // descriptors stored as reverse edges do not survive a copy.)
  Graph g(static_cast<std::size_t>(gpus + 2 * c.nodes + 3));
  auto nvswitch = [&](int node) { return static_cast<Vertex>(gpus + 2 * node); };
  auto leaf = [&](int node) { return static_cast<Vertex>(gpus + 2 * node + 1); };
  const Vertex core = static_cast<Vertex>(gpus + 2 * c.nodes);
  const Vertex source = core + 1, sink = core + 2;
  TopologySummary summary;
  summary.gpus = gpus;
  for (int n = 0; n < c.nodes; ++n) {
    for (int k = 0; k < c.gpus_per_node; ++k) {
      const Vertex gpu = static_cast<Vertex>(n * c.gpus_per_node + k);
      add_link(g, gpu, nvswitch(n), c.scale_up.bandwidth_bytes_per_s, fmt::format("nvlink-{}-{}", n, k));
      add_link(g, gpu, leaf(n), c.scale_out.bandwidth_bytes_per_s, fmt::format("nic-{}-{}", n, k));
      summary.links += 2;
    }
    if (c.nodes > 1) {
      add_link(g, leaf(n), core, uplink_bytes_per_s(c), fmt::format("uplink-{}", n));
      ++summary.links;
    }
  }

  if (c.nodes > 1) {  // bisection: max flow from the first half's GPUs to the second half's
    const double unbounded = 1e30;
    for (int gpu = 0; gpu < gpus; ++gpu) {
      const bool first_half = gpu / c.gpus_per_node < c.nodes / 2;
      const Vertex from = first_half ? source : static_cast<Vertex>(gpu);
      const Vertex to = first_half ? static_cast<Vertex>(gpu) : sink;
      auto forward = boost::add_edge(from, to, g).first;
      auto backward = boost::add_edge(to, from, g).first;
      g[forward] = EdgeProps{unbounded, 0, backward, ""};
      g[backward] = EdgeProps{0, 0, forward, ""};
    }
    summary.bisection_bytes_per_s = boost::push_relabel_max_flow(
        g, source, sink, boost::get(&EdgeProps::capacity, g), boost::get(&EdgeProps::residual, g),
        boost::get(&EdgeProps::reverse, g), boost::get(boost::vertex_index, g));
  }

  // The path: breadth-first over arcs with capacity, recording each vertex's arc in.
  std::vector<Graph::edge_descriptor> via(boost::num_vertices(g));
  std::vector<bool> seen(boost::num_vertices(g), false);
  std::vector<Vertex> frontier = {static_cast<Vertex>(from_gpu)};
  seen[static_cast<std::size_t>(from_gpu)] = true;
  // GPUs relay nothing: a path enters a GPU only as its destination.
  for (std::size_t i = 0; i < frontier.size(); ++i) {
    const Vertex u = frontier[i];
    if (u == static_cast<Vertex>(to_gpu)) break;
    if (u < static_cast<Vertex>(gpus) && u != static_cast<Vertex>(from_gpu)) continue;
    for (auto [e, end] = boost::out_edges(u, g); e != end; ++e) {
      const Vertex v = boost::target(*e, g);
      if (g[*e].capacity <= 0 || g[*e].name.empty() || seen[v]) continue;  // links only, not the terminals
      seen[v] = true;
      via[v] = *e;
      frontier.push_back(v);
    }
  }
  if (from_gpu != to_gpu && seen[static_cast<std::size_t>(to_gpu)]) {
    for (Vertex v = static_cast<Vertex>(to_gpu); v != static_cast<Vertex>(from_gpu); v = boost::source(via[v], g)) {
      summary.path.push_back(g[via[v]].name);
    }
    std::reverse(summary.path.begin(), summary.path.end());
  }
  return summary;
}

}  // namespace convsim
