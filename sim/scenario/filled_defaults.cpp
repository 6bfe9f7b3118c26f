#include "sim/scenario/filled_defaults.hpp"

#include <fmt/format.h>

namespace convsim {

void FilledDefaults::note(const YAML::Node& map, const std::string& key, const std::string& path,
                          const YAML::Node& value) {
  entries_.push_back({map, key, path, value});
}

std::vector<std::string> FilledDefaults::fill_into_tree() {
  std::vector<std::string> filled;
  // In the order read. A section left out joins its parent before the defaults read
  // inside it are added: the parent then shares the section's node, so they follow.
  for (const Entry& entry : entries_) {
    YAML::Node map = entry.map;  // a handle on the same map (a copy, never an assignment)
    if (static_cast<const YAML::Node&>(map)[entry.key]) continue;
    map[entry.key] = entry.value;
    filled.push_back(entry.path);
  }
  entries_.clear();
  return filled;
}

YAML::Node FilledDefaults::number(double value) { return YAML::Node(fmt::format("{}", value)); }

}  // namespace convsim
