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
  auto* zone = sg4::create_full_zone("cluster");
  sg4::Link* spine = nullptr;
  if (cluster.nodes > 1) {
    spine = zone->create_link("spine", cluster.scale_out.bandwidth_bytes_per_s)
                ->set_latency(0)
                ->set_sharing_policy(sg4::Link::SharingPolicy::FATPIPE)
                ->seal();
  }
  std::vector<sg4::Link*> nvlinks, nics, pcie, nvme_links;
  for (int n = 0; n < cluster.nodes; ++n) {
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
  using D = sg4::LinkInRoute::Direction;
  for (int a = 0; a < total; ++a) {
    for (int b = a + 1; b < total; ++b) {
      std::vector<sg4::LinkInRoute> links;
      if (platform.node_of(a) == platform.node_of(b)) {
        links = {sg4::LinkInRoute(nvlinks[a], D::UP), sg4::LinkInRoute(nvlinks[b], D::DOWN)};
      } else {
        links = {sg4::LinkInRoute(nics[a], D::UP), sg4::LinkInRoute(spine), sg4::LinkInRoute(nics[b], D::DOWN)};
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
  zone->seal();
  return platform;
}

}  // namespace convsim
