// convsim topology: the cluster's GPUs, links, bisection bandwidth and a path.

#include <iostream>

#include <fmt/format.h>

#include "sim/cli/commands.hpp"
#include "sim/cluster/topology.hpp"
#include "sim/scenario/config_error.hpp"

namespace convsim::cli {

int command_topology(const std::string& path, const std::vector<std::string>& sets, int from_gpu, int to_gpu) {
  const Catalog catalog = open_catalog(default_catalog_dir());
  const Scenario scenario = load_scenario(path, parse_overrides(sets), catalog, VariantCheck::skip);
  const ClusterSpec& c = scenario.cluster;
  const int gpus = c.nodes * c.gpus_per_node;
  if (to_gpu < 0) to_gpu = gpus - 1;
  if (from_gpu >= gpus || to_gpu >= gpus) {
    throw ConfigError(fmt::format("{}: --from {} --to {}: the cluster has GPUs 0 to {}", path, from_gpu, to_gpu, gpus - 1));
  }
  const TopologySummary t = summarize_topology(c, from_gpu, to_gpu);
  const double gb = 1e9;
  std::cout << fmt::format("{}: {} nodes x {} {} = {} GPUs; {} links\n", scenario.name, c.nodes, c.gpus_per_node,
                           c.gpu.name, t.gpus, t.links);
  if (scale_up_is_nvswitch(c)) {
    std::cout << fmt::format("scale-up: NVSwitch, {} ports of {:.1f} GB/s per GPU per direction\n", c.scale_up.name,
                             c.scale_up.bandwidth_bytes_per_s / gb);
  } else {
    std::cout << fmt::format("scale-up: {} PCIe switches per node, {} ports of {:.1f} GB/s per GPU per direction, "
                             "one x16 uplink of {:.1f} GB/s per switch to the CPU\n",
                             c.pcie_switches_per_node, c.scale_up.name, c.scale_up.bandwidth_bytes_per_s / gb,
                             c.scale_up.bandwidth_bytes_per_s / gb);
  }
  if (c.scale_out_topology == ScaleOutTopology::fat_tree) {
    std::cout << fmt::format("scale-out: fat-tree, {} NICs of {:.1f} GB/s, node uplinks of {:.1f} GB/s ({}:1 "
                             "oversubscription)\n",
                             c.scale_out.name, c.scale_out.bandwidth_bytes_per_s / gb, uplink_bytes_per_s(c) / gb,
                             c.oversubscription);
  } else {
    std::cout << fmt::format("scale-out: rail-optimised, {} rails of {} NICs of {:.1f} GB/s ({}), rail uplinks of "
                             "{:.1f} GB/s to the spine ({}:1 oversubscription)\n",
                             c.gpus_per_node, c.nodes, c.scale_out.bandwidth_bytes_per_s / gb, c.scale_out.name,
                             rail_uplink_bytes_per_s(c) / gb, c.oversubscription);
  }
  std::cout << fmt::format("bisection bandwidth (first half of the nodes to the second): {:.1f} GB/s per direction\n",
                           t.bisection_bytes_per_s / gb);
  std::cout << fmt::format("node bisection bandwidth (first half of a node's GPUs to the second): {:.1f} GB/s per "
                           "direction\n",
                           t.node_bisection_bytes_per_s / gb);
  std::cout << fmt::format("path from GPU {} to GPU {}:", from_gpu, to_gpu);
  for (const std::string& link : t.path) std::cout << ' ' << link;
  std::cout << '\n';
  return 0;
}

}  // namespace convsim::cli
