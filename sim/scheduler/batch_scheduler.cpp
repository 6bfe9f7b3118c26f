#include "sim/scheduler/batch_scheduler.hpp"

#include <algorithm>

namespace convsim {

std::vector<Request> BatchScheduler::admit() {
  std::vector<Request> rejected;
  while (!waiting_.empty() && static_cast<int>(running_.size()) < limits_.max_batch_seqs) {
    const Request& r = waiting_.front();
    const long final_tokens = r.history_tokens + r.prompt_tokens + r.output_tokens;
    const long final_units = footprint_(final_tokens);
    if (final_units > memory_.capacity_units()) {
      if (auto stale = memory_.take_kept(r.session)) memory_.release(stale->units);
      rejected.push_back(r);
      waiting_.pop_front();
      continue;
    }
    std::optional<KeptCache> kept = memory_.take_kept(r.session);
    const bool hit = kept && policy_ == KvPolicy::keep && kept->tokens == r.history_tokens;
    if (kept && !hit) {  // stale: not this turn's history
      memory_.release(kept->units);
      kept.reset();
    }
    const long kept_units = kept ? kept->units : 0;
    if (!memory_.try_reserve(std::max(0L, final_units - kept_units))) {  // wait for room
      if (kept) memory_.keep(r.session, *kept);
      break;
    }
    if (kept_units > final_units) memory_.release(kept_units - final_units);
    Sequence s;
    s.request = r;
    s.cached_tokens = hit ? r.history_tokens : 0;
    s.prefill_tokens = r.prompt_tokens + (hit ? 0 : r.history_tokens);
    s.final_tokens = final_tokens;
    s.reserved_units = final_units;
    running_.push_back(s);
    waiting_.pop_front();
  }
  return rejected;
}

IterationPlan BatchScheduler::plan() const {
  IterationPlan plan;
  long budget = limits_.token_budget;
  for (int i = 0; i < static_cast<int>(running_.size()); ++i) {
    const Sequence& s = running_[i];
    if (s.in_prefill()) continue;
    plan.members.push_back(i);
    plan.work.push_back(SequenceWork{1, s.context_tokens() + s.generated - 1, true});
    ++plan.decode_tokens;
    --budget;
  }
  for (int i = 0; i < static_cast<int>(running_.size()) && budget > 0; ++i) {
    const Sequence& s = running_[i];
    if (!s.in_prefill()) continue;
    const long chunk = std::min(budget, s.prefill_tokens - s.prefill_done);
    plan.members.push_back(i);
    plan.work.push_back(SequenceWork{chunk, s.cached_tokens + s.prefill_done, s.prefill_done + chunk == s.prefill_tokens});
    budget -= chunk;
  }
  for (const SequenceWork& w : plan.work) plan.tokens += w.new_tokens;
  return plan;
}

std::vector<Sequence> BatchScheduler::finish_iteration(const IterationPlan& plan, double start_s, double end_s) {
  for (std::size_t k = 0; k < plan.members.size(); ++k) {
    Sequence& s = running_[plan.members[k]];
    if (s.scheduled_s < 0) s.scheduled_s = start_s;
    if (s.in_prefill()) {
      s.prefill_done += plan.work[k].new_tokens;
      if (!s.in_prefill()) {
        s.generated = 1;
        s.first_token_s = end_s;
      }
    } else {
      ++s.generated;
    }
  }
  std::vector<Sequence> finished;
  auto done = [](const Sequence& s) { return !s.in_prefill() && s.generated >= s.request.output_tokens; };
  for (Sequence& s : running_) {
    if (!done(s)) continue;
    s.done_s = end_s;
    if (policy_ == KvPolicy::keep) {
      memory_.keep(s.request.session, KeptCache{s.final_tokens, s.reserved_units, end_s});
    } else {
      memory_.release(s.reserved_units);
    }
    finished.push_back(s);
  }
  running_.erase(std::remove_if(running_.begin(), running_.end(), done), running_.end());
  return finished;
}

}  // namespace convsim
