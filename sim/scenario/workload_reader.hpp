#pragma once
// The workload sections of a scenario: `conversation:` (speakers, turns, replies,
// probes) or `requests:` (a plain stream), with their length distributions:
// {fixed: v}, {median: m, sigma: s} (lognormal), {uniform: [a, b]} or a number.

#include <string>

#include <yaml-cpp/yaml.h>

#include "sim/scenario/scenario.hpp"
#include "sim/scenario/yaml_reader.hpp"

namespace convsim {

// Parameters are checked against `bound` (a lognormal's median must also be > 0).
Distribution read_distribution(const Locator& at, const YAML::Node& node, const YAML::Node& spot,
                               const std::string& path, const Limits& bound);

Distribution distribution_key(const MapReader& m, const std::string& key, const Limits& bound);

ConversationSpec read_conversation(const MapReader& c);

RequestStreamSpec read_requests(const MapReader& r);

}  // namespace convsim
