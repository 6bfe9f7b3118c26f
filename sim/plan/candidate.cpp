#include "sim/plan/candidate.hpp"

#include <fmt/format.h>

namespace convsim {

int replica_gpus(const Candidate& c) { return (c.ep > c.tp ? c.ep : c.tp * c.cp) * c.pp; }

int resolved_dp(const Candidate& c, int gpus_per_node) {
  if (c.dp > 0) return c.dp;
  const long gpus = static_cast<long>(c.nodes) * gpus_per_node;
  const long pool = static_cast<long>(c.prefill_replicas) * c.tp * c.cp * c.pp;
  return static_cast<int>((gpus - pool) / replica_gpus(c));
}

std::string candidate_name(const Candidate& c) {
  const std::string dp = c.dp > 0 ? fmt::format("dp{}", c.dp) : "dpfill";
  return fmt::format("{}-n{}-tp{}-pp{}-ep{}-cp{}-{}-pf{}-b{}-c{}-{}", c.gpu, c.nodes, c.tp, c.pp, c.ep, c.cp, dp,
                     c.prefill_replicas, c.max_batch_seqs, c.prefill_chunk_tokens, c.kv_between_turns);
}

std::vector<Override> candidate_overrides(const Candidate& c, int gpus_per_node) {
  std::vector<Override> out = {{"cluster.gpu", c.gpu},
                               {"cluster.nodes", fmt::format("{}", c.nodes)},
                               {"parallelism.tp", fmt::format("{}", c.tp)},
                               {"parallelism.pp", fmt::format("{}", c.pp)},
                               {"parallelism.ep", fmt::format("{}", c.ep)},
                               {"parallelism.cp", fmt::format("{}", c.cp)},
                               {"parallelism.dp", fmt::format("{}", resolved_dp(c, gpus_per_node))},
                               {"serving.max_batch_seqs", fmt::format("{}", c.max_batch_seqs)},
                               {"serving.prefill_chunk_tokens", fmt::format("{}", c.prefill_chunk_tokens)},
                               {"context.kv_between_turns", c.kv_between_turns}};
  if (c.prefill_replicas > 0) {
    out.push_back({"parallelism.prefill",
                   fmt::format("{{replicas: {}, tp: {}, pp: {}, cp: {}}}", c.prefill_replicas, c.tp, c.pp, c.cp)});
  }
  return out;
}

}  // namespace convsim
