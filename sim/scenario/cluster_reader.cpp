#include "sim/scenario/cluster_reader.hpp"

#include <string>
#include <vector>

#include <fmt/format.h>

#include "sim/scenario/text_util.hpp"

namespace convsim {

namespace {

bool is_pcie(const FabricSpec& fabric) { return fabric.name.rfind("pcie", 0) == 0; }

std::vector<std::string> pcie_fabrics(const Catalog& catalog) {
  std::vector<std::string> names;
  for (const auto& [name, fabric] : catalog.fabrics) {
    if (fabric.kind == FabricKind::scale_up && is_pcie(fabric)) names.push_back(name);
  }
  return names;
}

}  // namespace

void read_cluster_topology(const MapReader& c, const Catalog& catalog, ClusterSpec& spec,
                           std::vector<std::string>& warnings) {
  const Locator& at = c.locator();
  const std::string up = c.choice_or("scale_up_topology", "nvswitch", {"nvswitch", "pcie_switch"});
  spec.scale_up_topology = up == "pcie_switch" ? ScaleUpTopology::pcie_switch : ScaleUpTopology::nvswitch;
  const std::string out = c.choice_or("scale_out_topology", "fat_tree", {"fat_tree", "rail_optimized"});
  spec.scale_out_topology = out == "rail_optimized" ? ScaleOutTopology::rail_optimized : ScaleOutTopology::fat_tree;

  // A key of the other scale-up topology is a warning, not an error: a compare
  // variant switching topology cannot remove the base's keys.
  if (spec.scale_up_topology == ScaleUpTopology::nvswitch) {
    if (c.has("pcie_switches_per_node")) {
      warnings.push_back(fmt::format("{}: warning: cluster.pcie_switches_per_node: not used with "
                                     "cluster.scale_up_topology: nvswitch",
                                     at.where(c.spot("pcie_switches_per_node"))));
    }
  } else {
    // Two switches by default, as in 8-GPU PCIe servers with one switch per CPU
    // socket; one when the GPUs cannot be split evenly.
    const int fallback = spec.gpus_per_node % 2 == 0 ? 2 : 1;
    spec.pcie_switches_per_node = c.int_or("pcie_switches_per_node", fallback, Limits::at_least(1));
    if (spec.gpus_per_node % spec.pcie_switches_per_node != 0) {
      at.fail(c.has("pcie_switches_per_node") ? c.spot("pcie_switches_per_node") : c.node(),
              fmt::format("cluster.pcie_switches_per_node = {} must divide cluster.gpus_per_node = {}: every "
                          "switch holds as many GPUs",
                          spec.pcie_switches_per_node, spec.gpus_per_node));
    }
    if (!is_pcie(spec.scale_up)) {
      const std::vector<std::string> pcie = pcie_fabrics(catalog);
      at.fail(c.has("scale_up") ? c.spot("scale_up") : c.node(),
              fmt::format("cluster.scale_up: '{}' is not a PCIe fabric; cluster.scale_up_topology pcie_switch "
                          "needs one: {}",
                          spec.scale_up.name, pcie.empty() ? "none" : join(pcie)));
    }
    if (c.has("host_link")) {
      warnings.push_back(fmt::format("{}: warning: cluster.host_link: not used with cluster.scale_up_topology: "
                                     "pcie_switch (the GPUs reach host memory through their PCIe switch, over "
                                     "cluster.scale_up)",
                                     at.where(c.spot("host_link"))));
    }
  }

  if (spec.scale_out_topology == ScaleOutTopology::rail_optimized) {
    const long long gpus = static_cast<long long>(spec.nodes) * spec.gpus_per_node;
    if (gpus > kRailOptimizedMaxGpus) {
      at.fail(c.spot("scale_out_topology"),
              fmt::format("cluster.scale_out_topology: rail_optimized is limited to {} GPUs, but nodes * "
                          "gpus_per_node = {} * {} = {}; use fat_tree",
                          kRailOptimizedMaxGpus, spec.nodes, spec.gpus_per_node, gpus));
    }
  }
}

}  // namespace convsim
