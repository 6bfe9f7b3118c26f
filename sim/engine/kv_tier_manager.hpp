#pragma once
// Moves a replica's conversation caches between HBM, host memory and NVMe as
// SimGrid transfers over each GPU's PCIe link (and the node's NVMe link):
// - offload_cpu / offload_nvme: a finished turn's cache leaves HBM at once;
// - keep: caches evicted from HBM under pressure spill to host memory, then NVMe;
// - a request whose history waits outside HBM is held while its cache comes back
//   (asynchronously: other sequences keep running), then admitted with a cache hit;
// - with serving.prefix_cache_offload, prefix-cache blocks evicted from HBM go to
//   host memory (then NVMe) in one transfer per eviction, and a request whose
//   leading blocks past those in HBM wait in one tier is held while that run of
//   blocks comes back, then admitted with them in its prefix cache. A run stops at
//   the first block missing or in the other tier; the rest is prefilled.
// Transfer energy (bytes times the link's energy per byte) and the extra power of
// host memory or NVMe over each transfer's duration (models/system_power.hpp) are
// attributed to the session's replies.

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include <simgrid/s4u.hpp>

#include "sim/accounting/records.hpp"
#include "sim/cluster/collectives.hpp"
#include "sim/cluster/platform.hpp"
#include "sim/engine/iteration_cost.hpp"
#include "sim/engine/replica_clock.hpp"
#include "sim/scheduler/batch_scheduler.hpp"
#include "sim/scheduler/kv_tiers.hpp"

namespace convsim {

class KvTierManager {
 public:
  KvTierManager(const Scenario& scenario, const CostModel& cost, const Platform& platform, std::vector<int> gpu_ids,
                KvMemory& memory, BatchScheduler& scheduler, RunResult& result);

  // A request arrives. If its history (or the next of its prefix blocks) waits
  // outside HBM, starts bringing it back and holds the request (true); otherwise the
  // caller queues it (false).
  bool hold_for_restore(const Request& request);

  // Hands restored requests to the scheduler and retries restores that waited for
  // HBM room.
  void poll();

  // After a reply completes: with the offload policies, moves its cache out of HBM.
  // Returns the transfer energy to attribute to that reply.
  double after_reply(int session);

  // Energy spent for `session` not yet attributed (restores, spills, finished
  // offloads), and the restore waits the replica charges (add_pending).
  EnergyCharge take_pending(int session);
  void add_pending(int session, const EnergyCharge& charge) { pending_[session] += charge; }

  // Sessions whose cache is on its way back to HBM or waits for room there.
  std::vector<int> restoring_sessions() const;

  bool restoring() const { return !restoring_.empty() || !blocked_.empty(); }

  // No transfer in flight, no restore under way or waiting.
  bool quiet() const { return in_flight_.empty() && !restoring(); }

  // The replica's clock: dates read from it, and paused (SimGrid's clock brought
  // to its date) before a transfer starts. Without one, SimGrid's clock.
  void use_clock(ReplicaClock* clock) { clock_ = clock; }

  // How many of r's leading prefix blocks past those HBM holds a restore would
  // bring back now (the run waiting in one tier).
  long restorable_prefix_blocks(const Request& request) const;

  // Waits for a restore to finish, or until `until_s` (< 0: no limit).
  void wait(double until_s);

  // Waits for every transfer in flight (at the end of the run).
  void finish();

  // Receives a slice for each transfer when it ends (for trace.json).
  void on_transfer(std::function<void(TraceSlice)> tracer) { tracer_ = std::move(tracer); }

  // Called when a restore's transfer ends, from an actor of its own that waits for
  // it: a replica that also waits for deliveries (router, disaggregation) then
  // waits on its condition variable instead of on the transfers (wait_on_signal()).
  void on_restored(std::function<void()> notify) { restored_ = std::move(notify); }
  // Whether a restore is on its way and will call on_restored's function.
  bool restore_in_flight() const;

 private:
  struct Restore {
    Request request;
    OffloadedCache cache;
    long units = 0;
    simgrid::s4u::ExecPtr transfer;
    double start_s = 0;
    std::shared_ptr<bool> done;  // set by its watcher, when there is one
    long prefix_blocks = 0;      // > 0: prefix blocks, the request's first this many held once back
  };
  struct Transfer {
    simgrid::s4u::ExecPtr activity;
    double start_s = 0;
    double bytes = 0;
    int session = 0;
    KvTier tier = KvTier::host;
  };
  // Charges the memory or drives' extra power over a finished transfer.
  void charge_tier_time(int session, KvTier tier, bool restore, const simgrid::s4u::ExecPtr& transfer);
  void trace(const char* name, const simgrid::s4u::ExecPtr& transfer, double bytes);
  bool start_restore(const Request& request, const OffloadedCache& cache, long prefix_blocks = 0);
  // The run of r's prefix blocks waiting in one tier just past the `held` blocks
  // HBM holds, up to its context's blocks: where it ends, and its tier.
  long prefix_run_end(const Request& request, long held, long context_blocks, KvTier* tier) const;
  // Starts reading back the run of r's prefix blocks that waits in one tier just
  // past those HBM holds; false if there is none.
  bool restore_prefix(const Request& request);
  // Moves blocks the prefix cache evicted to host memory (or NVMe), charged to
  // the session whose request evicted them.
  void demote_blocks(const Request& cause, const std::vector<std::uint64_t>& ids);
  double move_out(int session, long tokens, KvTier tier, double last_use_s);
  HostList tier_hosts(KvTier tier) const;
  double transfer_energy_j(double bytes) const;
  double now() const { return clock_ != nullptr ? clock_->now() : simgrid::s4u::Engine::get_clock(); }
  // Before a transfer starts: SimGrid's clock at the replica's date.
  void pause_clock() {
    if (clock_ != nullptr) clock_->pause();
  }

  std::vector<int> gpu_ids_;  // the replica's GPUs
  const Scenario& scenario_;
  const CostModel& cost_;
  KvMemory& memory_;
  BatchScheduler& scheduler_;
  RunResult& result_;
  HostList gpus_;
  std::vector<int> gpu_nodes_;
  const Platform& platform_;
  KvTiers tiers_;
  std::vector<Restore> restoring_;
  std::deque<std::pair<Request, OffloadedCache>> blocked_;  // waiting for HBM room
  std::vector<Transfer> in_flight_;                         // offloads and spills
  ReplicaClock* clock_ = nullptr;
  std::function<void(TraceSlice)> tracer_;
  std::function<void()> restored_;
  std::map<int, EnergyCharge> pending_;
};

}  // namespace convsim
