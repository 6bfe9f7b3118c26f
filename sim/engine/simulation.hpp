#pragma once

#include <limits>
// Runs a validated scenario on SimGrid and returns the records. One simulation per
// process (a SimGrid limit): call simulate() once.

#include "sim/accounting/records.hpp"
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
};

// A ten-hour run on 64 GPUs has millions of slices; the trace keeps the first ones.
inline constexpr std::size_t kMaxTraceSlices = 400'000;

RunResult simulate(const Scenario& scenario, const RunOptions& options = {});

}  // namespace convsim
