#include "sim/plan/candidate.hpp"

#include <fmt/format.h>

namespace convsim {

int replica_gpus(const Candidate& c) { return (c.ep > c.tp ? c.ep : c.tp * c.cp) * c.pp; }

int pool_tp(const Candidate& c) { return c.prefill_tp > 0 ? c.prefill_tp : c.tp; }

int pool_pp(const Candidate& c) { return c.prefill_pp > 0 ? c.prefill_pp : c.pp; }

int pool_cp(const Candidate& c) { return c.prefill_cp > 0 ? c.prefill_cp : c.cp; }

int pool_ep(const Candidate& c) { return c.prefill_ep > 0 ? c.prefill_ep : 1; }

int pool_gpus(const Candidate& c) { return c.prefill_replicas * pool_tp(c) * pool_cp(c) * pool_pp(c); }

int resolved_dp(const Candidate& c, int gpus_per_node) {
  if (c.dp > 0) return c.dp;
  const long gpus = static_cast<long>(c.nodes) * gpus_per_node;
  return static_cast<int>((gpus - pool_gpus(c)) / replica_gpus(c));
}

std::string candidate_name(const Candidate& c) {
  const std::string dp = c.dp > 0 ? fmt::format("dp{}", c.dp) : "dpfill";
  std::string pool = "pf0";
  if (c.prefill_replicas > 0) {
    pool = fmt::format("pf{}tp{}pp{}", c.prefill_replicas, pool_tp(c), pool_pp(c));
    if (pool_cp(c) != c.cp) pool += fmt::format("cp{}", pool_cp(c));
    if (pool_ep(c) != 1) pool += fmt::format("ep{}", pool_ep(c));
  }
  return fmt::format("{}-{}-n{}-tp{}-pp{}-ep{}-cp{}-{}-{}-b{}-c{}-{}", c.gpu, c.engine, c.nodes, c.tp, c.pp, c.ep,
                     c.cp, dp, pool, c.max_batch_seqs, c.prefill_chunk_tokens, c.kv_between_turns);
}

std::vector<Override> candidate_overrides(const Candidate& c, int gpus_per_node) {
  std::vector<Override> out = {{"cluster.gpu", c.gpu},
                               {"serving.engine", c.engine},
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
    out.push_back({"parallelism.prefill", fmt::format("{{replicas: {}, tp: {}, pp: {}, cp: {}, ep: {}}}",
                                                      c.prefill_replicas, pool_tp(c), pool_pp(c), pool_cp(c),
                                                      pool_ep(c))});
  }
  return out;
}

}  // namespace convsim
