#pragma once
// The tables of `convsim plan`, formatted from each candidate's choices, why it was
// pruned, and (when evaluated) its summary.json: plan.csv (every candidate),
// pareto.csv (the frontier of energy per reply against the latency objective),
// pareto_usd.csv (the frontier of dollars per million output tokens against it)
// and top.csv (the best candidates meeting every objective, by the plan's goal).

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/analysis/objectives.hpp"
#include "sim/plan/candidate.hpp"
#include "sim/scenario/scenario.hpp"

namespace convsim {

struct PlanRow {
  Candidate candidate;
  int dp = 0;                 // resolved
  int gpus = 0;               // GPUs used (decode replicas and prefill pool)
  std::string status;         // evaluated, pruned (memory or roofline), invalid (the scenario rejects it), pending
  std::string reason;         // why pruned or invalid
  double memory_need_bytes = 0;
  double hbm_bytes = 0;
  double latency_floor_s = 0;  // of the frontier's latency objective
  double excess = 0;           // pruned: need / HBM, or floor / limit (how far from passing)
  std::optional<nlohmann::ordered_json> summary;  // evaluated: its summary.json
};

// The figures plan.csv gives an evaluated candidate.
struct PlanFigures {
  long replies = 0;
  long failed_replies = 0;
  std::optional<double> latency_s;  // the frontier's latency objective; none without a reply
  double energy_per_reply_j = 0; // every term of the run's energy per reply served
  double gpu_hours = 0;
  std::optional<double> usd;     // with a price for the GPU
  std::optional<double> usd_per_m_output_tokens;
  double output_tokens_per_s = 0;
  double throughput_per_gpu = 0;  // output tokens per s per GPU
  bool objectives_met = false;    // every objective, over the run and in every window
  // Frontier and top: every reply served (none failed), at least one.
  bool served_all() const { return replies > 0 && failed_replies == 0; }
};
PlanFigures plan_figures(const PlanRow& row, const PlanSpec& plan);

struct PlanTables {
  std::string plan_csv;
  std::string pareto_csv;
  std::string pareto_usd_csv;
  std::string top_csv;
  std::vector<std::size_t> frontier;      // indices into rows, by latency (energy per reply)
  std::vector<std::size_t> usd_frontier;  // indices into rows, by latency (dollars per million output tokens)
  std::vector<std::size_t> top;       // indices into rows, best first
};

// plan.csv columns: candidate, gpu, engine, nodes, gpus, tp, pp, ep, cp, dp,
// prefill_replicas, prefill_tp, prefill_pp (empty without a pool), max_batch_seqs,
// prefill_chunk_tokens, kv_between_turns, status, reason, memory_need_bytes,
// hbm_bytes, latency_floor_s, replies, failed_replies, first_failure, then per
// objective <name>_attainment (and <name>, the run's value, for percentile
// objectives), the frontier's objective when it is not one of them, objectives_met,
// energy_per_reply_j, gpu_hours, usd, usd_per_m_output_tokens, output_tokens_per_s,
// throughput_per_gpu_tokens_per_s.
// The frontiers: the evaluated candidates that served every reply and that no other
// such candidate beats on both the latency objective and the cost (at most equal on
// both, below on one; see pareto.hpp), by latency. pareto.csv's cost is energy per
// reply; pareto_usd.csv's is dollars per million output tokens, among the candidates
// whose GPU has a price in plan.gpu_hour_usd (without prices it has its header
// only). Each gives the other cost beside its own. The top: those that also met
// every objective, by goal (energy: energy per reply; gpus: GPUs, then energy per
// reply; usd: dollars per million output tokens; throughput_per_gpu: highest
// first), ties in candidate order.
PlanTables plan_tables(const std::vector<PlanRow>& rows, const PlanSpec& plan, const std::vector<Objective>& objectives,
                       const std::string& goal);

}  // namespace convsim
