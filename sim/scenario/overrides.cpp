#include "sim/scenario/overrides.hpp"

#include <charconv>

#include <fmt/core.h>

#include "sim/scenario/config_error.hpp"

namespace convsim {
namespace {

std::string trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return "";
  const auto last = s.find_last_not_of(" \t");
  return std::string(s.substr(first, last - first + 1));
}

YAML::Node parse_override_value(const Override& o, const std::string& label) {
  try {
    // Loaded as a mapping's value, as the scenario file would hold it: on its own,
    // YAML reads `"4"8` as "4" and `[1]x` as [1], dropping the rest of the text.
    const YAML::Node value = YAML::Load("value: " + o.value)["value"];
    Locator at(label);
    at.set_fallback(label);
    check_walkable(value, at);
    // An empty text loads as a node without identity; give it one so it can be labelled.
    return value.IsNull() ? YAML::Node(YAML::NodeType::Null) : value;
  } catch (const YAML::Exception& e) {
    throw ConfigError(fmt::format("{}: YAML syntax error: {}", label, e.msg));
  }
}

std::string override_label(const Override& o) {
  return fmt::format("--set {}={}", o.key_path, o.value);
}

}  // namespace

std::string key_path_problem(const std::string& key_path) {
  if (key_path.empty()) return "empty key";
  for (const std::string& part : split_key_path(key_path)) {
    if (part.empty()) return fmt::format("empty key in '{}'", key_path);
  }
  return "";
}

void apply_override(YAML::Node& root, const std::string& key_path, const YAML::Node& value,
                    Locator& at, const std::string& label) {
  const auto fail = [&](const std::string& message) {
    throw ConfigError(fmt::format("{}: {}", label, message));
  };
  if (const std::string problem = key_path_problem(key_path); !problem.empty()) fail(problem);
  at.label_tree(value, label);
  if (root.IsNull()) {
    root = YAML::Node(YAML::NodeType::Map);
    at.label_tree(root, label);
  }
  const std::vector<std::string> parts = split_key_path(key_path);
  YAML::Node current = root;
  std::string walked;  // the key path of `current`
  for (std::size_t k = 0; k < parts.size(); ++k) {
    const std::string& part = parts[k];
    const bool last = k + 1 == parts.size();
    YAML::Node child;
    if (current.IsMap()) {
      const YAML::Node& map = current;
      bool found = false;
      for (const auto& entry : map) {
        if (entry.first.IsScalar() && entry.first.Scalar() == part) {
          child.reset(entry.second);
          found = true;
          break;
        }
      }
      if (last) {
        if (found) {
          child = value;  // rebinds the existing entry to the new value
        } else {
          current[part] = value;
        }
        return;
      }
      if (!found || child.IsNull()) {
        YAML::Node fresh(YAML::NodeType::Map);
        at.label_tree(fresh, label);
        if (found) {
          child = fresh;
        } else {
          current[part] = fresh;
        }
        child.reset(fresh);
      }
    } else if (current.IsSequence()) {
      std::size_t index = 0;
      const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), index);
      if (ec != std::errc() || end != part.data() + part.size() || index >= current.size()) {
        if (current.size() == 0) {
          fail(fmt::format("cannot set '{}': '{}' is an empty list", key_path, walked));
        }
        fail(fmt::format("cannot set '{}': '{}' is a list; '{}' must be an index from 0 to {}",
                         key_path, walked, part, current.size() - 1));
      }
      child.reset(current[index]);
      if (last) {
        child = value;
        return;
      }
      if (child.IsNull()) {
        YAML::Node fresh(YAML::NodeType::Map);
        at.label_tree(fresh, label);
        child = fresh;
        child.reset(fresh);
      }
    } else {
      fail(fmt::format("cannot set '{}': '{}' is not a map", key_path,
                       walked.empty() ? "the scenario" : walked));
    }
    walked = walked.empty() ? part : walked + "." + part;
    current.reset(child);
  }
}

YAML::Node tree_with_overrides(const std::string& text, const std::string& source_name,
                               const std::vector<Override>& overrides, Locator& at) {
  YAML::Node root = parse_yaml(text, source_name);
  for (const Override& o : overrides) {
    const std::string label = override_label(o);
    apply_override(root, o.key_path, parse_override_value(o, label), at, label);
  }
  return root;
}

Override parse_override(const std::string& text) {
  const auto equals = text.find('=');
  const std::string key = equals == std::string::npos ? "" : trim(text.substr(0, equals));
  if (equals == std::string::npos || key.empty()) {
    throw ConfigError(fmt::format("--set {}: expected key.path=value", text));
  }
  if (const std::string problem = key_path_problem(key); !problem.empty()) {
    throw ConfigError(fmt::format("--set {}: {}", text, problem));
  }
  return Override{key, trim(text.substr(equals + 1))};
}

}  // namespace convsim
