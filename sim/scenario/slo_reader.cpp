#include "sim/scenario/slo_reader.hpp"

#include <algorithm>
#include <regex>
#include <vector>

#include <fmt/format.h>

namespace convsim {
namespace {

const std::vector<std::string> kFixedKeys = {"ttft_s", "tpot_s", "speech_realtime", "attainment", "window_min",
                                             "window_step_min"};

// Keys offered by did-you-mean besides the fixed ones: the usual percentiles.
std::vector<std::string> suggestions() {
  std::vector<std::string> keys = kFixedKeys;
  for (const char* metric : {"ttft", "tpot", "e2e"}) {
    for (const char* p : {"p50", "p90", "p95", "p99", "p999", "p9999"}) keys.push_back(fmt::format("{}_{}_s", metric, p));
  }
  return keys;
}

constexpr const char* kPercentileForm =
    "<ttft|tpot|e2e>_p<digits>_s (p50, p90, p95, p99, p999 = 99.9th, p9999 = 99.99th percentile)";

}  // namespace

const char* metric_name(PercentileObjective::Metric metric) {
  switch (metric) {
    case PercentileObjective::Metric::ttft: return "ttft";
    case PercentileObjective::Metric::tpot: return "tpot";
    case PercentileObjective::Metric::e2e: return "e2e";
  }
  return "";
}

std::optional<ParsedPercentileKey> parse_percentile_key(const std::string& key) {
  static const std::regex kKey(R"((ttft|tpot|e2e)_p([0-9]{1,9})_s)");
  std::smatch m;
  if (!std::regex_match(key, m, kKey)) return std::nullopt;
  ParsedPercentileKey out;
  const std::string metric = m[1].str(), digits = m[2].str();
  out.metric = metric == "ttft"   ? PercentileObjective::Metric::ttft
               : metric == "tpot" ? PercentileObjective::Metric::tpot
                                  : PercentileObjective::Metric::e2e;
  // Two integer digits, the rest decimals: 99 -> 99, 999 -> 99.9, 100 -> 100.
  const std::string text = digits.size() <= 2 ? digits : digits.substr(0, 2) + "." + digits.substr(2);
  out.percentile = digits == "100" ? 100.0 : std::stod(text);
  return out;
}

SloSpec read_slo(const MapReader& s) {
  SloSpec spec;
  std::vector<std::string> seen;
  const std::vector<std::string> known = suggestions();
  for (const auto& entry : s.node()) {
    const YAML::Node& key = entry.first;
    const YAML::Node& spot = key.Mark().is_null() ? entry.second : key;
    if (!key.IsScalar()) {
      s.locator().fail(spot, fmt::format("keys in slo must be names, got {}", describe_node(key)));
    }
    const std::string& name = key.Scalar();
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
      s.locator().fail(spot, fmt::format("duplicate key '{}' in slo", name));
    }
    seen.push_back(name);
    if (std::find(kFixedKeys.begin(), kFixedKeys.end(), name) != kFixedKeys.end()) continue;
    const std::optional<ParsedPercentileKey> parsed = parse_percentile_key(name);
    if (!parsed) {
      const std::string suggestion = closest_match(name, known);
      const std::string hint = suggestion.empty() ? "" : fmt::format(" did you mean '{}'?", suggestion);
      s.locator().fail(spot, fmt::format("unknown key '{}' in slo;{} allowed: {}, or {}", name, hint,
                                         join(kFixedKeys), kPercentileForm));
    }
    if (!(parsed->percentile > 0 && parsed->percentile < 100)) {
      s.locator().fail(spot, fmt::format("slo.{}: the percentile {:g} is outside (0, 100); write {}", name,
                                         parsed->percentile, kPercentileForm));
    }
    PercentileObjective objective;
    objective.key = name;
    objective.metric = parsed->metric;
    objective.percentile = parsed->percentile;
    objective.limit_s = s.number(name, Limits::positive());
    spec.percentiles.push_back(objective);
  }
  // With percentile objectives, writing ttft_s or tpot_s adds a per-reply limit:
  // their defaults are then not filled in (FilledDefaults), as neither is attainment
  // without them.
  const bool fill_limits = spec.percentiles.empty();
  const auto number_or = [&](const char* key, double fallback, Limits limits) {
    if (fill_limits || s.has(key)) return s.number_or(key, fallback, limits);
    return fallback;
  };
  spec.ttft_s = number_or("ttft_s", spec.ttft_s, Limits::positive());
  spec.tpot_s = number_or("tpot_s", spec.tpot_s, Limits::positive());
  spec.speech_realtime = s.boolean_or("speech_realtime", spec.speech_realtime);
  // Percentile objectives replace the per-reply limits unless those are written too.
  spec.ttft_limit = spec.percentiles.empty() || s.has("ttft_s");
  spec.tpot_limit = spec.percentiles.empty() || s.has("tpot_s");
  spec.attainment = number_or("attainment", spec.attainment, Limits{0.0, true, 1.0});
  if (s.has("attainment") && !s.has("ttft_s") && !s.has("tpot_s")) {
    s.locator().fail(s.spot("attainment"),
                     "slo.attainment: the fraction of replies within slo.ttft_s and slo.tpot_s; give at least one "
                     "of them");
  }
  spec.window_s = s.number_or("window_min", 0.0, Limits::positive()) * 60.0;
  if (s.has("window_step_min")) {
    if (!s.has("window_min")) {
      s.locator().fail(s.spot("window_step_min"), "slo.window_step_min needs slo.window_min (the window's length)");
    }
    spec.window_step_s = s.number("window_step_min", Limits::positive()) * 60.0;
    if (spec.window_step_s > spec.window_s) {
      s.locator().fail(s.spot("window_step_min"),
                       fmt::format("slo.window_step_min = {:g} must be <= slo.window_min = {:g}",
                                   spec.window_step_s / 60.0, spec.window_s / 60.0));
    }
  } else {
    spec.window_step_s = spec.window_s / 4.0;
  }
  return spec;
}

}  // namespace convsim
