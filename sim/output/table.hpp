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

// One row per variant: latency percentiles, energy, first failure.
std::string variant_table(const std::vector<std::pair<std::string, nlohmann::ordered_json>>& variants);

}  // namespace convsim
