#pragma once
// How one replica runs an iteration on its GPUs.
//
// The iteration's micro-batches go through the pipeline stages in ticks (GPipe):
// in tick k, stage s works on micro-batch k - s, so m micro-batches over p stages
// take m + p - 1 ticks. A tick has phases, each as long as its slowest stage:
//   compute   every stage's kernels (without attention when cp > 1), plus the
//             latency steps of its collectives beyond the first of each;
//   ring      (cp > 1) ring attention: the KV blocks (or queries) pass around the
//             context-parallel ring while attention computes: max of the two;
//   all-reduce the tensor-parallel all-reduces of every stage;
//   all-to-all (ep > tp) MoE dispatch and combine;
//   send      activations to the next stage.
// With one micro-batch the stages simply run one after another.
//
// Each communication phase is one SimGrid parallel task for all stages of the
// tick (contention with other replicas' traffic is SimGrid's). When no other
// traffic can touch a replica's links (see set_exclusive), the phases are computed
// instead as SimGrid would for an uncontended task: the slowest route's latency
// plus the largest bytes / bandwidth over the links crossed; the iteration is then
// a single timed wait, the caller's. tests/engine/test_layouts.cpp checks that both give the
// same times. Timed waits are Alarms (a kernel timer, not a solver action), so a
// replica waiting on its iteration costs nothing at other replicas' events.

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <simgrid/s4u.hpp>

#include "sim/accounting/records.hpp"
#include "sim/cluster/alarm.hpp"
#include "sim/cluster/platform.hpp"
#include "sim/engine/iteration_cost.hpp"

namespace convsim {

// Ranks of one replica's GPUs by stage: stage s holds ranks s * stage_gpus() ..
// (s + 1) * stage_gpus() - 1 after `first_rank`, tp fastest.
std::vector<std::vector<int>> replica_stage_gpus(const ParallelismSpec& layout, const ParallelismSpec& whole,
                                                 int first_rank);

// What an iteration cost each GPU of a stage (all GPUs of a stage do the same).
struct StageActivity {
  double compute_s = 0;
  double comm_s = 0;    // in collectives and sends, waiting for them included
  double host_s = 0;    // waiting for the engine's CPU side to launch the iteration
  double hbm_bytes = 0, bf16_flops = 0, fp8_flops = 0, fp4_flops = 0;  // work done (the power fit's features)
  double energy_j = 0;  // compute at the stage's busy power, communication at comm power
  double clock_compute_s = 0;  // compute_s times the clock fraction it ran at (models/cap_governor.hpp)
};

struct IterationRun {
  double span_s = 0;
  std::vector<StageActivity> stages;
  double net_bytes = 0;         // put on links, all GPUs
  double network_energy_j = 0;  // links
  long activities = 0;          // SimGrid activities and timed waits
  // Each stretch of kernels one GPU of a stage ran at one power, by stage index
  // (only when IterationRunner::set_record_segments).
  std::vector<std::pair<std::size_t, PowerSegment>> segments;

  // All zero over `stage_count` stages, keeping the vector's capacity.
  void reset(std::size_t stage_count) {
    span_s = 0;
    stages.assign(stage_count, StageActivity{});
    net_bytes = 0;
    network_energy_j = 0;
    activities = 0;
    segments.clear();
  }
};

class IterationRunner {
 public:
  // `name` labels its pipeline-link trace tracks ("replica 3").
  IterationRunner(const Scenario& scenario, const ParallelismSpec& layout, const Platform& platform,
                  std::vector<std::vector<int>> stage_gpus, std::string name);

  // Every link the replica's collectives and sends cross.
  std::vector<const simgrid::s4u::Link*> links() const;

  // Exclusive: no other traffic shares its links, so phases are computed.
  void set_exclusive(bool exclusive) { exclusive_ = exclusive; }
  bool exclusive() const { return exclusive_; }
  // Record IterationRun::segments (validation: the power fit's features).
  void set_record_segments(bool record) { record_segments_ = record; }

  // Runs the iteration whose micro-batches cost `micro` (each stage's compute
  // scaled by slowdown(stage)) from `start_s` (the caller's now). Through SimGrid,
  // it blocks the calling actor for the iteration's span; exclusive, it only
  // computes the span, which the caller then waits (ReplicaClock). Trace
  // slices go to `trace` when given, compute slices named `kind`. The result is
  // valid until the next call. host_s: the engine's CPU-side time that precedes the
  // GPU work (every GPU of the replica waits through it at its host-wait power).
  // sequence_gpu_s: the engine's per-sequence work that runs on the GPU (sampling
  // over the vocabulary, input preparation; see EngineProfile::per_sequence_on_gpu),
  // after host_s: the last stage's GPUs stream HBM through it at the memory roof
  // (its bytes counted, drawing busy power at that rate); the other stages wait
  // at host-wait power.
  const IterationRun& run(double start_s, const std::vector<IterationCost>& micro,
                          const std::function<double(int)>& slowdown,
                          const char* kind, const std::function<void(TraceSlice)>* trace, double host_s = 0,
                          double sequence_gpu_s = 0);

  const std::vector<int>& gpus_of(int stage) const { return stage_gpus_[static_cast<std::size_t>(stage)]; }

 private:
  // The flows of one kind of communication of one stage, each carrying the same
  // bytes, and what an uncontended run of them costs per byte.
  struct Pattern {
    std::vector<std::pair<int, int>> flows;  // GPU ids
    double latency_s = 0;                    // slowest route
    double seconds_per_flow_byte = 0;        // max over links of flows crossing it / bandwidth
    double energy_j_per_flow_byte = 0;       // over all flows and the links each crosses
  };
  enum Kind { allreduce, ring, all_to_all, send, kinds };
  Pattern make_pattern(std::vector<std::pair<int, int>> flows) const;
  // A phase of a tick: `bytes[s]` per flow of pattern `kind` for each active stage,
  // while the GPUs compute for `overlap_s`; `extra_s` of latency follows the
  // transfer. Returns max(overlap, transfer + extra), computed or measured on SimGrid.
  // `bytes` are at the link's full rate; `carried`, where given, is the fraction of
  // them each stage's flows really carry (AllReducePlan::link_rate_fraction), which
  // the bytes moved and the network energy count.
  double run_phase(Kind kind, const std::vector<int>& stages, const std::vector<double>& bytes, double overlap_s,
                   double extra_s, IterationRun& run, const std::vector<double>* carried = nullptr);

  const Scenario& scenario_;
  const ParallelismSpec& layout_;
  const Platform& platform_;
  std::vector<std::vector<int>> stage_gpus_;
  std::vector<std::vector<Pattern>> patterns_;  // [stage][kind]
  std::string name_;
  bool exclusive_ = false;
  bool record_segments_ = false;
  Alarm alarm_;  // the replica's timed waits (compute phases, computed iterations)
  struct Scratch {  // run()'s per-stage working values
    std::vector<double> factor, ar_bytes, ar_carried, ring_bytes, a2a_bytes, send_bytes, own_pre_s, own_attention_s;
    std::vector<int> active;
  } scratch_;
  IterationRun run_;  // run()'s result, reused
};

}  // namespace convsim
