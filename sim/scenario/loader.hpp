#pragma once
// Reads a scenario file, applies --set overrides, validates everything and
// returns the typed Scenario. Nothing after this can fail on configuration.

#include <string>
#include <vector>

#include "sim/scenario/catalog.hpp"
#include "sim/scenario/scenario.hpp"

namespace convsim {

// A `--set key.path=value` from the command line, e.g. "parallelism.tp=4".
struct Override {
  std::string key_path;
  std::string value;  // parsed as YAML (a scalar, or a flow sequence/map)
};

// REQUIRES: nothing. Throws ConfigError with "file:line:column: message" for any
// problem in the file, and "--set key.path=value: message" for a bad override.
// Unknown keys get a did-you-mean; bad values name the allowed ones; cross-field
// rules name both fields.
Scenario load_scenario(const std::string& path, const std::vector<Override>& overrides,
                       const Catalog& catalog);

// Same, from text already in memory (`source_name` is used in messages).
Scenario load_scenario_text(const std::string& text, const std::string& source_name,
                            const std::vector<Override>& overrides, const Catalog& catalog);

// Parses "key.path=value"; throws ConfigError when there is no '=' or no key.
Override parse_override(const std::string& text);

}  // namespace convsim
