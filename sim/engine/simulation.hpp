#pragma once

#include <optional>
#include <limits>
// Runs a validated scenario on SimGrid and returns the records. One simulation per
// process (a SimGrid limit): call simulate() once.

#include "sim/accounting/records.hpp"
#include "sim/engine/run_shard.hpp"
#include "sim/scenario/scenario.hpp"

namespace convsim {

struct RunOptions {
  bool progress = false;  // report simulated time on stderr during long runs
  bool trace = false;     // record timeline slices for trace.json (at most kMaxTraceSlices)
  // Only slices overlapping [trace_from_s, trace_to_s] of simulated time are kept,
  // so that a late window of a long run fits under the cap.
  double trace_from_s = 0;
  double trace_to_s = std::numeric_limits<double>::infinity();
  // Run every collective and send as a SimGrid activity, even for replicas whose
  // links nothing else shares (which otherwise compute the same times directly).
  bool simgrid_every_transfer = false;
  // Keep every decode iteration's start, span and tokens in
  // RunResult::iteration_log (the validation's steady window).
  bool log_iterations = false;
  // Let replicas that nothing else can affect run on clocks of their own
  // (ReplicaClock); false sends every wait through SimGrid's timers. The outputs
  // are the same either way (tested); false is for that test.
  bool run_ahead = true;
  // Simulate only these replicas and their sessions (see run_shard.hpp); the result
  // is left unfinished (finish_run) for convsim merge to join.
  RunShard shard;
};

// A ten-hour run on 64 GPUs has millions of slices; the trace keeps the first ones.
inline constexpr std::size_t kMaxTraceSlices = 400'000;

// Throws ConfigError when options.shard splits a scenario that cannot be split
// (shard_refusal) or whose shard turned out to depend on other replicas
// (shard_result_refusal).
RunResult simulate(const Scenario& scenario, const RunOptions& options = {});

// The failure of a run whose model leaves no room for a KV cache on some GPU
// (weights, the largest iteration's activations and the workspace exceed its HBM):
// every request fails with it at minute 0. None when the model fits. simulate()
// reports it; convsim check warns of it.
std::optional<FailureRecord> load_memory_failure(const Scenario& scenario);

// A run's records before any event: a meter per GPU used, a slot per replica.
RunResult empty_run_result(const Scenario& scenario);

// The last step of a run, once every replica's records are in: the reserved span
// (end_s = max(clock_s, horizon_s)), each replica idle from its stop to that end
// (charged to nobody), and the failures in order of time, kind and cause.
// simulate() calls it for a whole run; convsim merge after joining the shards.
void finish_run(RunResult& result);

}  // namespace convsim
