#pragma once
// Runs a validated scenario on SimGrid and returns the records. One simulation per
// process (a SimGrid limit): call simulate() once.

#include "sim/accounting/records.hpp"
#include "sim/scenario/scenario.hpp"

namespace convsim {

struct RunOptions {
  bool progress = false;  // report simulated time on stderr during long runs
};

RunResult simulate(const Scenario& scenario, const RunOptions& options = {});

}  // namespace convsim
