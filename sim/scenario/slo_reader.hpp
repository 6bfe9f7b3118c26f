#pragma once
// The `slo:` section: per-reply limits (ttft_s, tpot_s), the speech real-time
// constraint, an attainment target, percentile objectives written as
// `<ttft|tpot|e2e>_p<digits>_s` (p99 = 99th, p999 = 99.9th, p9999 = 99.99th
// percentile) and sliding windows (window_min, window_step_min).

#include <optional>
#include <string>

#include "sim/scenario/scenario.hpp"
#include "sim/scenario/yaml_reader.hpp"

namespace convsim {

// The percentile a key names ("ttft_p999_s" -> ttft, 99.9), or nullopt when the key
// is not of the form <ttft|tpot|e2e>_p<digits>_s. The digits are read as a
// percentage with two integer digits (p5 = 5, p50 = 50, p999 = 99.9); the caller
// checks the result lies in (0, 100).
struct ParsedPercentileKey {
  PercentileObjective::Metric metric = PercentileObjective::Metric::ttft;
  double percentile = 0;
};
std::optional<ParsedPercentileKey> parse_percentile_key(const std::string& key);

// The name of a metric as in keys and outputs: ttft, tpot, e2e.
const char* metric_name(PercentileObjective::Metric metric);

SloSpec read_slo(const MapReader& slo);

}  // namespace convsim
