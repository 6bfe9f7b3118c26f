#pragma once
// The pieces sim/scenario/hf_config.cpp and hf_config_readers.cpp share: the JSON
// text with its positions, a JSON object read field by field (refusing the fields
// nobody read), and the preset being built with each value labelled by where it
// came from. Private to those two files.

#include <algorithm>
#include <cmath>
#include <cctype>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "sim/scenario/config_error.hpp"
#include "sim/scenario/text_util.hpp"
#include "sim/scenario/yaml_reader.hpp"

namespace convsim::hf {

using Json = nlohmann::json;

// Fields of every supported config that do not change what convsim computes.
inline const std::set<std::string> kIgnoredEverywhere = {
    "_name_or_path", "architectures", "model_type", "torch_dtype", "dtype", "transformers_version",
    "bos_token_id", "eos_token_id", "pad_token_id", "initializer_range", "rms_norm_eps", "layer_norm_eps",
    "layer_norm_epsilon", "norm_eps", "hidden_act", "hidden_activation", "rope_theta", "rope_scaling",
    "rope_parameters", "attention_dropout", "hidden_dropout", "use_cache", "pretraining_tp", "attention_bias",
    "mlp_bias", "output_router_logits", "router_aux_loss_coef", "router_jitter_noise", "norm_topk_prob",
    "partial_rotary_factor", "auto_map", "num_logits_to_keep", "tokenizer_class", "use_return_dict"};

// Byte offsets of the JSON text turned into file:line:column.
class JsonText {
 public:
  JsonText(std::string file, std::string text) : file_(std::move(file)), text_(std::move(text)) {}

  const std::string& file() const { return file_; }
  const std::string& text() const { return text_; }

  std::string where_offset(std::size_t offset) const {
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < offset && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    return fmt::format("{}:{}:{}", file_, line, column);
  }

  // Where the key path is written (each key searched after the previous one);
  // the file alone when a key is not found.
  std::string where(const std::vector<std::string>& keys) const {
    std::size_t from = 0, at = std::string::npos;
    for (const std::string& key : keys) {
      at = find_key(key, from);
      if (at == std::string::npos) return file_;
      from = at + 1;
    }
    return at == std::string::npos ? file_ : where_offset(at);
  }

 private:
  std::size_t find_key(const std::string& key, std::size_t from) const {
    const std::string quoted = "\"" + key + "\"";
    for (std::size_t at = text_.find(quoted, from); at != std::string::npos; at = text_.find(quoted, at + 1)) {
      std::size_t next = at + quoted.size();
      while (next < text_.size() && std::isspace(static_cast<unsigned char>(text_[next]))) ++next;
      if (next < text_.size() && text_[next] == ':') return at;
    }
    return std::string::npos;
  }

  std::string file_;
  std::string text_;
};

// One JSON object being read: typed reads with located messages, and a record of
// the fields read, so that any other field can be refused by name.
class Fields {
 public:
  Fields(const JsonText& text, const Json& object, std::vector<std::string> prefix, std::string model_type)
      : text_(text), object_(object), prefix_(std::move(prefix)), model_type_(std::move(model_type)) {}

  std::string where(const std::string& key) const {
    std::vector<std::string> keys = prefix_;
    keys.push_back(key);
    return text_.where(keys);
  }
  std::string where_object() const { return prefix_.empty() ? text_.file() : text_.where(prefix_); }
  std::string name(const std::string& key) const { return prefix_.empty() ? key : join(prefix_, ".") + "." + key; }

  [[noreturn]] void fail(const std::string& key, const std::string& message) const {
    throw ConfigError(fmt::format("{}: {}", where(key), message));
  }

  bool has(const std::string& key) const { return object_.contains(key) && !object_.at(key).is_null(); }
  void ignore(const std::vector<std::string>& keys) { used_.insert(keys.begin(), keys.end()); }

  long long integer(const std::string& key, long long minimum = 1) {
    used_.insert(key);
    if (!has(key)) {
      throw ConfigError(fmt::format("{}: {}: missing field '{}' (model_type {})", where_object(),
                                    prefix_.empty() ? "config.json" : join(prefix_, "."), key, model_type_));
    }
    const Json& v = object_.at(key);
    if (v.is_number_float() && v.get<double>() == std::floor(v.get<double>())) {
      fail(key, fmt::format("{} must be an integer >= {} written without a decimal point or exponent, got {}",
                            name(key), minimum, v.dump()));
    }
    if (!v.is_number_integer() || v.get<long long>() < minimum) {
      fail(key, fmt::format("{} must be an integer >= {}, got {}", name(key), minimum, v.dump()));
    }
    return v.get<long long>();
  }
  long long integer_or(const std::string& key, long long fallback, long long minimum = 0) {
    used_.insert(key);
    return has(key) ? integer(key, minimum) : fallback;
  }
  bool boolean_or(const std::string& key, bool fallback) {
    used_.insert(key);
    if (!has(key)) return fallback;
    const Json& v = object_.at(key);
    if (!v.is_boolean()) fail(key, fmt::format("{} must be true or false, got {}", name(key), v.dump()));
    return v.get<bool>();
  }
  std::string string(const std::string& key) {
    used_.insert(key);
    if (!has(key) || !object_.at(key).is_string()) {
      fail(key, fmt::format("{} must be a string (model_type {})", name(key), model_type_));
    }
    return object_.at(key).get<std::string>();
  }
  std::vector<std::string> strings(const std::string& key) {
    used_.insert(key);
    std::vector<std::string> out;
    if (!has(key)) return out;
    const Json& v = object_.at(key);
    if (!v.is_array()) fail(key, fmt::format("{} must be a list, got {}", name(key), v.dump()));
    for (const Json& item : v) {
      if (!item.is_string()) fail(key, fmt::format("{}: expected strings, got {}", name(key), item.dump()));
      out.push_back(item.get<std::string>());
    }
    return out;
  }
  std::vector<long long> integers(const std::string& key) {
    used_.insert(key);
    std::vector<long long> out;
    if (!has(key)) return out;
    const Json& v = object_.at(key);
    if (!v.is_array()) fail(key, fmt::format("{} must be a list, got {}", name(key), v.dump()));
    for (const Json& item : v) {
      if (!item.is_number_integer()) fail(key, fmt::format("{}: expected integers, got {}", name(key), item.dump()));
      out.push_back(item.get<long long>());
    }
    return out;
  }
  const Json& object(const std::string& key) {
    used_.insert(key);
    if (!has(key) || !object_.at(key).is_object()) fail(key, fmt::format("{} must be an object", name(key)));
    return object_.at(key);
  }

  // REQUIRES: every field this model_type reads was read or ignored.
  void refuse_others() const {
    for (const auto& item : object_.items()) {
      if (used_.count(item.key()) > 0 || kIgnoredEverywhere.count(item.key()) > 0) continue;
      std::vector<std::string> known(used_.begin(), used_.end());
      fail(item.key(), fmt::format("unsupported field '{}' for model_type {}: convsim cannot tell what it changes; "
                                   "fields it reads: {}",
                                   name(item.key()), model_type_, join(known)));
    }
  }

 private:
  const JsonText& text_;
  const Json& object_;
  std::vector<std::string> prefix_;
  std::string model_type_;
  std::set<std::string> used_;
};

// The preset being built: a YAML map whose values are labelled with the place in
// config.json they came from, so that the catalog's own checks point there.
class Preset {
 public:
  explicit Preset(Locator& at) : at_(at), node_(YAML::NodeType::Map) {}

  template <typename T>
  void put(const std::string& key, const T& value, const std::string& where) {
    node_[key] = value;
    at_.label_tree(node_[key], where);
  }
  template <typename T>
  void put_in(const std::string& section, const std::string& key, const T& value, const std::string& where) {
    node_[section][key] = value;
    at_.label_tree(node_[section][key], where);
  }
  YAML::Node& node() { return node_; }

 private:
  Locator& at_;
  YAML::Node node_;
};

// The shortest prefix that repeats into `pattern` (the catalog repeats patterns).
inline std::string shortest_period(const std::string& pattern) {
  for (std::size_t p = 1; p < pattern.size(); ++p) {
    bool repeats = true;
    for (std::size_t i = p; i < pattern.size() && repeats; ++i) repeats = pattern[i] == pattern[i - p];
    if (repeats) return pattern.substr(0, p);
  }
  return pattern;
}

inline std::string basename_of(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

inline std::string lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// One reader per supported model_type: fills the preset from the config's fields.
struct Reader {
  const char* model_type;
  void (*read)(Fields&, Preset&);
};

// Every reader, in the order error messages list them (hf_config_readers.cpp).
const std::vector<Reader>& readers();

}  // namespace convsim::hf
