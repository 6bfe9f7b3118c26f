#pragma once
// One replica of the model: an actor that admits requests, batches them
// iteration by iteration (BatchScheduler), runs each iteration on its GPUs
// (IterationRunner), meters energy and writes reply records.
//
// With disaggregated prefill, a prefill replica runs each request up to its first
// token, then hands the KV cache to a decode replica (see Handoff), which decodes
// the rest and writes the record of the whole reply.
//
// Energy follows cause. An iteration's energy (its GPUs, its share of its nodes'
// host and switches) is split among its sequences by their share of its work. When
// the replica waits, its hardware at idle is charged to:
// - the sessions whose KV cache is being restored, if the wait is for a restore;
// - otherwise the conversations open on it (seen here, last turn not yet done), in
//   equal shares, as their reservation (reserved_energy_j of their next record);
// - otherwise nobody (RunResult::replica_unattributed_s).

#include <deque>
#include <map>
#include <memory>
#include <queue>
#include <set>
#include <string>
#include <vector>

#include <simgrid/s4u.hpp>

#include "sim/cluster/alarm.hpp"
#include "sim/accounting/energy.hpp"
#include "sim/engine/kv_tier_manager.hpp"
#include "sim/engine/replica_clock.hpp"
#include "sim/engine/router.hpp"
#include "sim/engine/run_context.hpp"
#include "sim/engine/serving_engine.hpp"
#include "sim/engine/stage_runner.hpp"
#include "sim/scheduler/batch_scheduler.hpp"

namespace convsim {

enum class ReplicaRole { whole, prefill, decode };

class ReplicaActor;

// Disaggregated serving: which replicas prefill and decode, the requests not yet
// finished anywhere (replicas stop when none is left), and what each handed-off
// request's prefill cost.
struct Handoff {
  struct PrefillPart {
    Request original;
    int prefill_replica = 0;
    long cached_tokens = 0;
    double scheduled_s = 0;
    double first_token_s = 0;
    Attribution charged;  // its prefill's share, its KV-tier transfers and the handoff
  };
  std::vector<ReplicaActor*> prefill, decode;
  std::map<long, PrefillPart> parts;  // by request id
  long unfinished = 0;

  ReplicaActor* prefill_for(int session) const { return prefill[static_cast<std::size_t>(session) % prefill.size()]; }
  ReplicaActor* decode_for(int session) const { return decode[static_cast<std::size_t>(session) % decode.size()]; }
  void finished_one();
};

class ReplicaActor : public RoutedReplica {
 public:
  // `layout` is this replica's scenario (its own parallelism for a prefill pool);
  // `first_rank` its first rank in the whole layout.
  ReplicaActor(int index, ReplicaRole role, const Scenario& layout, const CostModel& cost, int first_rank,
               RunContext& run);

  simgrid::s4u::Host* home() const;
  std::vector<int> gpus() const;
  IterationRunner& runner() { return runner_; }
  // Runs on a clock of its own (ReplicaClock), when nothing else can affect it.
  void run_ahead() { clock_.run_ahead(); }
  // With a router: only up to its next routing.
  void run_ahead_until(std::function<double()> horizon) {
    clock_.set_horizon(std::move(horizon));
    clock_.run_ahead();
  }
  void accept(const Request& request) { pending_.push(request); }
  // With a router or a handoff, deliveries wake the replica, restores too.
  void use_router(Router* router) {
    router_ = router;
    tiers_.on_restored([this] { wake(); });
  }
  void use_handoff(Handoff* handoff) {
    handoff_ = handoff;
    tiers_.on_restored([this] { wake(); });
  }
  int load() const override { return static_cast<int>(pending_.size()) + scheduler_.queued(); }
  bool down_at(double now_s) const override;
  long load_tokens() const override;
  // Held in HBM or waiting in host memory or NVMe to be read back (far cheaper than
  // a prefill): what this replica would not prefill.
  long cached_prefix_tokens(const Request& request) const override {
    const long held = scheduler_.prefix_hit_tokens(request);
    const long restorable = tiers_.restorable_prefix_blocks(request);
    if (restorable == 0) return held;
    long context_blocks = 0;
    const long blocks = scheduler_.prefix_held_blocks(request, &context_blocks) + restorable;
    return std::min(blocks * request.prefix_block_tokens, request.history_tokens + request.prompt_tokens - 1);
  }
  void deliver(const Request& request) override;
  // Remembered until the replica next waits, so that a wake-up sent while it is on
  // its way to the condition variable (taking the mutex is a simcall: other actors
  // run meanwhile) is not lost.
  void wake() override {
    woken_ = true;
    cv_->notify_all();
  }

  void operator()();

 private:
  bool hits_replica(const FaultSpec& f) const;
  double next_loss_s() const;
  void apply_losses();
  double slowdown(int stage) const;
  void admit_or_fail(const Request& r);
  void fail_memory(const Request& r);
  void fail(const Request& r, const std::string& kind, const std::string& cause);
  ReplyRecord base_record(const Request& r) const;
  void wait_until(double time_s);
  // Idle with nothing due: returns false when the run is over for this replica.
  bool wait_for_work();
  void continue_session(const Request& r, const ReplyOutcome& outcome);
  void run_iteration();
  void complete(const Sequence& seq);
  void hand_off(const Sequence& seq);
  void report_progress(double now_s);
  // Charges the replica's idle hardware from `from_s` to now (see above).
  void charge_wait(double from_s, bool for_restore);
  // What the session is owed so far here (restore charges, reservation), taken.
  EnergyCharge take_charges(int session);

  int index_;
  ReplicaRole role_;
  RunContext& run_;
  const Scenario& layout_;
  const CostModel& cost_;
  std::vector<std::vector<int>> stage_gpus_;
  std::priority_queue<Request, std::vector<Request>, RequestLater> pending_;
  std::set<int> busy_sessions_;                // sessions with a request in flight
  std::map<int, std::deque<Request>> parked_;  // their next requests, in order
  std::map<long, Request> originals_;          // prefill role: requests as they arrived
  KvMemory memory_;
  BatchScheduler scheduler_;
  KvTierManager tiers_;
  IterationRunner runner_;
  std::unique_ptr<ServingEngine> engine_;  // the scenario's serving.engine
  ReplicaPower power_;
  std::set<int> seen_sessions_;                  // conversations served here
  std::map<int, EnergyCharge> reserved_;         // reservation shares not yet on a record
  std::vector<const FaultSpec*> losses_;  // losses of this replica's GPUs, not yet applied
  Router* router_ = nullptr;
  Handoff* handoff_ = nullptr;
  simgrid::s4u::MutexPtr mutex_ = simgrid::s4u::Mutex::create();
  simgrid::s4u::ConditionVariablePtr cv_ = simgrid::s4u::ConditionVariable::create();
  ReplicaClock clock_;  // its date and timed waits
  IterationPlan plan_;                // the current iteration's, reused
  std::vector<IterationCost> micro_;  // its micro-batches' costs, reused
  std::vector<double> shares_;        // its sequences' shares of its work, reused
  bool woken_ = false;
};

}  // namespace convsim
