#include <catch2/catch.hpp>

#include "sim/cluster/platform.hpp"
#include "sim/cluster/topology.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;

namespace {

ClusterSpec fat_tree(int nodes, double oversubscription) {
  ClusterSpec c;
  c.gpu = test::catalog().gpus.at("h100-sxm");
  c.nodes = nodes;
  c.gpus_per_node = 8;
  c.scale_up = test::catalog().fabrics.at("nvlink4");
  c.scale_out = test::catalog().fabrics.at("ib-ndr");  // 50 GB/s per NIC
  c.oversubscription = oversubscription;
  return c;
}

}  // namespace

TEST_CASE("the bisection of a two-level fat-tree with oversubscription equals the hand count") {
  // 8 nodes of 8 GPUs with 50 GB/s NICs. Each node's uplink carries 8 x 50 GB/s over
  // the oversubscription; half the nodes (4) face the other half through their uplinks.
  CHECK(summarize_topology(fat_tree(8, 1), 0, 1).bisection_bytes_per_s == Approx(4 * 8 * 50e9));
  CHECK(summarize_topology(fat_tree(8, 2), 0, 1).bisection_bytes_per_s == Approx(4 * 8 * 50e9 / 2));
  CHECK(summarize_topology(fat_tree(8, 4), 0, 1).bisection_bytes_per_s == Approx(4 * 8 * 50e9 / 4));
  CHECK(summarize_topology(fat_tree(1, 1), 0, 1).bisection_bytes_per_s == 0);
  // An odd number of nodes: the first half is the 2 first of 5 nodes.
  CHECK(summarize_topology(fat_tree(5, 1), 0, 1).bisection_bytes_per_s == Approx(2 * 8 * 50e9));
}

TEST_CASE("paths cross NVLink inside a node and NIC, uplink, uplink, NIC across nodes") {
  const TopologySummary inside = summarize_topology(fat_tree(2, 1), 0, 1);
  CHECK(inside.path == std::vector<std::string>{"nvlink-0-0", "nvlink-0-1"});
  const TopologySummary across = summarize_topology(fat_tree(2, 1), 0, 9);
  CHECK(across.path == std::vector<std::string>{"nic-0-0", "uplink-0", "uplink-1", "nic-1-1"});
  CHECK(across.gpus == 16);
  CHECK(across.links == 16 * 2 + 2);
}
