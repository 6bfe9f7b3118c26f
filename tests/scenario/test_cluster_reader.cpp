// The cluster section's topology keys: defaults, and each bad value reported at its
// spot (file:line:column, 1-based) with the allowed values.

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "sim/scenario/config_error.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;

TEST_CASE("a cluster is NVSwitch nodes on a fat-tree unless it says otherwise") {
  const ClusterSpec plain = test::scenario_from(test::kClusterHead).cluster;
  CHECK(plain.scale_up_topology == ScaleUpTopology::nvswitch);
  CHECK(plain.scale_out_topology == ScaleOutTopology::fat_tree);
  const ClusterSpec pcie =
      test::scenario_from(test::kClusterHead + "  scale_up_topology: pcie_switch\n  scale_up: pcie5\n  scale_out_topology: "
                                  "rail_optimized\n  nodes: 2\n")
          .cluster;
  CHECK(pcie.scale_up_topology == ScaleUpTopology::pcie_switch);
  CHECK(pcie.pcie_switches_per_node == 2);
  CHECK(pcie.scale_out_topology == ScaleOutTopology::rail_optimized);
  // Three GPUs cannot be split over two switches: one by default.
  CHECK(test::scenario_from(test::kClusterHead + "  gpus_per_node: 3\n  scale_up_topology: pcie_switch\n  scale_up: pcie4\n")
            .cluster.pcie_switches_per_node == 1);
  const ClusterSpec overridden =
      test::scenario_from(test::kClusterHead, {{"cluster.scale_out_topology", "rail_optimized"}}).cluster;
  CHECK(overridden.scale_out_topology == ScaleOutTopology::rail_optimized);
}

TEST_CASE("each bad cluster topology value is reported with its exact located message", "[scenario][errors]") {
  struct Case {
    const char* rule;
    std::string lines;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"an unknown scale-up topology names the two allowed", "  scale_up_topology: nvlink\n",
       "test.yaml:6:22: cluster.scale_up_topology: unknown value 'nvlink'; allowed: nvswitch, pcie_switch"},
      {"an unknown scale-out topology names the two allowed", "  scale_out_topology: rails\n",
       "test.yaml:6:23: cluster.scale_out_topology: unknown value 'rails'; allowed: fat_tree, rail_optimized"},
      {"PCIe switches share a node's GPUs evenly",
       "  scale_up_topology: pcie_switch\n  scale_up: pcie4\n  pcie_switches_per_node: 3\n",
       "test.yaml:8:27: cluster.pcie_switches_per_node = 3 must divide cluster.gpus_per_node = 8: every switch "
       "holds as many GPUs"},
      {"at least one PCIe switch", "  scale_up_topology: pcie_switch\n  scale_up: pcie4\n  pcie_switches_per_node: 0\n",
       "test.yaml:8:27: cluster.pcie_switches_per_node must be >= 1, got 0"},
      {"PCIe nodes need a PCIe fabric", "  scale_up_topology: pcie_switch\n  scale_up: nvlink4\n",
       "test.yaml:7:13: cluster.scale_up: 'nvlink4' is not a PCIe fabric; cluster.scale_up_topology pcie_switch "
       "needs one: pcie4, pcie5"},
      {"PCIe nodes need a PCIe fabric, also when scale_up is left to its default",
       "  scale_up_topology: pcie_switch\n",
       "test.yaml:5:3: cluster.scale_up: 'nvlink4' is not a PCIe fabric; cluster.scale_up_topology pcie_switch "
       "needs one: pcie4, pcie5"},
      {"rail-optimised clusters are bounded", "  nodes: 65\n  scale_out_topology: rail_optimized\n",
       "test.yaml:7:23: cluster.scale_out_topology: rail_optimized is limited to " +
           std::to_string(kRailOptimizedMaxGpus) + " GPUs, but nodes * gpus_per_node = 65 * 8 = 520; use fat_tree"},
  };
  for (const Case& c : cases) {
    INFO(c.rule);
    CHECK(test::cluster_error_of(c.lines) == c.expected);
  }
}

TEST_CASE("a key the chosen scale-up topology does not use is a located warning, so compare variants can switch") {
  const Scenario nvswitch = test::scenario_from(test::kClusterHead + "  pcie_switches_per_node: 2\n");
  CHECK(nvswitch.warnings == std::vector<std::string>{"test.yaml:6:27: warning: cluster.pcie_switches_per_node: not "
                                                      "used with cluster.scale_up_topology: nvswitch"});
  const Scenario pcie =
      test::scenario_from(test::kClusterHead + "  scale_up_topology: pcie_switch\n  scale_up: pcie5\n  host_link: pcie5\n");
  CHECK(pcie.warnings == std::vector<std::string>{"test.yaml:8:14: warning: cluster.host_link: not used with "
                                                  "cluster.scale_up_topology: pcie_switch (the GPUs reach host memory "
                                                  "through their PCIe switch, over cluster.scale_up)"});
  // A PCIe base with four switches and a variant back on NVSwitch: both load.
  const Scenario compared = test::scenario_from(
      test::kClusterHead + "  scale_up_topology: pcie_switch\n  scale_up: pcie5\n  pcie_switches_per_node: 4\n" +
      "compare:\n  - {name: nvswitch, set: {cluster.scale_up_topology: nvswitch, cluster.scale_up: nvlink4}}\n");
  CHECK(compared.cluster.pcie_switches_per_node == 4);
  CHECK(compared.variants.size() == 1);
}

TEST_CASE("a cluster's scale-up fabric is its GPU's own unless cluster.scale_up names another") {
  // Each baseboard's NVLink generation: NVLink 4 (H100 HGX, 450 GB/s a direction),
  // NVLink 5 (B200 HGX, 900 GB/s), NVLink 3 (A100 HGX, 300 GB/s).
  const std::vector<std::pair<std::string, double>> expected = {
      {"h100-sxm", 450e9}, {"b200", 900e9}, {"a100-sxm", 300e9}};
  for (const auto& [gpu, bytes_per_s] : expected) {
    INFO(gpu);
    std::string text = test::kClusterHead;
    text.replace(text.find("h100-sxm"), 8, gpu);
    const ClusterSpec cluster = test::scenario_from(text).cluster;
    CHECK(cluster.scale_up.bandwidth_bytes_per_s == Approx(bytes_per_s));
  }
  std::string b200 = test::kClusterHead;
  b200.replace(b200.find("h100-sxm"), 8, "b200");
  CHECK(test::scenario_from(b200 + "  scale_up: nvlink4\n").cluster.scale_up.name == "nvlink4");
  for (const auto& [name, gpu] : test::catalog().gpus) {
    INFO(name);
    REQUIRE(test::catalog().fabrics.count(gpu.scale_up) == 1);
    CHECK(test::catalog().fabrics.at(gpu.scale_up).kind == FabricKind::scale_up);
  }
}
