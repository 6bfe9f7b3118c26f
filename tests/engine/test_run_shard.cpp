// Which nodes a run shard builds (shard_nodes): those of its own replicas when every
// replica lies within one node, otherwise all of them. Expectations are worked out
// by hand from the layouts below.

#include <vector>

#include <catch2/catch.hpp>

#include "sim/engine/run_shard.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;
using test::scenario_from;

namespace {

Scenario fleet(const std::string& cluster, const std::string& parallelism) {
  return scenario_from(test::kSmallConversation, {{"cluster.nodes", cluster.substr(0, cluster.find(','))},
                                                  {"cluster.gpus_per_node", cluster.substr(cluster.find(',') + 1)},
                                                  {"parallelism", parallelism}});
}

}  // namespace

TEST_CASE("a shard builds the nodes of the replicas it owns when each replica lies within one node") {
  // 4 nodes of 2 GPUs, 8 one-GPU replicas: replica r on node r / 2. Shard 1/3 owns
  // replicas 0, 3 and 6: nodes 0, 1 and 3. Shard 3/3 owns 2 and 5: nodes 1 and 2.
  const Scenario s = fleet("4,2", "{tp: 1, pp: 1, dp: 8}");
  CHECK(shard_nodes(s, RunShard{1, 3}) == std::vector<bool>{true, true, false, true});
  CHECK(shard_nodes(s, RunShard{3, 3}) == std::vector<bool>{false, true, true, false});
  // Shard 5/8 owns replica 4 only: node 2.
  CHECK(shard_nodes(s, RunShard{5, 8}) == std::vector<bool>{false, false, true, false});
}

TEST_CASE("the whole run, or a replica across nodes, builds every node") {
  const Scenario within = fleet("4,2", "{tp: 2, pp: 1, dp: 4}");
  CHECK(shard_nodes(within, RunShard{}).empty());  // the whole run
  CHECK(shard_nodes(within, RunShard{2, 2}) == std::vector<bool>{false, true, false, true});
  // tp 2, pp 2: each replica's two stages sit on two nodes, whose leaf and core
  // links another shard's replica may cross.
  CHECK(shard_nodes(fleet("4,2", "{tp: 2, pp: 2, dp: 2}"), RunShard{1, 2}).empty());
}
