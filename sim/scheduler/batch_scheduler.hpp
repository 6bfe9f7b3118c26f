#pragma once
// Iteration-level (continuous) batching on one replica, with chunked prefill and
// paged KV memory, as vLLM schedules:
// - each iteration runs one decode token for every sequence past its prefill, then
//   fills the remaining token budget with prefill chunks, oldest request first;
// - requests are admitted in arrival order while the batch has room
//   (max_batch_seqs) and the KV memory can hold their context and prompt;
// - a sequence's KV grows block by block (kv_block_tokens) as it decodes; when a
//   block cannot be had, the most recently admitted sequence is preempted: its
//   KV is freed and it is recomputed later (prefilled again with the tokens it had).
// A request whose final size could never fit is rejected at admission.
// With a prefix cache (use_prefix_cache), a request skips the prefill of the longest
// run of its leading blocks the cache holds (all but its last token at most, as
// vLLM recomputes the last token to produce the first output); its blocks join the
// cache when its prefill ends and, with its reply, when it completes. The cache
// holds what fits in the KV memory not kept by conversations between turns.
// Memory of shared blocks is counted once: a running sequence pins the whole
// blocks of its context it found or computed (PrefixCache::pin), the first to pin
// a block reserves it, and the sequence's own reservation is the rest of its
// tokens. It lets go of them when it ends or is preempted. Blocks evicted from
// the cache are handed to on_prefix_evicted (to move them to a slower tier).
// With pipelined prefill (pipeline_long_prefills, for engines that pipeline the
// chunks of one prompt across pipeline stages, as SGLang and TensorRT-LLM do), an
// iteration in which no sequence decodes takes the oldest prefilling sequence's
// whole remaining prompt when it exceeds the token budget; the plan says to run it
// as micro-batches of the budget (micro_batch_tokens), so C chunks over P stages
// take C + P - 1 stage-chunk times instead of C x P. While other sequences decode,
// chunks go one an iteration as without it, so their steps are not held up.

#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "models/transformer_cost.hpp"
#include "sim/accounting/records.hpp"
#include "sim/scheduler/kv_memory.hpp"
#include "sim/scheduler/prefix_cache.hpp"
#include "sim/workload/request.hpp"

namespace convsim {

// A request in flight on a replica, and what it has cost so far.
struct Sequence {
  Request request;
  long cached_tokens = 0;   // history found in the KV cache when admitted
  long prefill_tokens = 0;  // tokens to process before the next output token
  long prefill_done = 0;
  long kv_tokens = 0;       // tokens whose K/V are in the cache now
  long generated = 0;       // output tokens produced so far
  long reserved_units = 0;  // what it holds in KvMemory
  long reserved_tokens = 0; // the tokens that reservation holds (whole blocks)
  long shared_blocks = 0;   // its leading prefix blocks pinned in the prefix cache, counted there
  int preemptions = 0;
  double scheduled_s = -1;  // start of its first iteration
  double first_token_s = -1;
  double done_s = -1;
  Attribution charged;  // by share of the iterations it took part in
  double speculative_credit = 0;  // expected tokens accumulated, not yet produced

  bool in_prefill() const { return prefill_done < prefill_tokens; }
  long final_tokens() const { return request.history_tokens + request.prompt_tokens + request.output_tokens; }
};

struct BatchLimits {
  int max_batch_seqs = 256;
  long token_budget = 8192;  // prefill chunk tokens plus decode tokens per iteration
  long block_tokens = 16;    // KV is allocated in blocks of this many tokens
  // Speculative decoding: each decoding sequence's step verifies this many draft
  // tokens plus one (k + 1 tokens planned) and yields tokens_per_step on average.
  int speculative_tokens = 0;
  double tokens_per_step = 1.0;
};

// What the prefix cache served: blocks and tokens of the contexts looked up, and
// of the leading blocks found.
struct PrefixCacheStats {
  long lookup_blocks = 0;
  long hit_blocks = 0;
  long lookup_tokens = 0;
  long hit_tokens = 0;
  long evicted_blocks = 0;
};

struct IterationPlan {
  std::vector<int> members;        // indices into BatchScheduler::running()
  std::vector<SequenceWork> work;  // one per member
  long tokens = 0;
  long decode_tokens = 0;  // members past their prefill (one step each: 1 token, or k + 1 when speculating)
  // Pipelined prefill: run the work as micro-batches of at most this many tokens
  // through the pipeline stages; 0 when the iteration is one batch.
  long micro_batch_tokens = 0;
};

class BatchScheduler {
 public:
  enum class KvPolicy { keep, drop };
  // KV memory units one sequence of that many tokens holds (KvMemory's units).
  using Footprint = std::function<long(long tokens)>;

  BatchScheduler(BatchLimits limits, KvPolicy policy, KvMemory& memory,
                 Footprint footprint = [](long tokens) { return tokens; })
      : limits_(limits), policy_(policy), memory_(memory), footprint_(std::move(footprint)) {}

  void add_waiting(const Request& request) { waiting_.push_back(request); }
  bool has_waiting() const { return !waiting_.empty() || !preempted_.empty(); }
  bool has_running() const { return !running_.empty(); }
  int queued() const { return static_cast<int>(waiting_.size() + preempted_.size() + running_.size()); }

  // Admits preempted sequences first, then waiting requests, while they fit.
  // Requests that can never fit (their final KV footprint exceeds the whole
  // capacity) are removed and returned.
  std::vector<Request> admit();

  // Makes room for the token every decoding sequence writes next, preempting the
  // most recently admitted sequences if blocks run out. Returns how many were
  // preempted. Call before plan().
  int reserve_next_tokens();

  // Preempts every running sequence (its GPUs were lost): each starts over, its
  // context prefilled again. Returns how many.
  int preempt_all();

  // REQUIRES: has_running().
  IterationPlan plan() const;
  // The same plan written into `out`, whose vectors keep their capacity: a plan
  // reused from iteration to iteration allocates nothing. REQUIRES: has_running().
  void plan_into(IterationPlan& out) const;

  // Applies an iteration that ran over [start_s, end_s]: progress, first tokens,
  // completions. Finished sequences leave the batch and are returned.
  std::vector<Sequence> finish_iteration(const IterationPlan& plan, double start_s, double end_s);

  // KvMemory units a cache of `tokens` tokens holds (whole blocks).
  long footprint_units(long tokens) const { return footprint_(blocks_of(tokens)); }

  // Turns on the prefix cache, holding at most `cap_tokens` tokens (0: only the
  // memory bounds it).
  // Plan a long prompt's chunks as one pipelined iteration when nothing decodes.
  void pipeline_long_prefills() { pipelined_prefill_ = true; }

  void use_prefix_cache(long cap_tokens) {
    prefix_.emplace();
    prefix_cap_tokens_ = cap_tokens;
  }
  bool has_prefix_cache() const { return prefix_.has_value(); }
  // Called with the blocks the prefix cache evicts (oldest first) and the request
  // whose use of the cache evicted them.
  using PrefixEvicted = std::function<void(const Request& cause, const std::vector<std::uint64_t>& ids)>;
  void on_prefix_evicted(PrefixEvicted callback) { on_prefix_evicted_ = std::move(callback); }
  // How many of r's leading context blocks the cache holds now, and how many
  // blocks its context has (whole or not).
  long prefix_held_blocks(const Request& r, long* context_blocks) const { return prefix_match(r, context_blocks); }
  // Blocks of r read back from a slower tier: its first `blocks` blocks are held
  // again, most recently used.
  void prefix_restored(const Request& r, long blocks) { prefix_use(r, blocks); }
  // Units of KV memory the pinned prefix blocks hold (each counted once).
  long prefix_pinned_units() const { return pinned_units_; }
  // Tokens of the request's context this replica's prefix cache would serve now.
  long prefix_hit_tokens(const Request& r) const;
  PrefixCacheStats prefix_stats() const;
  // Tokens waiting, being prefilled and still to decode here: the routers' load.
  long load_tokens() const;

  std::vector<Sequence>& running() { return running_; }
  const KvMemory& memory() const { return memory_; }
  long preemptions() const { return preemptions_; }

 private:
  long blocks_of(long tokens) const;
  // Grows (or shrinks) a sequence's reservation to hold `tokens` (less the blocks
  // it shares). False if it cannot.
  bool resize(Sequence& s, long tokens);
  // The units a sequence reserves itself for `tokens` (whole blocks), its shared
  // blocks excepted.
  long own_units(const Sequence& s, long tokens) const;
  // Pins s's leading prefix blocks up to `blocks` (whole blocks of its context),
  // moving them from its own reservation to the cache's count. False, changing
  // nothing, if memory cannot hold the blocks it newly counts.
  bool share_prefix(Sequence& s, long blocks);
  // Lets go of s's pinned blocks; its reservation keeps only its own units.
  void unshare_prefix(Sequence& s);
  // Whole prefix blocks of r's context (those a sequence may pin).
  long whole_context_blocks(const Request& r) const;
  void preempt(std::size_t index);
  // The leading blocks of r's context held in the prefix cache, and how many it has.
  long prefix_match(const Request& r, long* context_blocks) const;
  // Marks r's first `blocks` blocks used now, then evicts down to capacity.
  void prefix_use(const Request& r, long blocks);
  // Plans the oldest prefilling sequence's whole remaining prompt as one pipelined
  // iteration if it is longer than the token budget; false, planning nothing, if not.
  bool plan_pipelined_prefill(IterationPlan& plan) const;
  // Updates `plan` in place when it decoded every running sequence, in order, and
  // all still decode (nothing admitted, finished or preempted since): the plan
  // plan_into would write, each member one token further on. False otherwise.
  bool same_decode_batch(IterationPlan& plan) const;

  BatchLimits limits_;
  bool pipelined_prefill_ = false;
  KvPolicy policy_;
  KvMemory& memory_;
  Footprint footprint_;
  std::deque<Sequence> preempted_;  // resumed before any new request
  std::deque<Request> waiting_;
  std::vector<Sequence> running_;
  long preemptions_ = 0;
  std::optional<PrefixCache> prefix_;
  long prefix_cap_tokens_ = 0;
  PrefixCacheStats prefix_stats_;
  long pinned_units_ = 0;
  PrefixEvicted on_prefix_evicted_;
};

}  // namespace convsim
