#include "sim/engine/run_shard.hpp"

#include <fmt/format.h>

namespace convsim {

std::string shard_refusal(const Scenario& scenario, bool trace, bool simgrid_every_transfer) {
  const ParallelismSpec& p = scenario.parallelism;
  if (p.disaggregated()) {
    return "parallelism.prefill: a disaggregated prefill pool serves the sessions of every decode replica";
  }
  switch (scenario.serving.routing) {
    case ServingSpec::Routing::affinity: break;
    case ServingSpec::Routing::round_robin:
      return "serving.routing is round_robin: conversations go to replicas in their order of arrival across "
             "all replicas";
    case ServingSpec::Routing::least_loaded:
      return "serving.routing is least_loaded: each conversation goes where the other replicas' load sends it";
    case ServingSpec::Routing::prefix_affinity:
      return "serving.routing is prefix_affinity: each conversation goes where the other replicas' cached "
             "blocks send it";
  }
  if (scenario.conversation && scenario.conversation->transcript) {
    return "conversation.transcript: its rows arrive through the router, which keeps every replica up until "
           "the last arrival anywhere";
  }
  if (scenario.requests && scenario.requests->trace) {
    return "requests.trace: its rows arrive through the router, which keeps every replica up until the last "
           "arrival anywhere";
  }
  if (scenario.requests && scenario.requests->arrival == RequestStreamSpec::Arrival::concurrency) {
    return "requests.arrival is concurrency: each next request is drawn from one generator in the order "
           "requests complete across all replicas";
  }
  if (scenario.conversation && (scenario.context.kv_between_turns == ContextSpec::KvBetweenTurns::offload_cpu ||
                                scenario.context.kv_between_turns == ContextSpec::KvBetweenTurns::offload_nvme)) {
    return "context.kv_between_turns offloads: caches move to host memory or NVMe in SimGrid's flow solver, whose "
           "times depend in the last bits on every replica's events";
  }
  for (const FaultSpec& f : scenario.faults) {
    if (f.kind == FaultSpec::Kind::link_slow) {
      return "faults: a slowed link sends its replicas' traffic through SimGrid's flow solver, shared with "
             "every other activity of the run";
    }
  }
  if (simgrid_every_transfer) {
    return "--simgrid-every-transfer: every transfer goes through SimGrid's flow solver, whose arithmetic at "
           "each event depends on every replica's activities";
  }
  if (trace) {
    return "--trace: trace.json keeps the first 400,000 slices of the whole run, which no shard can tell apart";
  }
  return "";
}

std::vector<bool> shard_nodes(const Scenario& scenario, const RunShard& shard) {
  if (shard.whole()) return {};
  const ParallelismSpec& p = scenario.parallelism;
  const int per_node = scenario.cluster.gpus_per_node;
  std::vector<bool> wanted(static_cast<std::size_t>(scenario.cluster.nodes), false);
  for (int r = 0; r < p.dp; ++r) {  // no prefill pool: shard_refusal
    const int first_rank = r * p.gpus_per_replica();
    const int node = p.gpu_of(first_rank) / per_node;
    for (int rank = first_rank; rank < first_rank + p.gpus_per_replica(); ++rank) {
      if (p.gpu_of(rank) / per_node != node) return {};  // a replica across nodes: fabric links may be shared
    }
    if (shard.owns(r)) wanted[static_cast<std::size_t>(node)] = true;
  }
  return wanted;
}

std::string shard_result_refusal(const RunResult& result) {
  const long moved = result.kv_offloads + result.kv_restores + result.prefix_demoted_blocks +
                     result.prefix_restored_blocks;
  if (moved > 0) {
    return fmt::format("{} KV-cache moves to or from host memory or NVMe ran in SimGrid's flow solver, whose "
                       "times depend in the last bits on every replica's events",
                       moved);
  }
  return "";
}

}  // namespace convsim
