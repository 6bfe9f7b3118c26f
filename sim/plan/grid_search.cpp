#include "sim/plan/grid_search.hpp"

#include <type_traits>
#include <utility>

namespace convsim {
namespace {

// Replaces every partial candidate by one copy per value of `values(candidate)`,
// each set by `set`: the axes expanded first vary slowest.
template <class Values, class Set>
void expand(std::vector<Candidate>& partial, Values values, Set set) {
  std::vector<Candidate> next;
  for (const Candidate& c : partial) {
    for (const auto& value : values(c)) {
      Candidate n = c;
      set(n, value);
      next.push_back(std::move(n));
    }
  }
  partial = std::move(next);
}

}  // namespace

std::vector<Candidate> GridSearch::candidates(const PlanSpec& space) const {
  const std::vector<int> dps = space.dp.empty() ? std::vector<int>{0} : space.dp;
  const std::vector<int> no_pool = {0};
  auto all = [](const auto& list) { return [values = &list](const Candidate&) -> const auto& { return *values; }; };
  // Without a pool its layout is no choice: one candidate, not one per layout. An
  // empty list: the pool takes the decode replicas' degree (0).
  auto if_pool = [&no_pool](const std::vector<int>& list) {
    return [values = &list, &no_pool](const Candidate& c) -> const std::vector<int>& {
      return c.prefill_replicas > 0 && !values->empty() ? *values : no_pool;
    };
  };
  std::vector<Candidate> out = {Candidate{}};
  expand(out, all(space.gpus), [](Candidate& c, const std::string& v) { c.gpu = v; });
  expand(out, all(space.engines), [](Candidate& c, const std::string& v) { c.engine = v; });
  expand(out, all(space.nodes), [](Candidate& c, int v) { c.nodes = v; });
  expand(out, all(space.tp), [](Candidate& c, int v) { c.tp = v; });
  expand(out, all(space.pp), [](Candidate& c, int v) { c.pp = v; });
  expand(out, all(space.ep), [](Candidate& c, int v) { c.ep = v; });
  expand(out, all(space.cp), [](Candidate& c, int v) { c.cp = v; });
  expand(out, all(dps), [](Candidate& c, int v) { c.dp = v; });
  expand(out, all(space.prefill_replicas), [](Candidate& c, int v) { c.prefill_replicas = v; });
  expand(out, if_pool(space.prefill_tp), [](Candidate& c, int v) { c.prefill_tp = v; });
  expand(out, if_pool(space.prefill_pp), [](Candidate& c, int v) { c.prefill_pp = v; });
  expand(out, if_pool(space.prefill_cp), [](Candidate& c, int v) { c.prefill_cp = v; });
  expand(out, if_pool(space.prefill_ep), [](Candidate& c, int v) { c.prefill_ep = v; });
  // An empty axis: the candidate's engine at its own default.
  auto or_engine_default = [](const auto& list, const auto& defaults) {
    using List = std::decay_t<decltype(list)>;
    return [values = &list, defaults = &defaults](const Candidate& c) -> List {
      return values->empty() ? List{defaults->at(c.engine)} : *values;
    };
  };
  expand(out, or_engine_default(space.max_batch_seqs, space.engine_max_batch_seqs),
         [](Candidate& c, int v) { c.max_batch_seqs = v; });
  expand(out, or_engine_default(space.prefill_chunk_tokens, space.engine_prefill_chunk_tokens),
         [](Candidate& c, long v) { c.prefill_chunk_tokens = v; });
  expand(out, all(space.kv_between_turns), [](Candidate& c, const std::string& v) { c.kv_between_turns = v; });
  return out;
}

}  // namespace convsim
