#pragma once
// Iteration-level (continuous) batching on one replica, with chunked prefill:
// each iteration runs one decode token for every sequence past its prefill, then
// fills the remaining token budget with prefill chunks, oldest request first.
// Requests are admitted in arrival order while the batch has room
// (max_batch_seqs) and the KV memory can reserve their final size.

#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "models/transformer_cost.hpp"
#include "sim/scheduler/kv_memory.hpp"
#include "sim/workload/workload.hpp"

namespace convsim {

// A request in flight on a replica, and what it has cost so far.
struct Sequence {
  Request request;
  long prefill_tokens = 0;  // tokens to process before the first output token
  long cached_tokens = 0;   // history found in the KV cache
  long prefill_done = 0;
  long generated = 0;
  long final_tokens = 0;     // history + prompt + output: its KV size when done
  long reserved_units = 0;   // what it holds in KvMemory
  double scheduled_s = -1;   // start of its first iteration
  double first_token_s = -1;
  double done_s = -1;
  // Attributed by share of the iterations it took part in.
  double energy_j = 0;
  double network_energy_j = 0;
  double flops = 0;
  double hbm_bytes = 0;
  double net_bytes = 0;
  double kv_bytes = 0;
  double peak_gpu_mem_bytes = 0;

  bool in_prefill() const { return prefill_done < prefill_tokens; }
  long context_tokens() const { return cached_tokens + prefill_tokens; }
};

struct BatchLimits {
  int max_batch_seqs = 256;
  long token_budget = 8192;  // prefill chunk tokens plus decode tokens per iteration
};

struct IterationPlan {
  std::vector<int> members;           // indices into BatchScheduler::running()
  std::vector<SequenceWork> work;     // one per member
  long tokens = 0;
  long decode_tokens = 0;  // members past their prefill (one token each)
};

class BatchScheduler {
 public:
  enum class KvPolicy { keep, drop };

  // KV memory units one sequence of that many tokens needs (KvMemory's units).
  using Footprint = std::function<long(long tokens)>;

  BatchScheduler(BatchLimits limits, KvPolicy policy, KvMemory& memory,
                 Footprint footprint = [](long tokens) { return tokens; })
      : limits_(limits), policy_(policy), memory_(memory), footprint_(std::move(footprint)) {}

  void add_waiting(const Request& request) { waiting_.push_back(request); }
  bool has_waiting() const { return !waiting_.empty(); }
  bool has_running() const { return !running_.empty(); }

  // Admits waiting requests while they fit. Requests that can never fit (their final
  // KV footprint exceeds the whole capacity) are removed and returned.
  std::vector<Request> admit();

  // REQUIRES: has_running().
  IterationPlan plan() const;

  // Applies an iteration that ran over [start_s, end_s]: progress, first tokens,
  // completions. Finished sequences leave the batch and are returned.
  std::vector<Sequence> finish_iteration(const IterationPlan& plan, double start_s, double end_s);

  std::vector<Sequence>& running() { return running_; }
  const KvMemory& memory() const { return memory_; }

 private:
  BatchLimits limits_;
  KvPolicy policy_;
  KvMemory& memory_;
  Footprint footprint_;
  std::deque<Request> waiting_;
  std::vector<Sequence> running_;
};

}  // namespace convsim
