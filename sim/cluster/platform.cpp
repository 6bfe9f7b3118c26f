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

double uplink_bytes_per_s(const ClusterSpec& cluster) {
  return cluster.gpus_per_node * cluster.scale_out.bandwidth_bytes_per_s / cluster.oversubscription;
}

namespace {

using D = sg4::LinkInRoute::Direction;

sg4::Link* port(sg4::NetZone* zone, const std::string& name, double bytes_per_s, double latency_s) {
  return zone->create_split_duplex_link(name, bytes_per_s)->set_latency(latency_s)->seal();
}

// Large clusters: a full zone per node (its GPUs, CPU, NVMe and a switch as
// gateway) under a star zone, each node reaching the others through its own
// uplink of gpus_per_node NICs' worth of bandwidth (non-blocking). O(nodes) routes.
Platform build_hierarchical(const ClusterSpec& cluster) {
  Platform platform;
  platform.nodes = cluster.nodes;
  platform.gpus_per_node = cluster.gpus_per_node;
  const double speed = cluster.gpu.peak_for(Precision::bf16);
  auto* top = sg4::create_star_zone("cluster");
  for (int n = 0; n < cluster.nodes; ++n) {
    auto* zone = sg4::create_full_zone(fmt::format("node-{}", n));
    zone->set_parent(top);
    auto* gateway = zone->create_router(fmt::format("node-{}-switch", n));
    sg4::Host* cpu = zone->create_host(fmt::format("cpu-{}", n), 1e9)->seal();
    sg4::Host* nvme = zone->create_host(fmt::format("nvme-{}", n), 1e9)->seal();
    platform.cpus.push_back(cpu);
    platform.nvme.push_back(nvme);
    sg4::Link* nvme_link = port(zone, fmt::format("nvme-{}", n), cluster.nvme_bytes_per_s_per_node, 0);
    std::vector<sg4::Host*> hosts;
    std::vector<sg4::Link*> nvlinks;
    for (int g = 0; g < cluster.gpus_per_node; ++g) {
      sg4::Host* host = zone->create_host(fmt::format("gpu-{}-{}", n, g), speed)->seal();
      nvlinks.push_back(port(zone, fmt::format("nvlink-{}-{}", n, g), cluster.scale_up.bandwidth_bytes_per_s,
                             cluster.scale_up.latency_s / 2.0));
      sg4::Link* nic = port(zone, fmt::format("nic-{}-{}", n, g), cluster.scale_out.bandwidth_bytes_per_s,
                            cluster.scale_out.latency_s / 2.0);
      sg4::Link* pcie =
          port(zone, fmt::format("pcie-{}-{}", n, g), cluster.host_link.bandwidth_bytes_per_s, cluster.host_link.latency_s);
      platform.nvlinks.push_back(nvlinks.back());
      platform.nics.push_back(nic);
      platform.pcie.push_back(pcie);
      zone->add_route(host->get_netpoint(), gateway, nullptr, nullptr, {sg4::LinkInRoute(nic, D::UP)}, true);
      zone->add_route(host->get_netpoint(), cpu->get_netpoint(), nullptr, nullptr, {sg4::LinkInRoute(pcie, D::UP)}, true);
      zone->add_route(host->get_netpoint(), nvme->get_netpoint(), nullptr, nullptr,
                      {sg4::LinkInRoute(pcie, D::UP), sg4::LinkInRoute(nvme_link, D::UP)}, true);
      hosts.push_back(host);
      platform.gpus.push_back(host);
    }
    for (int a = 0; a < cluster.gpus_per_node; ++a) {
      for (int b = a + 1; b < cluster.gpus_per_node; ++b) {
        zone->add_route(hosts[a]->get_netpoint(), hosts[b]->get_netpoint(), nullptr, nullptr,
                        {sg4::LinkInRoute(nvlinks[a], D::UP), sg4::LinkInRoute(nvlinks[b], D::DOWN)}, true);
      }
    }
    zone->seal();
    sg4::Link* uplink = port(top, fmt::format("uplink-{}", n), uplink_bytes_per_s(cluster), 0);
    top->add_route(zone->get_netpoint(), nullptr, gateway, nullptr, {sg4::LinkInRoute(uplink, D::UP)}, true);
  }
  top->seal();
  return platform;
}

}  // namespace

Platform build_platform(const ClusterSpec& cluster) {
  if (cluster.nodes > kFlatZoneMaxNodes) return build_hierarchical(cluster);
  Platform platform;
  platform.nodes = cluster.nodes;
  platform.gpus_per_node = cluster.gpus_per_node;
  const double speed = cluster.gpu.peak_for(Precision::bf16);
  auto* zone = sg4::create_full_zone("cluster");
  std::vector<sg4::Link*> nvlinks, nics, pcie, nvme_links, uplinks;
  for (int n = 0; n < cluster.nodes; ++n) {
    uplinks.push_back(port(zone, fmt::format("uplink-{}", n), uplink_bytes_per_s(cluster), 0));
    platform.cpus.push_back(zone->create_host(fmt::format("cpu-{}", n), 1e9)->seal());
    platform.nvme.push_back(zone->create_host(fmt::format("nvme-{}", n), 1e9)->seal());
    nvme_links.push_back(zone->create_split_duplex_link(fmt::format("nvme-{}", n), cluster.nvme_bytes_per_s_per_node)
                             ->set_latency(0)
                             ->seal());
    for (int g = 0; g < cluster.gpus_per_node; ++g) {
      platform.gpus.push_back(zone->create_host(fmt::format("gpu-{}-{}", n, g), speed)->seal());
      nvlinks.push_back(zone->create_split_duplex_link(fmt::format("nvlink-{}-{}", n, g), cluster.scale_up.bandwidth_bytes_per_s)
                            ->set_latency(cluster.scale_up.latency_s / 2.0)->seal());
      nics.push_back(zone->create_split_duplex_link(fmt::format("nic-{}-{}", n, g), cluster.scale_out.bandwidth_bytes_per_s)
                         ->set_latency(cluster.scale_out.latency_s / 2.0)->seal());
      pcie.push_back(zone->create_split_duplex_link(fmt::format("pcie-{}-{}", n, g), cluster.host_link.bandwidth_bytes_per_s)
                         ->set_latency(cluster.host_link.latency_s)
                         ->seal());
    }
  }
  const int total = static_cast<int>(platform.gpus.size());
  for (int a = 0; a < total; ++a) {
    for (int b = a + 1; b < total; ++b) {
      std::vector<sg4::LinkInRoute> links;
      if (platform.node_of(a) == platform.node_of(b)) {
        links = {sg4::LinkInRoute(nvlinks[a], D::UP), sg4::LinkInRoute(nvlinks[b], D::DOWN)};
      } else {
        links = {sg4::LinkInRoute(nics[a], D::UP), sg4::LinkInRoute(uplinks[platform.node_of(a)], D::UP),
                 sg4::LinkInRoute(uplinks[platform.node_of(b)], D::DOWN), sg4::LinkInRoute(nics[b], D::DOWN)};
      }
      zone->add_route(platform.gpus[a]->get_netpoint(), platform.gpus[b]->get_netpoint(), nullptr, nullptr, links, true);
    }
  }
  for (int a = 0; a < total; ++a) {
    const int node = platform.node_of(a);
    zone->add_route(platform.gpus[a]->get_netpoint(), platform.cpus[node]->get_netpoint(), nullptr, nullptr,
                    {sg4::LinkInRoute(pcie[a], D::UP)}, true);
    zone->add_route(platform.gpus[a]->get_netpoint(), platform.nvme[node]->get_netpoint(), nullptr, nullptr,
                    {sg4::LinkInRoute(pcie[a], D::UP), sg4::LinkInRoute(nvme_links[node], D::UP)}, true);
  }
  platform.nvlinks = nvlinks;
  platform.nics = nics;
  platform.pcie = pcie;
  zone->seal();
  return platform;
}

}  // namespace convsim
