// Times the lowering of a cluster to SimGrid: the topology graph, then the platform.
//
//   build/convsim_bench_platform NODES [fat_tree|rail_optimized] [nvswitch|pcie_switch]
//
// 8 H100 GPUs per node (nvlink4 or pcie4, ib-ndr). One configuration per process:
// SimGrid allows one engine per process. Prints wall seconds and the route count.

#include <chrono>
#include <cstdio>
#include <string>

#include <simgrid/s4u.hpp>

#include "sim/cluster/platform.hpp"
#include "sim/cluster/topology.hpp"
#include "sim/scenario/catalog.hpp"

int main(int argc, char** argv) {
  using namespace convsim;
  using Clock = std::chrono::steady_clock;
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s NODES [fat_tree|rail_optimized] [nvswitch|pcie_switch]\n", argv[0]);
    return 2;
  }
  const Catalog catalog = load_catalog(default_catalog_dir());
  ClusterSpec c;
  c.gpu = catalog.gpus.at("h100-sxm");
  c.nodes = std::stoi(argv[1]);
  c.gpus_per_node = 8;
  c.scale_out_topology = argc > 2 && std::string(argv[2]) == "rail_optimized" ? ScaleOutTopology::rail_optimized
                                                                               : ScaleOutTopology::fat_tree;
  c.scale_up_topology =
      argc > 3 && std::string(argv[3]) == "pcie_switch" ? ScaleUpTopology::pcie_switch : ScaleUpTopology::nvswitch;
  c.scale_up = catalog.fabrics.at(c.scale_up_topology == ScaleUpTopology::pcie_switch ? "pcie4" : "nvlink4");
  c.scale_out = catalog.fabrics.at("ib-ndr");
  c.host_link = catalog.fabrics.at("pcie5");

  int sg_argc = 2;
  char arg0[] = "bench";
  char arg1[] = "--log=root.thres:critical";
  char* sg_argv[] = {arg0, arg1, nullptr};
  simgrid::s4u::Engine engine(&sg_argc, sg_argv);
  configure_exact_models(engine);
  const auto start = Clock::now();
  const Topology topology(c);
  const auto graph_done = Clock::now();
  const Platform platform = build_platform(c);
  const auto done = Clock::now();
  const auto seconds = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
  std::printf("%d nodes x 8 GPUs = %zu GPUs, %s, %s: graph %.3f s, graph + platform %.3f s\n", c.nodes,
              platform.gpus.size(), argc > 2 ? argv[2] : "fat_tree", argc > 3 ? argv[3] : "nvswitch",
              seconds(start, graph_done), seconds(graph_done, done));
  return 0;
}
