// The topology graph: bisections against hand counts, routes link by link.

#include <algorithm>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "sim/cluster/topology.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;

namespace {

const double kNicBytesPerS = 50e9;  // ib-ndr, one per GPU

ClusterSpec fat_tree(int nodes, double oversubscription) {
  ClusterSpec c;
  c.gpu = test::catalog().gpus.at("h100-sxm");
  c.nodes = nodes;
  c.gpus_per_node = 8;
  c.scale_up = test::catalog().fabrics.at("nvlink4");
  c.scale_out = test::catalog().fabrics.at("ib-ndr");
  c.host_link = test::catalog().fabrics.at("pcie5");
  c.oversubscription = oversubscription;
  return c;
}

ClusterSpec rail_optimized(int nodes, double oversubscription) {
  ClusterSpec c = fat_tree(nodes, oversubscription);
  c.scale_out_topology = ScaleOutTopology::rail_optimized;
  return c;
}

ClusterSpec pcie_nodes(int nodes, int switches) {
  ClusterSpec c = fat_tree(nodes, 1);
  c.scale_up_topology = ScaleUpTopology::pcie_switch;
  c.scale_up = test::catalog().fabrics.at("pcie4");
  c.pcie_switches_per_node = switches;
  return c;
}

std::vector<std::string> path(const ClusterSpec& c, int from, int to) { return summarize_topology(c, from, to).path; }

std::vector<TopologyVertexId> gpus_where(const Topology& t, bool (*keep)(int node, int local)) {
  std::vector<TopologyVertexId> out;
  for (int gpu = 0; gpu < t.gpu_count(); ++gpu) {
    if (keep(gpu / 8, gpu % 8)) out.push_back(t.gpu(gpu));
  }
  return out;
}

}  // namespace

TEST_CASE("the bisection of a two-level fat-tree with oversubscription equals the hand count") {
  // 8 nodes of 8 GPUs with 50 GB/s NICs. Each node's uplink carries 8 x 50 GB/s over
  // the oversubscription; half the nodes (4) face the other half through their uplinks.
  CHECK(summarize_topology(fat_tree(8, 1), 0, 1).bisection_bytes_per_s == Approx(4 * 8 * kNicBytesPerS));
  CHECK(summarize_topology(fat_tree(8, 2), 0, 1).bisection_bytes_per_s == Approx(4 * 8 * kNicBytesPerS / 2));
  CHECK(summarize_topology(fat_tree(8, 4), 0, 1).bisection_bytes_per_s == Approx(4 * 8 * kNicBytesPerS / 4));
  CHECK(summarize_topology(fat_tree(1, 1), 0, 1).bisection_bytes_per_s == 0);
  // An odd number of nodes: the first half is the 2 first of 5 nodes.
  CHECK(summarize_topology(fat_tree(5, 1), 0, 1).bisection_bytes_per_s == Approx(2 * 8 * kNicBytesPerS));
  // Inside an NVSwitch node, 4 GPUs face the other 4 through their own ports.
  CHECK(summarize_topology(fat_tree(1, 1), 0, 1).node_bisection_bytes_per_s ==
        Approx(4 * fat_tree(1, 1).scale_up.bandwidth_bytes_per_s));
}

TEST_CASE("the bisection of a rail-optimised fabric is its first half's NICs, whatever the spine's oversubscription") {
  // Every GPU of the first half reaches the same rail of the second half through one
  // rail switch: h nodes x 8 NICs, the spine never needed.
  for (const double oversubscription : {1.0, 2.0, 4.0}) {
    for (const int nodes : {2, 5, 8}) {
      const int half = nodes / 2;
      INFO(nodes << " nodes, " << oversubscription << ":1");
      CHECK(summarize_topology(rail_optimized(nodes, oversubscription), 0, 1).bisection_bytes_per_s ==
            Approx(half * 8 * kNicBytesPerS));
    }
  }
}

TEST_CASE("cross-rail traffic is bounded by the rail uplinks: nodes x NIC / oversubscription") {
  // Rail 0 of the first 4 of 8 nodes sending to rail 1 of the other 4: their NICs
  // carry 4 x 50 GB/s, rail 0's uplink 8 x 50 / oversubscription, rail 1's as much.
  for (const double oversubscription : {1.0, 2.0, 4.0}) {
    const Topology t(rail_optimized(8, oversubscription));
    const auto from = gpus_where(t, [](int node, int local) { return node < 4 && local == 0; });
    const auto to = gpus_where(t, [](int node, int local) { return node >= 4 && local == 1; });
    const double expected = std::min(4 * kNicBytesPerS, 8 * kNicBytesPerS / oversubscription);
    INFO(oversubscription << ":1");
    CHECK(t.max_flow_bytes_per_s(from, to, Plane::scale_out) == Approx(expected));
  }
}

TEST_CASE("the bisection of a PCIe node is its switches' x16 uplinks to the CPU") {
  // 8 GPUs on S switches: the first 4 GPUs sit on the first S/2 switches and reach
  // the others through those switches' uplinks (one x16 link each, as wide as a GPU
  // port); on a single switch, 4 GPUs face 4 through their own ports.
  const double port = test::catalog().fabrics.at("pcie4").bandwidth_bytes_per_s;
  const double uplink = port;
  CHECK(summarize_topology(pcie_nodes(1, 1), 0, 1).node_bisection_bytes_per_s == Approx(4 * port));
  for (const int switches : {2, 4, 8}) {
    INFO(switches << " switches");
    const double gpus_per_switch = 8.0 / switches;
    CHECK(summarize_topology(pcie_nodes(1, switches), 0, 1).node_bisection_bytes_per_s ==
          Approx(switches / 2 * std::min(uplink, gpus_per_switch * port)));
  }
  // Across PCIe nodes, the fat-tree's count is unchanged.
  CHECK(summarize_topology(pcie_nodes(4, 2), 0, 1).bisection_bytes_per_s == Approx(2 * 8 * kNicBytesPerS));
}

TEST_CASE("paths cross NVLink inside a node and NIC, uplink, uplink, NIC across nodes") {
  CHECK(path(fat_tree(2, 1), 0, 1) == std::vector<std::string>{"nvlink-0-0", "nvlink-0-1"});
  CHECK(path(fat_tree(2, 1), 0, 9) == std::vector<std::string>{"nic-0-0", "uplink-0", "uplink-1", "nic-1-1"});
}

TEST_CASE("on rails, same-rail traffic crosses one rail switch and cross-rail traffic the spine") {
  const ClusterSpec c = rail_optimized(4, 2);
  // GPU 3 of node 0 to GPU 3 of node 2 (global 19): one rail switch.
  CHECK(path(c, 3, 2 * 8 + 3) == std::vector<std::string>{"nic-0-3", "nic-2-3"});
  // GPU 3 of node 0 to GPU 5 of node 2 (global 21): up rail 3, down rail 5.
  CHECK(path(c, 3, 2 * 8 + 5) == std::vector<std::string>{"nic-0-3", "rail-uplink-3", "rail-uplink-5", "nic-2-5"});
  // Inside a node, still NVLink.
  CHECK(path(c, 3, 5) == std::vector<std::string>{"nvlink-0-3", "nvlink-0-5"});
}

TEST_CASE("on PCIe nodes, GPUs on one switch meet there, and across switches at the CPU") {
  const ClusterSpec c = pcie_nodes(2, 2);  // GPUs 0-3 on switch 0, 4-7 on switch 1
  CHECK(path(c, 1, 2) == std::vector<std::string>{"pcie-0-1", "pcie-0-2"});
  CHECK(path(c, 1, 6) == std::vector<std::string>{"pcie-0-1", "pcie-uplink-0-0", "pcie-uplink-0-1", "pcie-0-6"});
  CHECK(path(c, 1, 8 + 6) == std::vector<std::string>{"nic-0-1", "uplink-0", "uplink-1", "nic-1-6"});
  const Topology t(c);
  CHECK(t.names(t.route(t.gpu(6), t.cpu(0))) == std::vector<std::string>{"pcie-0-6", "pcie-uplink-0-1"});
  CHECK(t.names(t.route(t.gpu(8 + 1), t.nvme(1))) ==
        std::vector<std::string>{"pcie-1-1", "pcie-uplink-1-0", "nvme-1"});
  const Topology nvswitch(fat_tree(1, 1));
  CHECK(nvswitch.names(nvswitch.route(nvswitch.gpu(6), nvswitch.nvme(0))) ==
        std::vector<std::string>{"pcie-0-6", "nvme-0"});
}

TEST_CASE("the graph holds every link once: ports, host links, NICs, PCIe uplinks, NVMe and scale-out uplinks") {
  struct Case {
    const char* name;
    ClusterSpec cluster;
    int expected;
  };
  // Per GPU: a port and a NIC, plus a host link on NVSwitch nodes; per node an NVMe
  // link, plus a PCIe uplink per switch; above: an uplink per node (fat-tree) or per
  // rail (rail-optimised), none for one node.
  const std::vector<Case> cases = {
      {"fat-tree, 2 nodes", fat_tree(2, 1), 16 * 3 + 2 + 2},
      {"fat-tree, 1 node", fat_tree(1, 1), 8 * 3 + 1},
      {"rails, 4 nodes", rail_optimized(4, 1), 32 * 3 + 4 + 8},
      {"PCIe, 3 nodes of 4 switches", pcie_nodes(3, 4), 24 * 2 + 3 * (1 + 4) + 3},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    const TopologySummary s = summarize_topology(c.cluster, 0, 1);
    CHECK(s.links == c.expected);
    CHECK(s.gpus == c.cluster.nodes * 8);
  }
}

TEST_CASE("every GPU-to-GPU route's latency is its fabric's latency, and every route runs up then down") {
  for (const ClusterSpec& c : {fat_tree(3, 2), rail_optimized(3, 2), pcie_nodes(3, 2), pcie_nodes(2, 4)}) {
    const Topology t(c);
    for (int a = 0; a < t.gpu_count(); ++a) {
      for (int b = 0; b < t.gpu_count(); ++b) {
        if (a == b) continue;
        const std::vector<Hop> route = t.route(t.gpu(a), t.gpu(b));
        REQUIRE(!route.empty());
        double latency_s = 0;
        for (const Hop& hop : route) latency_s += t.link(hop.link).latency_s;
        const FabricSpec& fabric = a / 8 == b / 8 ? c.scale_up : c.scale_out;
        INFO("GPU " << a << " to " << b);
        CHECK(latency_s == Approx(fabric.latency_s).epsilon(1e-12));
        CHECK(route.front().up);
        CHECK_FALSE(route.back().up);
      }
    }
  }
}

TEST_CASE("only NVSwitch nodes take NVLink-only all-reduce kernels") {
  CHECK(scale_up_is_nvswitch(fat_tree(1, 1)));
  CHECK_FALSE(scale_up_is_nvswitch(pcie_nodes(1, 2)));
}
