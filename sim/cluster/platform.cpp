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
}

Platform build_platform(const ClusterSpec& cluster) {
  Platform platform;
  platform.nodes = cluster.nodes;
  platform.gpus_per_node = cluster.gpus_per_node;
  const double speed = cluster.gpu.peak_for(Precision::bf16);

  auto* top = sg4::create_full_zone("cluster");
  sg4::Link* spine = nullptr;
  if (cluster.nodes > 1) {
    spine = top->create_link("spine", cluster.scale_out.bandwidth_bytes_per_s)
                ->set_latency(0)
                ->set_sharing_policy(sg4::Link::SharingPolicy::FATPIPE)
                ->seal();
  }
  std::vector<sg4::NetZone*> node_zones;
  std::vector<simgrid::kernel::routing::NetPoint*> gateways;
  for (int n = 0; n < cluster.nodes; ++n) {
    auto* zone = sg4::create_full_zone(fmt::format("node-{}", n));
    zone->set_parent(top);
    auto* gateway = zone->create_router(fmt::format("node-{}-switch", n));
    std::vector<sg4::Host*> hosts;
    std::vector<sg4::Link*> nvlinks;
    for (int g = 0; g < cluster.gpus_per_node; ++g) {
      sg4::Host* host = zone->create_host(fmt::format("gpu-{}-{}", n, g), speed)->seal();
      auto* nvlink = zone->create_split_duplex_link(fmt::format("nvlink-{}-{}", n, g),
                                                    cluster.scale_up.bandwidth_bytes_per_s)
                         ->set_latency(cluster.scale_up.latency_s / 2.0)
                         ->seal();
      auto* nic = zone->create_split_duplex_link(fmt::format("nic-{}-{}", n, g),
                                                 cluster.scale_out.bandwidth_bytes_per_s)
                      ->set_latency(cluster.scale_out.latency_s / 2.0)
                      ->seal();
      zone->add_route(host->get_netpoint(), gateway, nullptr, nullptr,
                      {sg4::LinkInRoute(nic, sg4::LinkInRoute::Direction::UP)}, true);
      hosts.push_back(host);
      nvlinks.push_back(nvlink);
      platform.gpus.push_back(host);
    }
    for (int a = 0; a < cluster.gpus_per_node; ++a) {
      for (int b = a + 1; b < cluster.gpus_per_node; ++b) {
        zone->add_route(hosts[a]->get_netpoint(), hosts[b]->get_netpoint(), nullptr, nullptr,
                        {sg4::LinkInRoute(nvlinks[a], sg4::LinkInRoute::Direction::UP),
                         sg4::LinkInRoute(nvlinks[b], sg4::LinkInRoute::Direction::DOWN)},
                        true);
      }
    }
    zone->seal();
    node_zones.push_back(zone);
    gateways.push_back(gateway);
  }
  for (int a = 0; a < cluster.nodes; ++a) {
    for (int b = a + 1; b < cluster.nodes; ++b) {
      top->add_route(node_zones[a]->get_netpoint(), node_zones[b]->get_netpoint(), gateways[a], gateways[b],
                     {sg4::LinkInRoute(spine)}, true);
    }
  }
  top->seal();
  return platform;
}

}  // namespace convsim
