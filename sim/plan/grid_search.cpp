#include "sim/plan/grid_search.hpp"

namespace convsim {

std::vector<Candidate> GridSearch::candidates(const PlanSpec& space) const {
  const std::vector<int> dps = space.dp.empty() ? std::vector<int>{0} : space.dp;
  std::vector<Candidate> out;
  for (const std::string& gpu : space.gpus)
    for (int nodes : space.nodes)
      for (int tp : space.tp)
        for (int pp : space.pp)
          for (int ep : space.ep)
            for (int cp : space.cp)
              for (int dp : dps)
                for (int prefill : space.prefill_replicas)
                  for (int batch : space.max_batch_seqs)
                    for (long chunk : space.prefill_chunk_tokens)
                      for (const std::string& kv : space.kv_between_turns) {
                        out.push_back(Candidate{gpu, nodes, tp, pp, ep, cp, dp, prefill, batch, chunk, kv});
                      }
  return out;
}

}  // namespace convsim
