#pragma once
// Where and why a run stopped meeting its objectives: the first miss of each
// objective, the engine's failures (memory, context limit), and an unstable queue,
// each with the cause class its time went to.
//
// Cause classes: queueing (waiting for the replica, or sharing its iterations),
// compute (compute-bound kernels), memory_bandwidth (memory-bound kernels), network
// (collectives and transfers), capacity (memory or context exhausted). A missed
// TTFT or TPOT is attributed to the largest of: the time queued (plus what sharing
// the batch added beyond the reply's own cost), and the compute-bound, memory-bound
// and communication time of the reply's own iterations (see explain.hpp).

#include <string>
#include <vector>

#include "sim/accounting/records.hpp"
#include "sim/analysis/objectives.hpp"
#include "sim/engine/iteration_cost.hpp"
#include "sim/scenario/scenario.hpp"

namespace convsim {

// Whether a served reply met every objective's limit (TTFT, TPOT, the limits of the
// percentile objectives and, for conversations with speech_realtime, producing
// tokens at least as fast as they are spoken).
bool slo_ok(const ReplyRecord& reply, const Scenario& scenario);

// The queue is unstable when, over the second half of the arrivals, the queueing
// delay grows by more than this many seconds per second of arrivals.
inline constexpr double kUnstableQueueSlope = 0.01;

// The objectives of the scenario judged over the run's served replies (see
// objectives.hpp), and every window judged.
struct JudgedObjectives {
  std::vector<ObjectiveResult> results;
  std::vector<WindowRow> windows;
};
JudgedObjectives judge_objectives(const RunResult& result, const Scenario& scenario);

// Engine failures plus the first miss of each objective (for attainment and
// percentile objectives, the first window missed) and an unstable queue, ordered by
// time, each with its cause class.
std::vector<FailureRecord> failure_points(const RunResult& result, const Scenario& scenario, const CostModel& cost,
                                          const JudgedObjectives& judged);
// The same, judging the objectives first.
std::vector<FailureRecord> failure_points(const RunResult& result, const Scenario& scenario, const CostModel& cost);

}  // namespace convsim
