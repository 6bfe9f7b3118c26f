#include "sim/plan/pruning.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "models/architecture.hpp"
#include "models/precision.hpp"

namespace convsim {
namespace {

constexpr double kGb = 1e9;

// One layout's GPU: its share of the weights and of one sequence's KV cache.
MemoryCheck layout_memory(const Scenario& s, const ParallelismSpec& layout, long kv_reserve_tokens) {
  const ModelSpec& model = s.model.spec;
  MemoryCheck m;
  m.weights_bytes = total_params(model) * element_bytes(s.model.weights) /
                    (static_cast<double>(layout.pp) * std::max(layout.tp, layout.ep));
  m.kv_bytes = kv_bytes_for_context(model, element_bytes(s.model.kv_cache), static_cast<double>(kv_reserve_tokens)) /
               (static_cast<double>(layout.pp) * layout.tp * layout.cp);
  m.workspace_bytes = s.serving.workspace_bytes_per_gpu;
  m.hbm_bytes = s.cluster.gpu.hbm_bytes;
  return m;
}

}  // namespace

MemoryCheck memory_check(const Scenario& s, long kv_reserve_tokens) {
  const MemoryCheck replica = layout_memory(s, s.parallelism, kv_reserve_tokens);
  if (!s.parallelism.disaggregated()) return replica;
  MemoryCheck pool = layout_memory(s, s.parallelism.prefill_layout(), kv_reserve_tokens);
  pool.layout = "prefill pool";
  return pool.need_bytes() > replica.need_bytes() ? pool : replica;
}

double latency_floor_s(const Scenario& s, Objective::Metric metric) {
  const ParallelismSpec& p = s.parallelism;
  const double active_bytes = active_params(s.model.spec) * element_bytes(s.model.weights);
  const double bandwidth = s.cluster.gpu.hbm_bytes_per_s;
  const bool prefill_pool = p.disaggregated() && metric != Objective::Metric::tpot && metric != Objective::Metric::speech;
  const int stage_width = prefill_pool ? std::max(p.prefill.tp, p.prefill.ep) : std::max(p.tp, p.ep);
  return active_bytes / (stage_width * bandwidth);
}

std::string prune_reason(const Scenario& s, long kv_reserve_tokens) {
  const MemoryCheck m = memory_check(s, kv_reserve_tokens);
  if (!m.fits()) {
    return fmt::format("memory: {} GPU: weights {:.1f} GB + KV of {} tokens {:.1f} GB + workspace {:.1f} GB = "
                       "{:.1f} GB > {:.1f} GB of HBM",
                       m.layout, m.weights_bytes / kGb, kv_reserve_tokens, m.kv_bytes / kGb, m.workspace_bytes / kGb,
                       m.need_bytes() / kGb, m.hbm_bytes / kGb);
  }
  for (const Objective& o : objectives_of(s)) {
    if (o.metric == Objective::Metric::speech) continue;
    const double floor_s = latency_floor_s(s, o.metric);
    if (floor_s > o.limit_s) {
      return fmt::format("roofline: {} >= {:.4f} s (active weights read once per token) > {:.4f} s", o.name, floor_s,
                         o.limit_s);
    }
  }
  return "";
}

}  // namespace convsim
