#pragma once
// The cost of one reply broken down by kernel class: what `convsim explain` prints.
// The reply's iterations are recomputed with the cost model as if it ran alone on
// its replica (its prefill in chunks over its cached context, then one decode step
// per output token), so the breakdown shows what the reply itself costs; the
// simulated figures beside it add queueing and sharing with other sequences.

#include <array>
#include <string>
#include <vector>

#include "sim/accounting/records.hpp"
#include "sim/engine/iteration_cost.hpp"
#include "sim/scenario/scenario.hpp"

namespace convsim {

struct BreakdownRow {
  std::string name;       // a kernel class, "communication" or "idle"
  double flops = 0;       // all GPUs of the replica
  double hbm_bytes = 0;   // all GPUs of the replica
  double time_s = 0;      // on the critical path (stages run one after another)
  double compute_s = 0;   // time the roofline's compute side would take
  double memory_s = 0;    // time the roofline's memory side would take
  double energy_j = 0;    // GPU energy: the class's share of its stages' busy power
  bool compute_bound() const { return compute_s > memory_s; }
};

struct ReplyBreakdown {
  std::vector<BreakdownRow> rows;  // kernel classes, then communication, then idle
  double prefill_s = 0;
  double decode_s = 0;
  long prefill_tokens = 0;
  long iterations = 0;
  double total_time_s() const { return prefill_s + decode_s; }
  double total_energy_j() const;
};

enum class ReplyPhase { all, prefill, decode };

ReplyBreakdown explain_reply(const Scenario& scenario, const CostModel& cost, const ReplyRecord& reply,
                             ReplyPhase phase = ReplyPhase::all);

std::string format_breakdown(const ReplyBreakdown& breakdown, const ReplyRecord& reply);

}  // namespace convsim
