#pragma once
// The short tables convsim prints, formatted from summary.json objects so that a
// comparison can print the summaries its child processes wrote.

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace convsim {

// Headline figures, the probe rows and the failure points of one run.
std::string run_table(const nlohmann::ordered_json& summary);

// Probe rows of several variants: one small table per metric (context, TTFT, end to
// end, energy), a row per variant and a column per probe minute, then the
// human-brain reference of the first variant.
std::string probe_comparison_table(const std::vector<std::pair<std::string, nlohmann::ordered_json>>& variants);

// One row per variant, in Markdown: latency percentiles, energy per reply, GPU and
// total energy, GPU-hours, the first failure (kind, minute) and its cause.
std::string variant_table(const std::vector<std::pair<std::string, nlohmann::ordered_json>>& variants);

// compare.csv: a header, then one row per variant in the order given: variant,
// ttft_p50_s, ttft_p99_s, tpot_p50_s, tpot_p99_s, energy_gpu_j, energy_total_j,
// first_failure (its kind, or empty), energy_per_reply_j (all energy of the run,
// idle and facility included, per reply served; empty without replies),
// energy_total_wh, gpu_hours (GPUs used times the simulated span),
// first_failure_kind, first_failure_minute, first_failure_cause (empty without a
// failure), gco2e and cost_usd (the run's, from summary.json).
// then <objective>_attainment for every objective of any variant (the
// fraction of the run's replies within its limit; empty where the variant has no such
// objective) and objectives_met (1 when every objective of the variant is met, over
// the run and in every window; else 0). Fields holding a comma or a quote are quoted
// (RFC 4180).
std::string compare_csv(const std::vector<std::pair<std::string, nlohmann::ordered_json>>& variants);

}  // namespace convsim
