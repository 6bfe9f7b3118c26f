#pragma once
// Reading YAML with errors that point at the spot. Used only by the catalog and
// scenario loaders (sim/scenario/); no other stage sees YAML.
//
// Every error is a ConfigError "LOCATION: message". LOCATION is normally
// "file:line:column" (1-based) taken from the node's yaml-cpp mark, but a node can
// be labelled (a `--set` override, a compare variant's value) so that its errors
// name where it really came from. Messages name the key path
// ("conversation.speakers[1].words_per_min"), the bad value and what is allowed.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "sim/scenario/config_error.hpp"
#include "sim/scenario/filled_defaults.hpp"
#include "sim/scenario/text_util.hpp"

namespace convsim {

// Says where a node came from.
class Locator {
 public:
  explicit Locator(std::string file) : file_(std::move(file)) {}

  const std::string& file() const { return file_; }

  // Errors at `node` (compared by identity) or anything below it are located at
  // `label` instead of the file position.
  void label_tree(const YAML::Node& node, const std::string& label);

  // Errors at any node without a label are located at `label` instead of its file
  // position (used to report a compare variant's problems at the variant).
  void set_fallback(std::string label) { fallback_ = std::move(label); }

  bool has_label(const YAML::Node& node) const;

  // "file:line:column", the node's label, or "file" for a node without position.
  std::string where(const YAML::Node& node) const;

  [[noreturn]] void fail(const YAML::Node& node, const std::string& message) const;

  // Where MapReader notes the defaults it fills in (nullptr: nowhere). The scenario
  // loader collects them to write the resolved scenario; the catalog does not.
  void collect_defaults(FilledDefaults* defaults) { defaults_ = defaults; }
  FilledDefaults* defaults() const { return defaults_; }

 private:
  std::string file_;
  FilledDefaults* defaults_ = nullptr;
  std::vector<std::pair<YAML::Node, std::string>> labels_;
  std::optional<std::string> fallback_;
};

// Bounds of a number; the message of a violation reads "PATH must be > 0, got X".
struct Limits {
  std::optional<double> low;
  bool low_open = false;  // low excluded
  std::optional<double> high;

  static Limits any() { return {}; }
  static Limits positive() { return {0.0, true, std::nullopt}; }    // > 0
  static Limits at_least(double v) { return {v, false, std::nullopt}; }  // >= v
  static Limits between(double lo, double hi) { return {lo, false, hi}; }  // [lo, hi]

  bool contains(double v) const;
  std::string describe() const;  // "> 0", ">= 1", "in [1, 3]", "in (0, 1]"
};

// Describes a node for "got ..." in messages: 'text', a list, an empty list, a map,
// an empty map, nothing.
std::string describe_node(const YAML::Node& node);

// Typed reads of one node. `path` names the value in messages.
double read_number(const Locator& at, const YAML::Node& node, const std::string& path,
                   Limits limits = Limits::any());
// An integer within [limits] and within [min, max] of `long long`; "4.5" and
// "four" are errors, "1e3" is 1000.
long long read_integer(const Locator& at, const YAML::Node& node, const std::string& path,
                       Limits limits = Limits::any());
int read_int(const Locator& at, const YAML::Node& node, const std::string& path,
             Limits limits = Limits::any());
bool read_bool(const Locator& at, const YAML::Node& node, const std::string& path);
std::string read_string(const Locator& at, const YAML::Node& node, const std::string& path);
// One of `allowed`; otherwise "PATH: unknown value 'x'; allowed: a, b".
std::string read_choice(const Locator& at, const YAML::Node& node, const std::string& path,
                        const std::vector<std::string>& allowed);
// A non-empty list of strings.
std::vector<std::string> read_string_list(const Locator& at, const YAML::Node& node,
                                          const std::string& path);

// A YAML map being read: finds keys, rejects unknown and duplicate ones, and
// reads typed values with messages naming "path.key".
class MapReader {
 public:
  // `path` is the map's key path ("" at the top); `what` names the top-level map in
  // messages ("the scenario", "the GPU preset"). Fails unless `node` is a map.
  MapReader(const Locator& at, YAML::Node node, std::string path, std::string what = "");

  // The map under `key` (a required key), with path "path.key".
  MapReader child(std::string_view key) const;

  const Locator& locator() const { return at_; }
  const YAML::Node& node() const { return node_; }
  const std::string& path() const { return path_; }
  std::string child_path(std::string_view key) const;

  // Fails on a key not in `allowed` ("unknown key 'x' in PATH; did you mean 'y'?"
  // or "...; allowed: a, b") and on a key given twice.
  void allow_only(const std::vector<std::string>& allowed) const;

  bool has(std::string_view key) const;
  // The value under `key`, or nullopt.
  std::optional<YAML::Node> find(std::string_view key) const;
  // The key node itself (for locating errors about the key).
  std::optional<YAML::Node> find_key(std::string_view key) const;
  // The value; fails with "PATH: missing required key 'key'" at this map.
  YAML::Node get(std::string_view key) const;
  // Where to report a problem with the value under `key`: the value, or the key
  // when the value is empty in the file (yaml-cpp places an empty value on the next
  // line); the map itself when the key is absent.
  YAML::Node spot(std::string_view key) const;

  [[noreturn]] void fail(const std::string& message) const { at_.fail(node_, message); }

  double number(std::string_view key, Limits limits = Limits::any()) const;
  double number_or(std::string_view key, double fallback, Limits limits = Limits::any()) const;
  long long integer(std::string_view key, Limits limits = Limits::any()) const;
  long long integer_or(std::string_view key, long long fallback,
                       Limits limits = Limits::any()) const;
  int int_value(std::string_view key, Limits limits = Limits::any()) const;
  int int_or(std::string_view key, int fallback, Limits limits = Limits::any()) const;
  bool boolean(std::string_view key) const;
  bool boolean_or(std::string_view key, bool fallback) const;
  std::string string(std::string_view key) const;
  std::string string_or(std::string_view key, const std::string& fallback) const;
  std::string choice(std::string_view key, const std::vector<std::string>& allowed) const;
  std::string choice_or(std::string_view key, const std::string& fallback,
                        const std::vector<std::string>& allowed) const;
  std::vector<std::string> string_list(std::string_view key) const;

  // Notes that `key`, absent from this map, was read as `value` (see FilledDefaults).
  // The *_or readers call it themselves with their fallback (when it is finite and
  // within their limits); readers that fill a default another way call it directly.
  // Does nothing when the key is present or the Locator collects no defaults.
  void note_default(std::string_view key, const YAML::Node& value) const;

 private:
  MapReader(const Locator& at, YAML::Node node, std::string path, const YAML::Node& spot);

  const Locator& at_;
  YAML::Node node_;
  std::string path_;
  std::string what_;
};

// Fails unless the tree can be walked safely: yaml-cpp turns an alias inside its own
// anchor (`&a [*a]`) into a cycle, and nested aliases can expand a few lines into
// billions of nodes. Allows at most 100,000 nodes (aliases expanded) and 100 levels.
void check_walkable(const YAML::Node& root, const Locator& at);

// Parses a single YAML document (an empty text gives a null node). Fails with
// "FILE:LINE:COLUMN: YAML syntax error: ..." or when the text holds several documents,
// and unless the tree is walkable (see check_walkable).
// yaml-cpp is never given a chance to loop or crash: use this, not YAML::LoadAll.
YAML::Node parse_yaml(const std::string& text, const std::string& file);

}  // namespace convsim
