#include "sim/scenario/yaml_reader.hpp"

#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>
#include <limits>
#include <sstream>
#include <system_error>

#include <fmt/core.h>
#include <yaml-cpp/eventhandler.h>

namespace convsim {

namespace {

// ---- Locating ----

void collect_tree(const YAML::Node& node, std::vector<YAML::Node>& out) {
  out.push_back(node);
  if (node.IsSequence()) {
    for (const auto& child : node) collect_tree(child, out);
  } else if (node.IsMap()) {
    for (const auto& entry : node) {
      out.push_back(entry.first);
      collect_tree(entry.second, out);
    }
  }
}

// ---- Numbers ----

// Null values sit, for yaml-cpp, at the next token; report them at `spot`.
double number_at(const Locator& at, const YAML::Node& value, const YAML::Node& spot,
                 const std::string& path, const Limits& limits) {
  if (!value.IsScalar()) {
    at.fail(spot, fmt::format("{}: expected a number, got {}", path, describe_node(value)));
  }
  double v = 0;
  switch (parse_double(value.Scalar(), v)) {
    case NumberParse::ok: break;
    case NumberParse::not_finite:
      at.fail(spot, fmt::format("{}: expected a finite number, got {}", path,
                                describe_node(value)));
    case NumberParse::not_a_number:
      at.fail(spot, fmt::format("{}: expected a number, got {}", path, describe_node(value)));
  }
  if (!limits.contains(v)) {
    at.fail(spot, fmt::format("{} must be {}, got {}", path, limits.describe(), value.Scalar()));
  }
  return v;
}

long long integer_at(const Locator& at, const YAML::Node& value, const YAML::Node& spot,
                     const std::string& path, const Limits& limits) {
  if (!value.IsScalar()) {
    at.fail(spot, fmt::format("{}: expected an integer, got {}", path, describe_node(value)));
  }
  const std::string& text = value.Scalar();
  const std::string_view s = without_plus(text);
  long long v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  const bool whole = !s.empty() && end == s.data() + s.size();
  if (whole && ec == std::errc::result_out_of_range) {
    at.fail(spot, fmt::format("{}: the integer {} is too large", path, text));
  }
  if (!whole || ec != std::errc()) {
    // Accept an integral value written as a real ("1e3", "8.0").
    double d = 0;
    const NumberParse parsed = parse_double(text, d);
    constexpr double kExactLimit = 9007199254740992.0;  // 2^53
    if (parsed == NumberParse::ok && d == std::floor(d) && std::fabs(d) <= kExactLimit) {
      v = static_cast<long long>(d);
    } else {
      at.fail(spot, fmt::format("{}: expected an integer, got {}", path, describe_node(value)));
    }
  }
  if (!limits.contains(static_cast<double>(v))) {
    at.fail(spot, fmt::format("{} must be {}, got {}", path, limits.describe(), text));
  }
  return v;
}

int int_at(const Locator& at, const YAML::Node& value, const YAML::Node& spot,
           const std::string& path, const Limits& limits) {
  const long long v = integer_at(at, value, spot, path, limits);
  if (v > INT_MAX || v < INT_MIN) {
    at.fail(spot, fmt::format("{}: the integer {} is too large", path, value.Scalar()));
  }
  return static_cast<int>(v);
}

bool bool_at(const Locator& at, const YAML::Node& value, const YAML::Node& spot,
             const std::string& path) {
  if (value.IsScalar()) {
    const std::string& s = value.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
  }
  at.fail(spot, fmt::format("{}: expected true or false, got {}", path, describe_node(value)));
}

std::string string_at(const Locator& at, const YAML::Node& value, const YAML::Node& spot,
                      const std::string& path) {
  if (!value.IsScalar()) {
    at.fail(spot, fmt::format("{}: expected a string, got {}", path, describe_node(value)));
  }
  if (value.Scalar().empty()) at.fail(spot, fmt::format("{} must not be empty", path));
  return value.Scalar();
}

std::string choice_at(const Locator& at, const YAML::Node& value, const YAML::Node& spot,
                      const std::string& path, const std::vector<std::string>& allowed) {
  const std::string s = string_at(at, value, spot, path);
  if (std::find(allowed.begin(), allowed.end(), s) == allowed.end()) {
    at.fail(spot, fmt::format("{}: unknown value '{}'; allowed: {}", path, s, join(allowed)));
  }
  return s;
}

std::vector<std::string> string_list_at(const Locator& at, const YAML::Node& value,
                                        const YAML::Node& spot, const std::string& path) {
  if (!value.IsSequence() || value.size() == 0) {
    at.fail(spot, fmt::format("{}: expected a non-empty list of strings, got {}", path,
                              describe_node(value)));
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; i < value.size(); ++i) {
    out.push_back(read_string(at, value[i], fmt::format("{}[{}]", path, i)));
  }
  return out;
}

}  // namespace

// ---- Locator ----

void Locator::label_tree(const YAML::Node& node, const std::string& label) {
  std::vector<YAML::Node> nodes;
  collect_tree(node, nodes);
  for (const auto& n : nodes) labels_.emplace_back(n, label);
}

bool Locator::has_label(const YAML::Node& node) const {
  if (!node.IsDefined()) return false;
  for (const auto& entry : labels_) {
    if (entry.first.is(node)) return true;
  }
  return false;
}

std::string Locator::where(const YAML::Node& node) const {
  if (!node.IsDefined()) return fallback_ ? *fallback_ : file_;
  for (const auto& [labelled, label] : labels_) {
    if (labelled.is(node)) return label;
  }
  if (fallback_) return *fallback_;
  const YAML::Mark mark = node.Mark();
  if (mark.is_null()) return file_;
  return fmt::format("{}:{}:{}", file_, mark.line + 1, mark.column + 1);
}

void Locator::fail(const YAML::Node& node, const std::string& message) const {
  throw ConfigError(fmt::format("{}: {}", where(node), message));
}

// ---- Limits ----

bool Limits::contains(double v) const {
  if (low && (low_open ? !(v > *low) : !(v >= *low))) return false;
  if (high && !(v <= *high)) return false;
  return true;
}

std::string Limits::describe() const {
  if (low && high) {
    return fmt::format("in {}{}, {}]", low_open ? "(" : "[", format_number(*low),
                       format_number(*high));
  }
  if (low) return fmt::format("{} {}", low_open ? ">" : ">=", format_number(*low));
  if (high) return fmt::format("<= {}", format_number(*high));
  return "a number";
}

// ---- Text helpers ----

std::string describe_node(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "nothing";
  if (node.IsSequence()) return node.size() == 0 ? "an empty list" : "a list";
  if (node.IsMap()) return node.size() == 0 ? "an empty map" : "a map";
  return fmt::format("'{}'", node.Scalar());
}

namespace {

constexpr std::size_t kMaxYamlNodes = 100000;
constexpr std::size_t kMaxYamlDepth = 100;

void check_walkable(const YAML::Node& node, const Locator& at, std::vector<YAML::Node>& ancestors,
                    std::size_t& visited) {
  if (++visited > kMaxYamlNodes) {
    at.fail(node, fmt::format("more than {} values once aliases are expanded", kMaxYamlNodes));
  }
  if (!node.IsMap() && !node.IsSequence()) return;
  for (const YAML::Node& ancestor : ancestors) {
    if (ancestor.is(node)) at.fail(node, "an alias inside its own anchor makes a cycle");
  }
  if (ancestors.size() >= kMaxYamlDepth) {
    at.fail(node, fmt::format("more than {} levels of nesting", kMaxYamlDepth));
  }
  ancestors.push_back(node);
  if (node.IsSequence()) {
    for (const auto& child : node) check_walkable(child, at, ancestors, visited);
  } else {
    for (const auto& entry : node) {
      check_walkable(entry.first, at, ancestors, visited);
      check_walkable(entry.second, at, ancestors, visited);
    }
  }
  ancestors.pop_back();
}

}  // namespace

void check_walkable(const YAML::Node& root, const Locator& at) {
  std::vector<YAML::Node> ancestors;
  std::size_t visited = 0;
  check_walkable(root, at, ancestors, visited);
}

namespace {

// Records where each document starts; ignores the content.
class DocumentStarts : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> marks;
  void OnDocumentStart(const YAML::Mark& mark) override { marks.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

std::string at_mark(const std::string& file, const YAML::Mark& mark) {
  return fmt::format("{}:{}:{}", file, mark.line + 1, mark.column + 1);
}

}  // namespace

YAML::Node parse_yaml(const std::string& text, const std::string& file) {
  try {
    // Count the documents with a bounded loop first: on a stray ',' at the top level
    // yaml-cpp's parser makes no progress and YAML::LoadAll never returns.
    std::istringstream in(text);
    YAML::Parser parser(in);
    DocumentStarts starts;
    while (starts.marks.size() < 2 && parser.HandleNextDocument(starts)) {
    }
    if (starts.marks.size() >= 2) {
      const YAML::Mark& first = starts.marks[0];
      const YAML::Mark& second = starts.marks[1];
      if (second.pos == first.pos && second.pos >= 0 &&
          static_cast<std::size_t>(second.pos) < text.size()) {
        throw ConfigError(fmt::format("{}: YAML syntax error: unexpected '{}'",
                                      at_mark(file, second), text[static_cast<std::size_t>(second.pos)]));
      }
      throw ConfigError(fmt::format("{}: expected one YAML document; another one starts here",
                                    at_mark(file, second)));
    }
    YAML::Node root = YAML::Load(text);
    check_walkable(root, Locator(file));
    return root;
  } catch (const YAML::Exception& e) {
    if (e.mark.is_null()) throw ConfigError(fmt::format("{}: YAML syntax error: {}", file, e.msg));
    throw ConfigError(fmt::format("{}: YAML syntax error: {}", at_mark(file, e.mark), e.msg));
  }
}

// ---- Free typed reads ----

double read_number(const Locator& at, const YAML::Node& node, const std::string& path,
                   Limits limits) {
  return number_at(at, node, node, path, limits);
}

long long read_integer(const Locator& at, const YAML::Node& node, const std::string& path,
                       Limits limits) {
  return integer_at(at, node, node, path, limits);
}

int read_int(const Locator& at, const YAML::Node& node, const std::string& path, Limits limits) {
  return int_at(at, node, node, path, limits);
}

bool read_bool(const Locator& at, const YAML::Node& node, const std::string& path) {
  return bool_at(at, node, node, path);
}

std::string read_string(const Locator& at, const YAML::Node& node, const std::string& path) {
  return string_at(at, node, node, path);
}

std::string read_choice(const Locator& at, const YAML::Node& node, const std::string& path,
                        const std::vector<std::string>& allowed) {
  return choice_at(at, node, node, path, allowed);
}

std::vector<std::string> read_string_list(const Locator& at, const YAML::Node& node,
                                          const std::string& path) {
  return string_list_at(at, node, node, path);
}

// ---- MapReader ----

MapReader::MapReader(const Locator& at, YAML::Node node, std::string path, std::string what)
    : at_(at), node_(std::move(node)), path_(std::move(path)), what_(std::move(what)) {
  if (!node_.IsMap()) {
    if (path_.empty()) {
      at_.fail(node_, fmt::format("{} must be a map of keys, got {}", what_, describe_node(node_)));
    }
    at_.fail(node_, fmt::format("{}: expected a map of keys, got {}", path_, describe_node(node_)));
  }
}

MapReader::MapReader(const Locator& at, YAML::Node node, std::string path, const YAML::Node& spot)
    : at_(at), node_(std::move(node)), path_(std::move(path)) {
  if (!node_.IsMap()) {
    at_.fail(spot, fmt::format("{}: expected a map of keys, got {}", path_, describe_node(node_)));
  }
}

MapReader MapReader::child(std::string_view key) const {
  return MapReader(at_, get(key), child_path(key), spot(key));
}

std::string MapReader::child_path(std::string_view key) const {
  return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
}

void MapReader::allow_only(const std::vector<std::string>& allowed) const {
  std::vector<std::string> seen;
  for (const auto& entry : node_) {
    const YAML::Node& key = entry.first;
    // A key added by an override has no position: report it where its value is.
    const YAML::Node& spot = key.Mark().is_null() ? entry.second : key;
    if (!key.IsScalar()) {
      at_.fail(spot, fmt::format("keys in {} must be names, got {}", path_.empty() ? what_ : path_,
                                 describe_node(key)));
    }
    const std::string& name = key.Scalar();
    const std::string where_in = path_.empty() ? what_ : path_;
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      const std::string suggestion = closest_match(name, allowed);
      if (!suggestion.empty()) {
        at_.fail(spot, fmt::format("unknown key '{}' in {}; did you mean '{}'?", name, where_in,
                                   suggestion));
      }
      at_.fail(spot, fmt::format("unknown key '{}' in {}; allowed: {}", name, where_in,
                                 join(allowed)));
    }
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
      at_.fail(spot, fmt::format("duplicate key '{}' in {}", name, where_in));
    }
    seen.push_back(name);
  }
}

std::optional<YAML::Node> MapReader::find_key(std::string_view key) const {
  for (const auto& entry : node_) {
    if (entry.first.IsScalar() && entry.first.Scalar() == key) return entry.first;
  }
  return std::nullopt;
}

std::optional<YAML::Node> MapReader::find(std::string_view key) const {
  for (const auto& entry : node_) {
    if (entry.first.IsScalar() && entry.first.Scalar() == key) return entry.second;
  }
  return std::nullopt;
}

bool MapReader::has(std::string_view key) const { return find(key).has_value(); }

YAML::Node MapReader::get(std::string_view key) const {
  if (auto value = find(key)) return *value;
  if (path_.empty()) fail(fmt::format("missing required key '{}'", key));
  fail(fmt::format("{}: missing required key '{}'", path_, key));
}

YAML::Node MapReader::spot(std::string_view key) const {
  for (const auto& entry : node_) {
    if (!entry.first.IsScalar() || entry.first.Scalar() != key) continue;
    const YAML::Node& value = entry.second;
    if (value.IsNull() && !entry.first.Mark().is_null() && !at_.has_label(value)) {
      return entry.first;
    }
    return value;
  }
  return node_;
}

double MapReader::number(std::string_view key, Limits limits) const {
  return number_at(at_, get(key), spot(key), child_path(key), limits);
}

double MapReader::number_or(std::string_view key, double fallback, Limits limits) const {
  if (has(key)) return number(key, limits);
  if (std::isfinite(fallback) && limits.contains(fallback)) note_default(key, FilledDefaults::number(fallback));
  return fallback;
}

long long MapReader::integer(std::string_view key, Limits limits) const {
  return integer_at(at_, get(key), spot(key), child_path(key), limits);
}

long long MapReader::integer_or(std::string_view key, long long fallback, Limits limits) const {
  if (has(key)) return integer(key, limits);
  if (limits.contains(static_cast<double>(fallback))) note_default(key, YAML::Node(fmt::format("{}", fallback)));
  return fallback;
}

int MapReader::int_value(std::string_view key, Limits limits) const {
  return int_at(at_, get(key), spot(key), child_path(key), limits);
}

int MapReader::int_or(std::string_view key, int fallback, Limits limits) const {
  if (has(key)) return int_value(key, limits);
  if (limits.contains(fallback)) note_default(key, YAML::Node(fmt::format("{}", fallback)));
  return fallback;
}

bool MapReader::boolean(std::string_view key) const {
  return bool_at(at_, get(key), spot(key), child_path(key));
}

bool MapReader::boolean_or(std::string_view key, bool fallback) const {
  if (has(key)) return boolean(key);
  note_default(key, YAML::Node(fallback ? "true" : "false"));
  return fallback;
}

std::string MapReader::string(std::string_view key) const {
  return string_at(at_, get(key), spot(key), child_path(key));
}

std::string MapReader::string_or(std::string_view key, const std::string& fallback) const {
  if (has(key)) return string(key);
  note_default(key, YAML::Node(fallback));
  return fallback;
}

std::string MapReader::choice(std::string_view key,
                              const std::vector<std::string>& allowed) const {
  return choice_at(at_, get(key), spot(key), child_path(key), allowed);
}

std::string MapReader::choice_or(std::string_view key, const std::string& fallback,
                                 const std::vector<std::string>& allowed) const {
  if (has(key)) return choice_at(at_, get(key), spot(key), child_path(key), allowed);
  note_default(key, YAML::Node(fallback));
  return fallback;
}

std::vector<std::string> MapReader::string_list(std::string_view key) const {
  return string_list_at(at_, get(key), spot(key), child_path(key));
}

void MapReader::note_default(std::string_view key, const YAML::Node& value) const {
  if (at_.defaults() == nullptr || has(key)) return;
  at_.defaults()->note(node_, std::string(key), child_path(key), value);
}

}  // namespace convsim
