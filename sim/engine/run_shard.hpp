#pragma once
// One share of a run's replicas (convsim run --shard i/N), and whether a scenario's
// replicas are independent enough to be simulated apart.
//
// Shard i of N simulates the replicas k (0-based) with k % N == i - 1, fed only
// their own sessions; `convsim merge` joins the shards' records into the outputs
// the whole run writes, bit for bit. That holds when nothing couples replicas: no
// router choosing by load or order, no pool shared by several replicas, one request
// generator per session, and no activity in SimGrid's flow solver (whose arithmetic
// at each event touches every activity running, so that a transfer's end moves in
// the last bits with the events of other replicas). Replicas that run alone on
// their links compute their iterations as timed waits and qualify.

#include <string>
#include <vector>

#include "sim/accounting/records.hpp"
#include "sim/scenario/scenario.hpp"

namespace convsim {

// The whole run is count 0, not a shard: its result is finished (finish_run). A
// shard, even 1/1, leaves that to the merge.
struct RunShard {
  int index = 1;  // 1-based
  int count = 0;
  bool whole() const { return count == 0; }
  bool owns(int replica) const { return whole() || replica % count == index - 1; }
};

// "" when the scenario's replicas can be simulated in shards; otherwise why not,
// naming the key ("serving.routing is least_loaded: ..."). `trace` and
// `simgrid_every_transfer` are the run's options.
std::string shard_refusal(const Scenario& scenario, bool trace, bool simgrid_every_transfer);

// The nodes `shard` must build (build_platform's nodes_wanted): those of the replicas
// it owns, when every replica lies within one node, so that the links of another
// shard's replica are never the links of one of ours and the exclusivity of ours
// (which replicas run their iterations as computed waits) reads the same as in the
// whole platform. Otherwise, and for the whole run, empty: every node.
std::vector<bool> shard_nodes(const Scenario& scenario, const RunShard& shard);

// "" when a shard's result can be merged exactly; otherwise what made it depend on
// the other replicas: KV caches moved between tiers (transfers in the flow solver).
// (simulate() refuses before time starts when a replica's own collectives or sends
// would go through the solver: its links are not its alone.)
std::string shard_result_refusal(const RunResult& result);

}  // namespace convsim
