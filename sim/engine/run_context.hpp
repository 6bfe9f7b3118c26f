#pragma once
// What the replicas of one run share: the scenario, the cost model, the platform,
// the workload, and the records they append to. One per simulation.

#include <chrono>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "sim/accounting/records.hpp"
#include "sim/cluster/alarm.hpp"
#include "sim/cluster/platform.hpp"
#include "sim/engine/iteration_cost.hpp"
#include "sim/engine/simulation.hpp"
#include "sim/workload/workload.hpp"

namespace convsim {

struct RunContext {
  const Scenario& scenario;
  const CostModel& cost_model;
  const Platform& platform;
  Workload& workload;
  RunResult& result;
  bool progress = false;
  bool trace = false;
  std::vector<int> rank_of_gpu;  // meters and timelines are kept by rank
  bool log_iterations = false;
  // Conversations whose last turn is done: no longer charged for the replicas
  // they reserve (see ReplicaActor::charge_wait).
  std::set<int> finished_sessions;
  // Replica actors still running; the last one to end stops the clock's ticks.
  int replicas_running = 0;
  // Replicas on clocks of their own (ReplicaClock) that have stopped: each runs its
  // whole share of the run before the next starts, so progress counts them.
  int replicas_on_own_clock_done = 0;
  ClockTicks* ticks = nullptr;
  std::chrono::steady_clock::time_point wall_start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_progress = wall_start;
  // The window of simulated time traced (RunOptions::trace_from_s, trace_to_s).
  double trace_from_s = 0;
  double trace_to_s = std::numeric_limits<double>::infinity();

  void add_slice(TraceSlice slice) {
    if (!trace || slice.duration_s <= 0) return;
    if (slice.start_s + slice.duration_s < trace_from_s || slice.start_s > trace_to_s) return;
    if (result.trace.size() >= kMaxTraceSlices) {
      if (!result.trace_truncated) result.trace_truncated_at_s = slice.start_s;
      result.trace_truncated = true;
      return;
    }
    result.trace.push_back(std::move(slice));
  }

  // The first occurrence of each kind is the failure point: the earliest, and of
  // those at the same time the least cause in text order (not the first reported:
  // replicas at the same date report in an order that depends on the others).
  void record_failure(const std::string& kind, double time_s, const std::string& cause) {
    keep_first_failure(result.failures, FailureRecord{kind, time_s, cause, "capacity"});
  }
};

}  // namespace convsim
