// The cluster section's power, carbon and price keys: defaults from the system
// presets, overrides, and each bad value reported at its spot with the allowed range.

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "models/system_power.hpp"
#include "sim/scenario/config_error.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;

TEST_CASE("a cluster's nodes are the system preset carrying its GPU, any term of which can be set to zero") {
  const ClusterSpec dgx = test::scenario_from(test::kClusterHead).cluster;
  CHECK(dgx.system.name == "dgx-h100");
  CHECK(dgx.system.cpu_active_w == 700);  // 2 x 350 W TDP, 8 GPUs per node as the preset
  CHECK(dgx.grid_gco2e_per_kwh == 480);   // world, 2023 (Ember)
  CHECK(dgx.gpu_hour_usd == dgx.system.gpu_hour_usd);
  // Four GPUs per node: half a DGX H100's host.
  CHECK(test::scenario_from(test::kClusterHead + "  gpus_per_node: 4\n").cluster.system.cpu_idle_w == 100);
  CHECK(test::scenario_from(test::kClusterHead, {{"cluster.gpu", "b200"}}).cluster.system.name == "dgx-b200");
  CHECK(test::scenario_from(test::kClusterHead + "  gpus_per_node: 72\n", {{"cluster.gpu", "gb200"}}).cluster.system.name ==
        "gb200-nvl72");
  // A B200 in 72-GPU nodes is a DGX B200's parts per GPU, not a GB200 rack's.
  CHECK(test::scenario_from(test::kClusterHead + "  gpus_per_node: 72\n", {{"cluster.gpu", "b200"}}).cluster.system.name ==
        "dgx-b200");
  const ClusterSpec zero =
      test::scenario_from(test::kClusterHead + "  system_power: {cpu_idle_w: 0, cpu_active_w: 0, fans_w: 0, nic_ports: 0}\n")
          .cluster;
  CHECK(node_idle_w(zero.system) == 96 + 8 * 7);  // DIMMs and drives left
  CHECK(node_idle_w(test::scenario_from(test::kClusterHead + "  system: none\n").cluster.system) == 0);
  CHECK(test::scenario_from(test::kClusterHead + "  grid_region: norway\n").cluster.grid_gco2e_per_kwh == 30);
  CHECK(test::scenario_from(test::kClusterHead + "  grid_gco2e_per_kwh: 12.5\n").cluster.grid_gco2e_per_kwh == 12.5);
}

TEST_CASE("a GPU no system preset carries gets no host power, with a located warning") {
  const Scenario s = test::scenario_from(
      "name: x\n"
      "conversation: {duration_min: 10, speakers: [{name: a, turn_words: 5}]}\n"
      "model: {preset: llama-3.1-8b}\n"
      "cluster:\n"
      "  gpu: mi300x\n");
  CHECK(s.cluster.system.name == "none");
  REQUIRE(s.warnings.size() == 1);
  CHECK(s.warnings[0].rfind("test.yaml:5:8: warning: cluster.system: no system preset carries mi300x GPUs", 0) == 0);
}

TEST_CASE("each bad power, carbon or price value is reported with its exact located message", "[scenario][errors]") {
  struct Case {
    const char* rule;
    std::string lines;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"a negative power", "  system_power: {cpu_idle_w: -5}\n",
       "test.yaml:6:30: cluster.system_power.cpu_idle_w must be >= 0, got -5"},
      {"a power that is not finite", "  system_power: {fans_w: .inf}\n",
       "test.yaml:6:26: cluster.system_power.fans_w: expected a finite number, got '.inf'"},
      {"an active power below idle", "  system_power: {cpu_active_w: 10}\n",
       "test.yaml:6:32: cluster.system_power.cpu_active_w = 10 must be >= cluster.system_power.cpu_idle_w = 200"},
      {"a power-supply efficiency below a half", "  system_power: {psu_efficiency: 0.3}\n",
       "test.yaml:6:34: cluster.system_power.psu_efficiency must be in [0.5, 1], got 0.3"},
      {"a power-supply efficiency above one", "  system_power: {psu_efficiency: 1.05}\n",
       "test.yaml:6:34: cluster.system_power.psu_efficiency must be in [0.5, 1], got 1.05"},
      // DGX H100's other parts at their busiest: DRAM 192 W, 8 drives x 19 W, 12 NIC
      // ports x 20.7 W, fans 773 W, 1365.4 W with the CPUs' 1e12 W.
      {"host parts beyond the node's rated maximum", "  system_power: {cpu_active_w: 1e12}\n",
       "test.yaml:6:32: cluster.system_power: the host's parts at their busiest draw 1000000001365.4 W (CPUs, DRAM, "
       "drives, NIC ports, fans), above the node's rated maximum of 10200 W"},
      {"an unknown term", "  system_power: {gpu_idle_w: 10}\n",
       "test.yaml:6:18: unknown key 'gpu_idle_w' in cluster.system_power; did you mean 'cpu_idle_w'?"},
      {"an unknown system", "  system: dgx-h800\n",
       "test.yaml:6:11: cluster.system: unknown value 'dgx-h800'; allowed: none, dgx-a100, dgx-b200, dgx-h100, "
       "dgx-h200, gb200-nvl72"},
      {"an unknown grid region", "  grid_region: mars\n",
       "test.yaml:6:16: cluster.grid_region: unknown value 'mars'; allowed: world, china, india, united-states, "
       "european-union, germany, france, poland, united-kingdom, norway"},
      {"a negative grid intensity", "  grid_gco2e_per_kwh: -1\n",
       "test.yaml:6:23: cluster.grid_gco2e_per_kwh must be in [0, 2000], got -1"},
      {"a region and an intensity", "  grid_region: france\n  grid_gco2e_per_kwh: 50\n",
       "test.yaml:7:23: cluster.grid_gco2e_per_kwh and cluster.grid_region: give one of them, not both"},
      {"a negative price", "  usd_per_kwh: -0.1\n", "test.yaml:6:16: cluster.usd_per_kwh must be in [0, 10], got -0.1"},
      {"a GPU-hour price that is not finite", "  gpu_hour_usd: .nan\n",
       "test.yaml:6:17: cluster.gpu_hour_usd: expected a finite number, got '.nan'"},
  };
  for (const Case& c : cases) {
    INFO(c.rule);
    CHECK(test::cluster_error_of(c.lines) == c.expected);
  }
}
