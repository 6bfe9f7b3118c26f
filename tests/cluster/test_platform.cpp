// The SimGrid platform lowered from the topology graph: its routes are the graph's,
// and transfers on PCIe nodes and rails take the time their links allow. Each
// TEST_CASE runs one simulation in its own process.

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <simgrid/s4u.hpp>

#include "sim/cluster/collectives.hpp"
#include "sim/cluster/platform.hpp"
#include "sim/cluster/topology.hpp"
#include "tests/support/platform_fixture.hpp"
#include "tests/support/scenario_fixture.hpp"

namespace sg4 = simgrid::s4u;
using namespace convsim;
using test::simulate;
using test::timed;

namespace {

ClusterSpec cluster_of(int nodes, ScaleUpTopology up, ScaleOutTopology out) {
  ClusterSpec c;
  c.gpu = test::catalog().gpus.at("h100-sxm");
  c.nodes = nodes;
  c.gpus_per_node = 8;
  c.scale_up_topology = up;
  c.scale_up = test::catalog().fabrics.at(up == ScaleUpTopology::pcie_switch ? "pcie4" : "nvlink4");
  c.pcie_switches_per_node = 2;  // GPUs 0-3 on switch 0, 4-7 on switch 1
  c.scale_out_topology = out;
  c.scale_out = test::catalog().fabrics.at("ib-ndr");
  c.host_link = test::catalog().fabrics.at("pcie5");
  return c;
}

// A split-duplex link crossed up is SimGrid's "<name>_UP", crossed down "<name>_DOWN".
std::vector<std::string> expected_names(const Topology& t, const std::vector<Hop>& route) {
  std::vector<std::string> names;
  for (const Hop& hop : route) names.push_back(t.link(hop.link).name + (hop.up ? "_UP" : "_DOWN"));
  return names;
}

std::vector<std::string> simgrid_names(const sg4::Host* from, const sg4::Host* to, double& latency_s) {
  std::vector<sg4::Link*> links;
  latency_s = 0;
  from->route_to(to, links, &latency_s);
  std::vector<std::string> names;
  for (const sg4::Link* link : links) names.push_back(link->get_name());
  return names;
}

// Checks every route from GPU 0 and from the last GPU: to every GPU, and to its
// node's CPU and NVMe, against the graph's.
void check_lowered_routes(const ClusterSpec& cluster) {
  const Topology t(cluster);
  int checked = 0;
  simulate(cluster, [&](const Platform& p) {
    for (const int a : {0, t.gpu_count() - 1}) {
      const int node = p.node_of(a);
      std::vector<std::pair<TopologyVertexId, const sg4::Host*>> targets = {{t.cpu(node), p.cpus[node]},
                                                                            {t.nvme(node), p.nvme[node]}};
      for (int b = 0; b < t.gpu_count(); ++b) {
        if (b != a) targets.emplace_back(t.gpu(b), p.gpus[b]);
      }
      for (const auto& [vertex, host] : targets) {
        const std::vector<Hop> route = t.route(t.gpu(a), vertex);
        double latency_s = 0;
        const std::vector<std::string> lowered = simgrid_names(p.gpus[a], host, latency_s);
        INFO(t.graph()[t.gpu(a)].name << " to " << t.graph()[vertex].name);
        CHECK(lowered == expected_names(t, route));
        double graph_latency_s = 0;
        for (const Hop& hop : route) graph_latency_s += t.link(hop.link).latency_s;
        CHECK(latency_s == Approx(graph_latency_s).epsilon(1e-12));
        ++checked;
      }
    }
  });
  CHECK(checked == 2 * (t.gpu_count() - 1 + 2));
}

}  // namespace

TEST_CASE("the flat zone's routes are the graph's: NVSwitch nodes on rails") {
  check_lowered_routes(cluster_of(3, ScaleUpTopology::nvswitch, ScaleOutTopology::rail_optimized));
}

TEST_CASE("the flat zone's routes are the graph's: PCIe nodes on a fat-tree") {
  check_lowered_routes(cluster_of(3, ScaleUpTopology::pcie_switch, ScaleOutTopology::fat_tree));
}

TEST_CASE("the per-node zones' routes are the graph's: PCIe nodes on a large fat-tree") {
  check_lowered_routes(cluster_of(kFlatZoneMaxNodes + 2, ScaleUpTopology::pcie_switch, ScaleOutTopology::fat_tree));
}

TEST_CASE("the per-node zones' routes are the graph's: NVSwitch nodes on a large fat-tree") {
  check_lowered_routes(cluster_of(kFlatZoneMaxNodes + 2, ScaleUpTopology::nvswitch, ScaleOutTopology::fat_tree));
}

TEST_CASE("a platform built for some nodes holds those only, and their routes across nodes are the graph's") {
  const ClusterSpec cluster = cluster_of(kFlatZoneMaxNodes + 2, ScaleUpTopology::nvswitch, ScaleOutTopology::fat_tree);
  const Topology t(cluster);
  std::vector<bool> wanted(static_cast<std::size_t>(cluster.nodes), false);
  wanted[1] = wanted[6] = wanted[static_cast<std::size_t>(cluster.nodes - 1)] = true;
  int checked = 0;
  simulate(
      cluster,
      [&](const Platform& p) {
        for (int node = 0; node < cluster.nodes; ++node) {
          INFO("node " << node);
          const bool built = wanted[static_cast<std::size_t>(node)];
          CHECK((p.cpus[node] != nullptr) == built);
          CHECK((p.nvme[node] != nullptr) == built);
          for (int g = node * 8; g < node * 8 + 8; ++g) {
            CHECK((p.gpus[g] != nullptr) == built);
            CHECK((p.nics[g] != nullptr) == built);
            CHECK((p.nvlinks[g] != nullptr) == built);
          }
        }
        const int a = 8 + 3;  // node 1
        for (const int b : {8, 6 * 8 + 2, 8 * cluster.nodes - 1}) {
          double latency_s = 0;
          const std::vector<Hop> route = t.route(t.gpu(a), t.gpu(b));
          CHECK(simgrid_names(p.gpus[a], p.gpus[b], latency_s) == expected_names(t, route));
          double graph_latency_s = 0;
          for (const Hop& hop : route) graph_latency_s += t.link(hop.link).latency_s;
          CHECK(latency_s == Approx(graph_latency_s).epsilon(1e-12));
          ++checked;
        }
      },
      wanted);
  CHECK(checked == 3);
}

TEST_CASE("on a PCIe node, a transfer across switches takes latency + bytes / min bandwidth, and two sharing an "
          "uplink take twice as long") {
  const ClusterSpec cluster = cluster_of(1, ScaleUpTopology::pcie_switch, ScaleOutTopology::fat_tree);
  const double bytes = 1e9;
  double same_switch_s = 0, across_s = 0, shared_s = 0;
  simulate(cluster, [&](const Platform& p) {
    same_switch_s = timed([&] { run_pairwise_send({p.gpus[0]}, {p.gpus[1]}, bytes); });
    across_s = timed([&] { run_pairwise_send({p.gpus[0]}, {p.gpus[4]}, bytes); });
    // GPUs 0 and 1 (switch 0) to GPUs 4 and 5 (switch 1): both cross uplink 0 up and
    // uplink 1 down.
    shared_s = timed([&] { run_pairwise_send({p.gpus[0], p.gpus[1]}, {p.gpus[4], p.gpus[5]}, bytes); });
  });
  const double latency_s = cluster.scale_up.latency_s;
  const double port = cluster.scale_up.bandwidth_bytes_per_s;
  const double uplink = cluster.scale_up.bandwidth_bytes_per_s;  // one x16 link of the same generation
  const double same_expected_s = latency_s + bytes / port;
  const double across_expected_s = latency_s + bytes / std::min(port, uplink);
  INFO("same switch: expectation " << same_expected_s << " s, actual " << same_switch_s << " s");
  CHECK(same_switch_s == Approx(same_expected_s).epsilon(1e-9));
  INFO("across switches: expectation " << across_expected_s << " s, actual " << across_s << " s");
  CHECK(across_s == Approx(across_expected_s).epsilon(1e-9));
  INFO("sharing an uplink: expectation " << latency_s + 2 * bytes / uplink << " s, actual " << shared_s << " s");
  CHECK(shared_s - latency_s == Approx(2 * (across_s - latency_s)).epsilon(1e-9));
}

TEST_CASE("on rails, same-rail traffic keeps its NICs' rate under spine oversubscription, and cross-rail traffic "
          "shares the rail uplinks") {
  ClusterSpec cluster = cluster_of(2, ScaleUpTopology::nvswitch, ScaleOutTopology::rail_optimized);
  cluster.oversubscription = 4;
  const double bytes = 1e9;
  double same_rail_s = 0, cross_rail_s = 0;
  simulate(cluster, [&](const Platform& p) {
    HostList src, same, shifted;
    for (int g = 0; g < 8; ++g) {
      src.push_back(p.gpus[g]);
      same.push_back(p.gpus[8 + g]);
      shifted.push_back(p.gpus[8 + (g + 1) % 8]);
    }
    same_rail_s = timed([&] { run_pairwise_send(src, same, bytes); });
    cross_rail_s = timed([&] { run_pairwise_send(src, shifted, bytes); });
  });
  const double nic = cluster.scale_out.bandwidth_bytes_per_s;
  const double latency_s = cluster.scale_out.latency_s;
  // Each rail uplink carries 2 nodes x 50 GB/s / 4 = 25 GB/s each way; each cross-rail
  // flow goes up one rail's uplink and down the next one's, alone in each direction.
  const double rail_uplink = 2 * nic / 4;
  INFO("same rail: expectation " << latency_s + bytes / nic << " s, actual " << same_rail_s << " s");
  CHECK(same_rail_s == Approx(latency_s + bytes / nic).epsilon(1e-9));
  INFO("cross rail: expectation " << latency_s + bytes / rail_uplink << " s, actual " << cross_rail_s << " s");
  CHECK(cross_rail_s == Approx(latency_s + bytes / std::min(nic, rail_uplink)).epsilon(1e-9));
}
