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
// Every link is made in `link_zone`. SimGrid checks a new link's name against every
// zone under the root, so a zone-per-node build makes all its links in the root zone
// first (links_only), in the order the build meets them, and then the zones, hosts
// and routes, which find their links made: the links then cost time linear in the
// nodes (the hosts still do not: see build_platform in platform.hpp).
class Lowering {
 public:
  Lowering(const Topology& topology, Platform& platform, sg4::NetZone* link_zone)
      : topology_(topology), platform_(platform), link_zone_(link_zone), links_(topology.link_count(), nullptr),
        hosts_(boost::num_vertices(topology.graph()), nullptr),
        node_links_(static_cast<std::size_t>(topology.cluster().nodes)) {
    for (std::size_t id = 0; id < topology.link_count(); ++id) {
      const int node = topology.link(static_cast<int>(id)).node;
      if (node >= 0) node_links_[static_cast<std::size_t>(node)].push_back(static_cast<int>(id));
    }
  }

  // While set, the calls below make links alone: no host, no route, no list entry.
  void set_links_only(bool links_only) { links_only_ = links_only; }

  sg4::Link* link(int id) {
    sg4::Link*& made = links_[static_cast<std::size_t>(id)];
    if (made == nullptr) {
      const TopologyLink& l = topology_.link(id);
      made = link_zone_->create_split_duplex_link(l.name, l.bytes_per_s)->set_latency(l.latency_s)->seal();
    }
    return made;
  }

  // Creates every link of `node`, in the graph's order (deterministic ids).
  void links_of_node(int node) {
    for (int id : node_links_[static_cast<std::size_t>(node)]) link(id);
  }

  // The CPU, the NVMe target and the GPUs of `node`, as hosts of `zone`, and the
  // GPUs' links in the Platform's per-GPU lists.
  void hosts_of_node(sg4::NetZone* zone, int node, double gpu_speed) {
    const auto n = static_cast<std::size_t>(node);
    if (!links_only_) {
      platform_.cpus[n] = host(zone, topology_.cpu(node), 1e9);
      platform_.nvme[n] = host(zone, topology_.nvme(node), 1e9);
    }
    const bool nvswitch = scale_up_is_nvswitch(topology_.cluster());
    for (int g = 0; g < topology_.cluster().gpus_per_node; ++g) {
      const int index = node * topology_.cluster().gpus_per_node + g;
      const auto i = static_cast<std::size_t>(index);
      const TopologyVertexId gpu = topology_.gpu(index);
      if (!links_only_) platform_.gpus[i] = host(zone, gpu, gpu_speed);
      for (auto [e, end] = boost::out_edges(gpu, topology_.graph()); e != end; ++e) {
        const TopologyLink& l = topology_.graph()[*e];
        sg4::Link* made = link(l.id);
        if (links_only_) continue;
        if (l.kind == LinkKind::gpu_port) platform_.nvlinks[i] = made;
        if ((l.kind == LinkKind::gpu_port && !nvswitch) || l.kind == LinkKind::host_link) platform_.pcie[i] = made;
        if (l.kind == LinkKind::nic) platform_.nics[i] = made;
      }
    }
  }

  std::vector<sg4::LinkInRoute> links_of(const std::vector<Hop>& route) {
    std::vector<sg4::LinkInRoute> out;
    out.reserve(route.size());
    for (const Hop& hop : route) out.emplace_back(link(hop.link), hop.up ? D::UP : D::DOWN);
    return out;
  }

  // The graph's route between two hosts, added to `zone` both ways.
  void add_route(sg4::NetZone* zone, TopologyVertexId from, TopologyVertexId to) {
    std::vector<sg4::LinkInRoute> links = links_of(topology_.route(from, to));
    if (links_only_) return;
    zone->add_route(hosts_[from]->get_netpoint(), hosts_[to]->get_netpoint(), nullptr, nullptr, links, true);
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
  sg4::NetZone* link_zone_;
  bool links_only_ = false;
  std::vector<sg4::Link*> links_;
  std::vector<sg4::Host*> hosts_;
  std::vector<std::vector<int>> node_links_;  // per node, its links' ids in the graph's order
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
  auto* zone = sg4::create_full_zone("cluster");
  Lowering lowering(topology, platform, zone);
  for (int n = 0; n < cluster.nodes; ++n) {
    lowering.links_of_node(n);
    lowering.hosts_of_node(zone, n, cluster.gpu.peak_for(Precision::bf16));
  }
  for (std::size_t id = 0; id < topology.link_count(); ++id) lowering.link(static_cast<int>(id));
  for (int n = 0; n < cluster.nodes; ++n) lowering.gpu_routes(zone, n, true);
  zone->seal();
  return platform;
}

// Fat-tree clusters beyond kFlatZoneMaxNodes: a full zone per node under a star zone.
// Walked twice: the links alone (made in the star zone, before any node zone exists),
// then the zones, their hosts and routes.
Platform build_hierarchical(const Topology& topology, const std::vector<bool>& nodes_wanted) {
  const ClusterSpec& cluster = topology.cluster();
  xbt_assert(cluster.scale_out_topology == ScaleOutTopology::fat_tree && cluster.nodes > 1,
             "the zone-per-node lowering needs a fat-tree of several nodes");
  Platform platform = start(cluster);
  auto* top = sg4::create_star_zone("cluster");
  Lowering lowering(topology, platform, top);
  const double gpu_speed = cluster.gpu.peak_for(Precision::bf16);
  for (const bool links_only : {true, false}) {
    lowering.set_links_only(links_only);
    for (int n = 0; n < cluster.nodes; ++n) {
      if (!nodes_wanted.empty() && !nodes_wanted[static_cast<std::size_t>(n)]) continue;
      const TopologyVertexId leaf = topology.leaf(n);
      sg4::NetZone* zone = nullptr;
      simgrid::kernel::routing::NetPoint* gateway = nullptr;
      if (!links_only) {
        zone = sg4::create_full_zone(fmt::format("node-{}", n));
        zone->set_parent(top);
        gateway = zone->create_router(topology.graph()[leaf].name);
      }
      lowering.links_of_node(n);
      lowering.hosts_of_node(zone, n, gpu_speed);
      lowering.gpu_routes(zone, n, false);
      for (int g = 0; g < cluster.gpus_per_node; ++g) {
        const int index = n * cluster.gpus_per_node + g;
        const auto route = lowering.links_of(topology.route(topology.gpu(index), leaf, Plane::scale_out));
        if (!links_only) {
          zone->add_route(platform.gpus[static_cast<std::size_t>(index)]->get_netpoint(), gateway, nullptr, nullptr,
                          route, true);
        }
      }
      const auto uplink = lowering.links_of(topology.route(leaf, topology.core(), Plane::scale_out));
      if (!links_only) {
        zone->seal();
        top->add_route(zone->get_netpoint(), nullptr, gateway, nullptr, uplink, true);
      }
    }
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
