#pragma once
// `--set key.path=value` overrides: parsed from the command line and applied to the
// scenario's YAML tree before it is read, so they are validated like the file.
// Errors in an override's value are reported as "--set key.path=value: message".

#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "sim/scenario/yaml_reader.hpp"

namespace convsim {

// A `--set key.path=value` from the command line, e.g. "parallelism.tp=4".
struct Override {
  std::string key_path;
  std::string value;  // parsed as YAML (a scalar, or a flow sequence/map)
};

// Empty when the key path is well formed (non-empty parts), else what is wrong with it.
std::string key_path_problem(const std::string& key_path);

// Parses "key.path=value"; throws ConfigError when there is no '=' or no key.
Override parse_override(const std::string& text);

// Sets `value` at `key_path` in `root`, creating maps on the way (a list is indexed
// by number). The new value and the maps created for it are labelled `label`, so
// errors in them say so. Throws ConfigError("label: ...") on a path that cannot be set.
void apply_override(YAML::Node& root, const std::string& key_path, const YAML::Node& value, Locator& at,
                    const std::string& label);

// The file's tree with every override applied in order.
YAML::Node tree_with_overrides(const std::string& text, const std::string& source_name,
                               const std::vector<Override>& overrides, Locator& at);

}  // namespace convsim
