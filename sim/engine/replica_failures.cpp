// ReplicaActor's faults and refusals: GPUs and nodes lost and slowed by the
// scenario's faults, and requests refused (context limit, memory) with their
// records. The rest of the replica is in replica.cpp.
#include "sim/engine/replica.hpp"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

namespace sg4 = simgrid::s4u;

namespace convsim {

namespace {
constexpr double kGb = 1e9;
}  // namespace

// Whether a fault's GPU or node is one of this replica's.
bool ReplicaActor::hits_replica(const FaultSpec& f) const {
  for (int g : gpus()) {
    if (f.kind == FaultSpec::Kind::node_lost ? run_.platform.node_of(g) == f.node : g == f.gpu) return true;
  }
  return false;
}

bool ReplicaActor::down_at(double now_s) const {
  for (const FaultSpec& f : run_.scenario.faults) {
    const bool loss = f.kind == FaultSpec::Kind::gpu_lost || f.kind == FaultSpec::Kind::node_lost;
    if (loss && f.at_s <= now_s && now_s < f.at_s + f.repair_s && hits_replica(f)) return true;
  }
  return false;
}

double ReplicaActor::next_loss_s() const {
  double next = std::numeric_limits<double>::infinity();
  for (const FaultSpec* f : losses_) next = std::min(next, f->at_s);
  return next;
}

// A lost GPU or node takes the replica down until repaired: the KV caches it held
// are gone and its running sequences start over.
void ReplicaActor::apply_losses() {
  for (auto it = losses_.begin(); it != losses_.end();) {
    const FaultSpec& f = **it;
    if (clock_.now() < f.at_s) {
      ++it;
      continue;
    }
    const int caches = memory_.drop_all_kept();
    const int running = scheduler_.preempt_all();
    const std::string what =
        f.kind == FaultSpec::Kind::node_lost ? fmt::format("node {}", f.node) : fmt::format("GPU {}", f.gpu);
    run_.record_failure("fault", f.at_s,
                        fmt::format("{} lost at minute {:.2f}: replica {} down until minute {:.2f}; {} kept KV "
                                    "caches lost, {} running sequences start over",
                                    what, f.at_s / 60.0, index_, (f.at_s + f.repair_s) / 60.0, caches, running));
    ++run_.result.faults_applied;
    const double back_s = f.at_s + f.repair_s;
    it = losses_.erase(it);
    const double down_from_s = clock_.now();
    clock_.wait_until(back_s);
    run_.result.replica_unattributed_s[static_cast<std::size_t>(index_)] += clock_.now() - down_from_s;
  }
}

// A stage computes at the pace of its slowest GPU.
double ReplicaActor::slowdown(int stage) const {
  const double now = clock_.now();
  double factor = 1.0;
  for (const FaultSpec& f : run_.scenario.faults) {
    if (f.kind != FaultSpec::Kind::gpu_slow || now < f.at_s || (f.until_s >= 0 && now >= f.until_s)) continue;
    const std::vector<int>& stage_gpus = stage_gpus_[static_cast<std::size_t>(stage)];
    if (std::find(stage_gpus.begin(), stage_gpus.end(), f.gpu) != stage_gpus.end()) factor = std::max(factor, f.factor);
  }
  return factor;
}

void ReplicaActor::admit_or_fail(const Request& r) {
  if (run_.scenario.conversation) seen_sessions_.insert(r.session);
  const long context = r.history_tokens + r.prompt_tokens + r.output_tokens;
  const long limit = run_.scenario.model.spec.max_context_tokens;
  if (context > limit) {
    const std::string cause =
        fmt::format("context of {} tokens (history {} + prompt {} + reply {}) exceeds the model's {} tokens", context,
                    r.history_tokens, r.prompt_tokens, r.output_tokens, limit);
    fail(r, "context_limit", cause);
    return;
  }
  Request admitted = r;
  if (role_ == ReplicaRole::prefill) {  // up to the first token; a decode replica does the rest
    originals_[r.id] = r;
    admitted.output_tokens = std::min(r.output_tokens, 1L);
  }
  if (!tiers_.hold_for_restore(admitted)) scheduler_.add_waiting(admitted);
}

void ReplicaActor::fail_memory(const Request& r) {
  const long tokens = r.history_tokens + r.prompt_tokens + r.output_tokens;
  const double share =
      static_cast<double>(cost_.kv_footprint_units(tokens)) / static_cast<double>(KvMemory::kUnitsPerPool);
  const double pool_gb = cost_.kv_pool_bytes_min() / kGb;
  fail(r, "memory",
       fmt::format("KV cache of {} tokens needs {:.1f} GB on the busiest GPU; {:.1f} GB are free there after "
                   "weights, activations and workspace",
                   tokens, share * pool_gb, pool_gb));
}

void ReplicaActor::fail(const Request& failed, const std::string& kind, const std::string& cause) {
  // The request as it arrived: a prefill replica keeps it; a decode replica finds
  // it with its prefill's part.
  Request r = failed;
  Handoff::PrefillPart prefill;  // what its prefill cost, if it had one elsewhere
  if (const auto original = originals_.find(failed.id); original != originals_.end()) {
    r = original->second;
    originals_.erase(original);
  } else if (handoff_) {
    if (const auto part = handoff_->parts.find(failed.id); part != handoff_->parts.end()) {
      prefill = part->second;
      r = prefill.original;
      handoff_->parts.erase(part);
    }
  }
  const double now = clock_.now();
  run_.record_failure(kind, now, cause);
  ReplyRecord rec = base_record(r);
  rec.failure = kind;
  Attribution charged = prefill.charged;  // energy already spent stays attributed
  charged += take_charges(r.session);
  charged.copy_to(rec);
  run_.result.replies.push_back(rec);
  continue_session(r, ReplyOutcome{now, now});
  if (handoff_) handoff_->finished_one();
}

}  // namespace convsim
