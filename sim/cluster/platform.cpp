#include "sim/cluster/platform.hpp"

#include <string>

#include <fmt/format.h>

namespace sg4 = simgrid::s4u;

namespace convsim {

void configure_exact_models(sg4::Engine& engine) {
  // ptask_L07 is exact (latency once, then bytes / bandwidth) and supports parallel
  // tasks; without cross-traffic and TCP-gamma no correction factor applies.
  engine.set_config("host/model:ptask_L07");
  engine.set_config("network/crosstraffic:0");
  engine.set_config("network/TCP-gamma:0");
  // One actor per replica: 10,000 GPUs make 1,250 actors, whose default 8 MiB stacks
  // would reserve 10 GB of address space. Our actors' stacks stay shallow.
  engine.set_config("contexts/stack-size:512");
}

namespace {

using D = sg4::LinkInRoute::Direction;

// SimGrid's side of the lowering: the links and hosts made so far, by graph id.
class Lowering {
 public:
  Lowering(const Topology& topology, Platform& platform)
      : topology_(topology), platform_(platform), links_(topology.link_count(), nullptr),
        hosts_(boost::num_vertices(topology.graph()), nullptr) {}

  sg4::Link* link(sg4::NetZone* zone, int id) {
    sg4::Link*& made = links_[static_cast<std::size_t>(id)];
    if (made == nullptr) {
      const TopologyLink& l = topology_.link(id);
      made = zone->create_split_duplex_link(l.name, l.bytes_per_s)->set_latency(l.latency_s)->seal();
    }
    return made;
  }

  // Creates every link of `node` in `zone`, in the graph's order (deterministic ids).
  void links_of_node(sg4::NetZone* zone, int node) {
    for (std::size_t id = 0; id < topology_.link_count(); ++id) {
      if (topology_.link(static_cast<int>(id)).node == node) link(zone, static_cast<int>(id));
    }
  }

  // The CPU, the NVMe target and the GPUs of `node`, as hosts of `zone`, and the
  // GPUs' links in the Platform's per-GPU lists.
  void hosts_of_node(sg4::NetZone* zone, int node, double gpu_speed) {
    const auto n = static_cast<std::size_t>(node);
    platform_.cpus[n] = host(zone, topology_.cpu(node), 1e9);
    platform_.nvme[n] = host(zone, topology_.nvme(node), 1e9);
    const bool nvswitch = scale_up_is_nvswitch(topology_.cluster());
    for (int g = 0; g < topology_.cluster().gpus_per_node; ++g) {
      const int index = node * topology_.cluster().gpus_per_node + g;
      const auto i = static_cast<std::size_t>(index);
      const TopologyVertexId gpu = topology_.gpu(index);
      platform_.gpus[i] = host(zone, gpu, gpu_speed);
      for (auto [e, end] = boost::out_edges(gpu, topology_.graph()); e != end; ++e) {
        const TopologyLink& l = topology_.graph()[*e];
        sg4::Link* made = link(zone, l.id);
        if (l.kind == LinkKind::gpu_port) platform_.nvlinks[i] = made;
        if ((l.kind == LinkKind::gpu_port && !nvswitch) || l.kind == LinkKind::host_link) platform_.pcie[i] = made;
        if (l.kind == LinkKind::nic) platform_.nics[i] = made;
      }
    }
  }

  std::vector<sg4::LinkInRoute> links_of(sg4::NetZone* zone, const std::vector<Hop>& route) {
    std::vector<sg4::LinkInRoute> out;
    out.reserve(route.size());
    for (const Hop& hop : route) out.emplace_back(link(zone, hop.link), hop.up ? D::UP : D::DOWN);
    return out;
  }

  // The graph's route between two hosts, added to `zone` both ways.
  void add_route(sg4::NetZone* zone, TopologyVertexId from, TopologyVertexId to) {
    zone->add_route(hosts_[from]->get_netpoint(), hosts_[to]->get_netpoint(), nullptr, nullptr,
                    links_of(zone, topology_.route(from, to)), true);
  }

  // Routes from every GPU of `node` to its CPU and NVMe, and to the other GPUs of the
  // node (or, with `all_gpus`, of the cluster: the flat zone).
  void gpu_routes(sg4::NetZone* zone, int node, bool all_gpus) {
    const int per_node = topology_.cluster().gpus_per_node;
    const int last = all_gpus ? topology_.gpu_count() : (node + 1) * per_node;
    for (int a = node * per_node; a < (node + 1) * per_node; ++a) {
      for (int b = a + 1; b < last; ++b) add_route(zone, topology_.gpu(a), topology_.gpu(b));
      add_route(zone, topology_.gpu(a), topology_.cpu(node));
      add_route(zone, topology_.gpu(a), topology_.nvme(node));
    }
  }

 private:
  sg4::Host* host(sg4::NetZone* zone, TopologyVertexId v, double speed) {
    hosts_[v] = zone->create_host(topology_.graph()[v].name, speed)->seal();
    return hosts_[v];
  }

  const Topology& topology_;
  Platform& platform_;
  std::vector<sg4::Link*> links_;
  std::vector<sg4::Host*> hosts_;
};

Platform start(const ClusterSpec& cluster) {
  Platform platform;
  platform.nodes = cluster.nodes;
  platform.gpus_per_node = cluster.gpus_per_node;
  const auto gpus = static_cast<std::size_t>(cluster.nodes) * static_cast<std::size_t>(cluster.gpus_per_node);
  const auto nodes = static_cast<std::size_t>(cluster.nodes);
  platform.gpus.assign(gpus, nullptr);
  platform.cpus.assign(nodes, nullptr);
  platform.nvme.assign(nodes, nullptr);
  platform.nvlinks.assign(gpus, nullptr);
  platform.nics.assign(gpus, nullptr);
  platform.pcie.assign(gpus, nullptr);
  return platform;
}

Platform build_flat(const Topology& topology) {
  const ClusterSpec& cluster = topology.cluster();
  Platform platform = start(cluster);
  Lowering lowering(topology, platform);
  auto* zone = sg4::create_full_zone("cluster");
  for (int n = 0; n < cluster.nodes; ++n) {
    lowering.links_of_node(zone, n);
    lowering.hosts_of_node(zone, n, cluster.gpu.peak_for(Precision::bf16));
  }
  for (std::size_t id = 0; id < topology.link_count(); ++id) lowering.link(zone, static_cast<int>(id));
  for (int n = 0; n < cluster.nodes; ++n) lowering.gpu_routes(zone, n, true);
  zone->seal();
  return platform;
}

// Fat-tree clusters beyond kFlatZoneMaxNodes: a full zone per node under a star zone.
Platform build_hierarchical(const Topology& topology, const std::vector<bool>& nodes_wanted) {
  const ClusterSpec& cluster = topology.cluster();
  xbt_assert(cluster.scale_out_topology == ScaleOutTopology::fat_tree && cluster.nodes > 1,
             "the zone-per-node lowering needs a fat-tree of several nodes");
  Platform platform = start(cluster);
  Lowering lowering(topology, platform);
  auto* top = sg4::create_star_zone("cluster");
  for (int n = 0; n < cluster.nodes; ++n) {
    if (!nodes_wanted.empty() && !nodes_wanted[static_cast<std::size_t>(n)]) continue;
    auto* zone = sg4::create_full_zone(fmt::format("node-{}", n));
    zone->set_parent(top);
    const TopologyVertexId leaf = topology.leaf(n);
    auto* gateway = zone->create_router(topology.graph()[leaf].name);
    lowering.links_of_node(zone, n);
    lowering.hosts_of_node(zone, n, cluster.gpu.peak_for(Precision::bf16));
    lowering.gpu_routes(zone, n, false);
    for (int g = 0; g < cluster.gpus_per_node; ++g) {
      const TopologyVertexId gpu = topology.gpu(n * cluster.gpus_per_node + g);
      zone->add_route(platform.gpus[static_cast<std::size_t>(n * cluster.gpus_per_node + g)]->get_netpoint(), gateway,
                      nullptr, nullptr,
                      lowering.links_of(zone, topology.route(gpu, leaf, Plane::scale_out)), true);
    }
    zone->seal();
    top->add_route(zone->get_netpoint(), nullptr, gateway, nullptr,
                   lowering.links_of(top, topology.route(leaf, topology.core(), Plane::scale_out)), true);
  }
  top->seal();
  return platform;
}

}  // namespace

Platform build_platform(const ClusterSpec& cluster, const std::vector<bool>& nodes_wanted) {
  xbt_assert(nodes_wanted.empty() || nodes_wanted.size() == static_cast<std::size_t>(cluster.nodes),
             "nodes_wanted names every node or none");
  const Topology topology(cluster);
  if (cluster.nodes > kFlatZoneMaxNodes && cluster.scale_out_topology == ScaleOutTopology::fat_tree) {
    return build_hierarchical(topology, nodes_wanted);
  }
  return build_flat(topology);
}

}  // namespace convsim
