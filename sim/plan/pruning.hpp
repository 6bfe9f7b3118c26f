#pragma once
// What `convsim plan` rules out before simulating: candidates whose weights and
// minimal KV cache cannot fit in a GPU's memory, and candidates whose roofline floor
// already exceeds an objective's limit. Both are lower bounds: a candidate they keep
// may still fail in the simulation (and is then reported by it), but one they prune
// could never have passed.

#include <string>

#include "sim/analysis/objectives.hpp"
#include "sim/scenario/scenario.hpp"

namespace convsim {

// Memory of the busiest GPU, as a lower bound. For each layout L (the decode
// replicas', and the prefill pool's when disaggregated: a pool GPU holds its share
// of the weights and of the prompt's KV cache until it is sent):
//   weights_bytes   = total_params * weight element bytes / (pp_L * max(tp_L, ep_L))
//   kv_bytes        = kv_bytes_for_context(kv_reserve_tokens) / (pp_L * tp_L * cp_L)
//   workspace_bytes = serving.workspace_bytes_per_gpu
// and the busiest is the layout needing the most. It fits when weights + KV +
// workspace <= the GPU's HBM.
struct MemoryCheck {
  const char* layout = "replica";  // "replica" or "prefill pool": which layout is the busiest
  double weights_bytes = 0;
  double kv_bytes = 0;
  double workspace_bytes = 0;
  double hbm_bytes = 0;
  double need_bytes() const { return weights_bytes + kv_bytes + workspace_bytes; }
  bool fits() const { return need_bytes() <= hbm_bytes; }
};
MemoryCheck memory_check(const Scenario& candidate, long kv_reserve_tokens);

// The roofline floor of a metric: no reply can be faster. A token needs every active
// weight read once, stage after stage, each stage's GPUs reading in parallel:
//   tpot >= active_params * weight element bytes / (max(tp, ep) * HBM bytes per s),
// and so do the first token (with the prefill pool's layout when disaggregated) and
// the end-to-end time.
double latency_floor_s(const Scenario& candidate, Objective::Metric metric);

// Why the candidate is pruned ("" when it is not): memory, or the floor of an
// objective above its limit (the first such objective of objectives_of()).
std::string prune_reason(const Scenario& candidate, long kv_reserve_tokens);

}  // namespace convsim
