#pragma once
// Grid search: every combination of the space's lists, in the order gpus, engines,
// nodes, tp, pp, ep, cp, dp, prefill_replicas, prefill_tp, prefill_pp,
// max_batch_seqs, prefill_chunk_tokens, kv_between_turns (the last varying
// fastest). An empty dp list gives dp = 0 (fill the nodes). A candidate without a
// prefill pool (prefill_replicas 0) is tried once, not once per pool layout.

#include "sim/plan/search_strategy.hpp"

namespace convsim {

class GridSearch : public SearchStrategy {
 public:
  std::vector<Candidate> candidates(const PlanSpec& space) const override;
};

}  // namespace convsim
