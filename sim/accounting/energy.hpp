#pragma once
// Energy accounts of a run.
//
// Conservation: the GPUs' metered energy (each GPU's active energy plus idle power
// over the rest of the reserved span) equals the replies' attributed energy plus
// the idle energy outside iterations. Both sides are computed independently here.

#include <vector>

#include "sim/accounting/records.hpp"
#include "sim/scenario/scenario.hpp"

namespace convsim {

struct EnergySplit {
  double gpu_active_j = 0;  // attributed to replies (their energy_j summed)
  double gpu_idle_j = 0;    // reserved GPUs outside iterations, at idle power
  double network_j = 0;     // links (attributed to replies too)
  double host_j = 0;        // host power of the nodes in use over the span
  double facility_j = 0;    // (pue - 1) * IT energy
  double it_j() const { return gpu_active_j + gpu_idle_j + network_j + host_j; }
  double total_j() const { return it_j() + facility_j; }
};

// The GPUs' own meter: sum over GPUs of active energy + idle_power * (span - active time).
double metered_gpu_energy_j(const RunResult& result);

EnergySplit energy_split(const RunResult& result, const Scenario& scenario);

// Facility energy of one reply: its GPU and network energy times PUE.
double reply_facility_energy_j(const ReplyRecord& reply, const Scenario& scenario);

// The reply's share of its replica's host power while the host worked for it
// (retrieval): host_delay_s * host power per node * the replica's share of a node.
// Already inside the host energy account, which runs all run long.
double reply_host_energy_j(const ReplyRecord& reply, const Scenario& scenario);

// Nodes holding at least one GPU in use.
int nodes_in_use(const Scenario& scenario);


}  // namespace convsim
