#include "sim/scheduler/batch_scheduler.hpp"

#include <algorithm>

namespace convsim {

long BatchScheduler::blocks_of(long tokens) const {
  return (tokens + limits_.block_tokens - 1) / limits_.block_tokens * limits_.block_tokens;
}

long BatchScheduler::own_units(const Sequence& s, long tokens) const {
  const long shared = s.shared_blocks > 0 ? footprint_(s.shared_blocks * s.request.prefix_block_tokens) : 0;
  return std::max(0L, footprint_(blocks_of(tokens)) - shared);
}

bool BatchScheduler::resize(Sequence& s, long tokens) {
  const long blocks = blocks_of(tokens);
  const long units = own_units(s, blocks);
  if (blocks == s.reserved_tokens && units == s.reserved_units) return true;
  if (units > s.reserved_units) {
    if (!memory_.try_reserve(units - s.reserved_units)) return false;
  } else {
    memory_.release(s.reserved_units - units);
  }
  s.reserved_units = units;
  s.reserved_tokens = blocks;
  return true;
}

long BatchScheduler::prefix_match(const Request& r, long* context_blocks) const {
  *context_blocks = 0;
  if (!prefix_ || !r.prefix_blocks || r.kv_transferred) return 0;
  const long block = r.prefix_block_tokens;
  const long context = r.history_tokens + r.prompt_tokens;
  *context_blocks = std::min(static_cast<long>(r.prefix_blocks->size()), (context + block - 1) / block);
  return prefix_->match(*r.prefix_blocks, *context_blocks);
}

long BatchScheduler::prefix_hit_tokens(const Request& r) const {
  long blocks = 0;
  const long held = prefix_match(r, &blocks);
  return std::min(held * r.prefix_block_tokens, r.history_tokens + r.prompt_tokens - 1);
}

void BatchScheduler::prefix_use(const Request& r, long blocks) {
  if (!prefix_ || !r.prefix_blocks || blocks <= 0) return;
  prefix_->use(*r.prefix_blocks, blocks);
  const long block = r.prefix_block_tokens;
  const long per_block = std::max(1L, footprint_(block));
  long capacity = (memory_.capacity_units() - memory_.kept_units()) / per_block;
  if (prefix_cap_tokens_ > 0) capacity = std::min(capacity, prefix_cap_tokens_ / block);
  const std::vector<std::uint64_t> evicted = prefix_->shrink_to(capacity);
  if (!evicted.empty() && on_prefix_evicted_) on_prefix_evicted_(r, evicted);
}

long BatchScheduler::whole_context_blocks(const Request& r) const {
  if (!prefix_ || !r.prefix_blocks || r.prefix_block_tokens <= 0) return 0;
  return std::min(static_cast<long>(r.prefix_blocks->size()),
                  (r.history_tokens + r.prompt_tokens) / r.prefix_block_tokens);
}

bool BatchScheduler::share_prefix(Sequence& s, long blocks) {
  if (!prefix_ || !s.request.prefix_blocks || blocks <= s.shared_blocks) return true;
  const std::vector<std::uint64_t>& ids = *s.request.prefix_blocks;
  const long before = s.shared_blocks;
  const long fresh_units = prefix_->pin(ids, before, blocks) * footprint_(s.request.prefix_block_tokens);
  s.shared_blocks = blocks;
  const long own = own_units(s, s.reserved_tokens);
  // What s stops holding itself, less what the blocks it is first to pin cost.
  const long spare = s.reserved_units - own - fresh_units;
  if (spare < 0 && !memory_.try_reserve(-spare)) {
    prefix_->unpin(ids, before, blocks);
    s.shared_blocks = before;
    return false;
  }
  if (spare > 0) memory_.release(spare);
  s.reserved_units = own;
  pinned_units_ += fresh_units;
  return true;
}

void BatchScheduler::unshare_prefix(Sequence& s) {
  if (s.shared_blocks == 0) return;
  const long freed = prefix_->unpin(*s.request.prefix_blocks, 0, s.shared_blocks);
  const long freed_units = freed * footprint_(s.request.prefix_block_tokens);
  memory_.release(freed_units);
  pinned_units_ -= freed_units;
  s.shared_blocks = 0;
}

PrefixCacheStats BatchScheduler::prefix_stats() const {
  PrefixCacheStats stats = prefix_stats_;
  stats.evicted_blocks = prefix_ ? prefix_->evictions() : 0;
  return stats;
}

long BatchScheduler::load_tokens() const {
  long tokens = 0;
  for (const Request& r : waiting_) tokens += r.history_tokens + r.prompt_tokens + r.output_tokens;
  for (const Sequence& s : preempted_) tokens += s.prefill_tokens + s.request.output_tokens - s.generated;
  for (const Sequence& s : running_) tokens += s.prefill_tokens - s.prefill_done + s.request.output_tokens - s.generated;
  return tokens;
}

std::vector<Request> BatchScheduler::admit() {
  std::vector<Request> rejected;
  while (!preempted_.empty() && static_cast<int>(running_.size()) < limits_.max_batch_seqs) {
    Sequence& s = preempted_.front();
    // Recompute: prefill again every token it had, then decode on.
    if (!resize(s, s.prefill_tokens + 1)) return rejected;
    running_.push_back(s);
    preempted_.pop_front();
  }
  while (!waiting_.empty() && static_cast<int>(running_.size()) < limits_.max_batch_seqs) {
    const Request& r = waiting_.front();
    const long final_tokens = r.history_tokens + r.prompt_tokens + r.output_tokens;
    if (footprint_(blocks_of(final_tokens)) > memory_.capacity_units()) {
      if (auto stale = memory_.take_kept(r.session)) memory_.release(stale->units);
      rejected.push_back(r);
      waiting_.pop_front();
      continue;
    }
    std::optional<KeptCache> kept = memory_.take_kept(r.session);
    // The kept cache serves as a prefix of this turn's history (all of it, unless
    // another replica produced the last reply: disaggregated decode).
    const bool hit = kept && policy_ == KvPolicy::keep && r.cache_reusable && kept->tokens <= r.history_tokens;
    if (kept && !hit) {  // stale: not this turn's history
      memory_.release(kept->units);
      kept.reset();
    }
    Sequence s;
    s.request = r;
    s.cached_tokens = r.kv_transferred ? r.history_tokens : hit ? kept->tokens : 0;
    long context_blocks = 0;
    const long held_blocks = prefix_match(r, &context_blocks);
    const long prefix_tokens =
        std::min(held_blocks * r.prefix_block_tokens, r.history_tokens + r.prompt_tokens - 1);
    s.cached_tokens = std::max(s.cached_tokens, prefix_tokens);
    s.kv_tokens = s.cached_tokens;
    s.prefill_tokens = r.history_tokens + r.prompt_tokens - s.cached_tokens;
    s.reserved_units = kept ? kept->units : 0;  // the kept cache becomes part of its reservation
    s.reserved_tokens = kept ? blocks_of(kept->tokens) : 0;
    if (!resize(s, r.history_tokens + r.prompt_tokens + 1)) {  // wait for room
      if (kept) memory_.keep(r.session, *kept);  // back where it was, same age
      break;
    }
    // The whole blocks found are shared with whoever else holds them: counted once,
    // the rest of its reservation given back (room was asked for all of it, so
    // sharing needs no more).
    share_prefix(s, std::min(held_blocks, whole_context_blocks(r)));
    if (context_blocks > 0) {
      prefix_stats_.lookup_blocks += context_blocks;
      prefix_stats_.hit_blocks += held_blocks;
      prefix_stats_.lookup_tokens += r.history_tokens + r.prompt_tokens;
      prefix_stats_.hit_tokens += std::max(0L, prefix_tokens);
      prefix_use(r, held_blocks);
    }
    running_.push_back(s);
    waiting_.pop_front();
  }
  return rejected;
}

void BatchScheduler::preempt(std::size_t index) {
  Sequence s = running_[index];
  unshare_prefix(s);
  memory_.release(s.reserved_units);
  s.reserved_units = 0;
  s.reserved_tokens = 0;
  // Everything it had is recomputed: its context and the tokens it generated.
  // A decoding sequence knows kv_tokens + 1 tokens (the last output is not yet in
  // the cache); one in prefill knows what it processed plus what remains.
  s.prefill_tokens = s.kv_tokens + (s.in_prefill() ? s.prefill_tokens - s.prefill_done : 1);
  s.prefill_done = 0;
  s.kv_tokens = 0;
  ++s.preemptions;
  ++preemptions_;
  running_.erase(running_.begin() + static_cast<std::ptrdiff_t>(index));
  preempted_.push_front(s);
}

int BatchScheduler::preempt_all() {
  const int count = static_cast<int>(running_.size());
  while (!running_.empty()) preempt(running_.size() - 1);
  return count;
}

int BatchScheduler::reserve_next_tokens() {
  int preempted = 0;
  for (std::size_t i = 0; i < running_.size();) {
    Sequence& s = running_[i];
    // A running sequence holds own_units of its reserved tokens (resize and
    // share_prefix keep it so): while the next tokens fit in its last block, resize
    // would find nothing to change.
    const long next_tokens = s.kv_tokens + 1 + limits_.speculative_tokens;
    // blocks_of(next_tokens) == reserved_tokens, without a division: reserved_tokens
    // is whole blocks (0 or blocks_of of something), and next_tokens >= 1.
    const bool same_blocks = next_tokens <= s.reserved_tokens && next_tokens > s.reserved_tokens - limits_.block_tokens;
    if (s.in_prefill() || same_blocks || resize(s, next_tokens)) {
      ++i;
      continue;
    }
    preempt(running_.size() - 1);  // the most recently admitted goes first
    ++preempted;
  }
  return preempted;
}

IterationPlan BatchScheduler::plan() const {
  IterationPlan plan;
  plan_into(plan);
  return plan;
}

bool BatchScheduler::same_decode_batch(IterationPlan& plan) const {
  // `plan` decoded every running sequence, and every one still decodes: the plan is
  // the same members in the same order, each one token further on.
  const std::size_t n = plan.members.size();
  if (n == 0 || n != running_.size() || plan.decode_tokens != static_cast<long>(n)) return false;
  for (std::size_t k = 0; k < n; ++k) {
    if (plan.members[k] != static_cast<int>(k) || running_[k].in_prefill()) return false;
  }
  for (std::size_t k = 0; k < n; ++k) plan.work[k].context_tokens = running_[k].kv_tokens;
  return true;
}

void BatchScheduler::plan_into(IterationPlan& plan) const {
  if (same_decode_batch(plan)) return;
  plan.members.clear();
  plan.work.clear();
  plan.tokens = 0;
  plan.decode_tokens = 0;
  plan.micro_batch_tokens = 0;
  long budget = limits_.token_budget;
  for (int i = 0; i < static_cast<int>(running_.size()); ++i) {
    const Sequence& s = running_[i];
    if (s.in_prefill()) continue;
    plan.members.push_back(i);
    // The target scores the k draft tokens and the one after: k + 1 positions of LM head.
    plan.work.push_back(SequenceWork{1 + limits_.speculative_tokens, s.kv_tokens, 1 + limits_.speculative_tokens});
    ++plan.decode_tokens;
    budget -= 1 + limits_.speculative_tokens;
    plan.tokens += 1 + limits_.speculative_tokens;
  }
  if (pipelined_prefill_ && plan.decode_tokens == 0 && plan_pipelined_prefill(plan)) return;  // sets plan.tokens
  for (int i = 0; i < static_cast<int>(running_.size()) && budget > 0; ++i) {
    const Sequence& s = running_[i];
    if (!s.in_prefill()) continue;
    const long chunk = std::min(budget, s.prefill_tokens - s.prefill_done);
    plan.members.push_back(i);
    const bool last = s.prefill_done + chunk == s.prefill_tokens;
    plan.work.push_back(SequenceWork{chunk, s.kv_tokens, last && s.request.output_tokens > 0 ? 1 : 0});
    budget -= chunk;
    plan.tokens += chunk;
  }
}

bool BatchScheduler::plan_pipelined_prefill(IterationPlan& plan) const {
  for (int i = 0; i < static_cast<int>(running_.size()); ++i) {
    const Sequence& s = running_[i];
    if (!s.in_prefill()) continue;
    const long rest = s.prefill_tokens - s.prefill_done;
    if (rest <= limits_.token_budget) return false;  // one chunk: nothing to pipeline
    plan.members.push_back(i);
    plan.work.push_back(SequenceWork{rest, s.kv_tokens, s.request.output_tokens > 0 ? 1 : 0});
    plan.tokens = rest;
    plan.micro_batch_tokens = limits_.token_budget;
    return true;
  }
  return false;
}

std::vector<Sequence> BatchScheduler::finish_iteration(const IterationPlan& plan, double start_s, double end_s) {
  auto done = [](const Sequence& s) { return !s.in_prefill() && s.generated >= s.request.output_tokens; };
  // Only a sequence of this iteration can have finished in it (the others wait in prefill).
  bool any_done = false;
  for (std::size_t k = 0; k < plan.members.size(); ++k) {
    Sequence& s = running_[plan.members[k]];
    if (s.scheduled_s < 0) s.scheduled_s = start_s;
    if (!s.in_prefill() && limits_.speculative_tokens > 0) {
      // Speculative step: the accepted draft tokens and the target's own token are
      // kept (their KV with them), the rejected ones dropped.
      s.speculative_credit += limits_.tokens_per_step;
      const long produced = std::min(static_cast<long>(s.speculative_credit + 1e-9),
                                     s.request.output_tokens - s.generated);
      s.speculative_credit -= static_cast<double>(produced);
      s.kv_tokens += produced;
      s.generated += produced;
      any_done = any_done || done(s);
      continue;
    }
    s.kv_tokens += plan.work[k].new_tokens;
    if (s.in_prefill()) {
      s.prefill_done += plan.work[k].new_tokens;
      if (!s.in_prefill()) {  // the context's blocks are computed: others may reuse them
        long context_blocks = 0;
        prefix_match(s.request, &context_blocks);
        share_prefix(s, whole_context_blocks(s.request));  // counted once from now on
        prefix_use(s.request, context_blocks);
      }
      if (!s.in_prefill() && s.request.output_tokens > 0) {  // the last chunk yields the next token
        if (s.generated == 0) s.first_token_s = end_s;
        ++s.generated;
      }
    } else {
      ++s.generated;
    }
    any_done = any_done || done(s);
  }
  std::vector<Sequence> finished;
  if (!any_done) return finished;
  for (Sequence& s : running_) {
    if (!done(s)) continue;
    s.done_s = end_s;
    const bool shared = s.shared_blocks > 0;
    unshare_prefix(s);
    if (s.request.prefix_blocks) prefix_use(s.request, static_cast<long>(s.request.prefix_blocks->size()));
    // With keep, its cache, holding every token of the turn, stays for the next one:
    // shared blocks become its own copy, unless memory cannot hold that copy.
    if (policy_ == KvPolicy::keep && (resize(s, s.final_tokens()) || !shared)) {
      memory_.keep(s.request.session, KeptCache{s.final_tokens(), s.reserved_units, end_s});
    } else {
      memory_.release(s.reserved_units);
    }
    finished.push_back(s);
  }
  running_.erase(std::remove_if(running_.begin(), running_.end(), done), running_.end());
  return finished;
}

}  // namespace convsim
