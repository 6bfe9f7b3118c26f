#pragma once
// The defaults a scenario's readers filled in, so that the resolved scenario
// (scenario.resolved.yaml) holds every value the run read, not only those written:
// re-running it gives the same outputs even if a default in the code changes later,
// and a reader sees what was assumed.
//
// Readers note each default while reading (MapReader's *_or readers do it for their
// fallback); nothing is written into the tree then, so errors keep pointing at what
// the user wrote. Once the whole scenario has been read without error, fill_into()
// writes the noted values into the tree.

#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace convsim {

class FilledDefaults {
 public:
  // `map[key]` was absent and read as `value`; `path` is its key path for reports
  // ("serving.max_batch_seqs"). `map` may be a section the scenario left out (an
  // empty map not in the tree), itself noted under its parent's key.
  void note(const YAML::Node& map, const std::string& key, const std::string& path, const YAML::Node& value);

  // Writes every noted value into its map (a key present by then is kept) and
  // returns the key paths filled, in the order noted. Call once.
  std::vector<std::string> fill_into_tree();

  // A number as YAML text that reads back to the same double ("0.7", "1e+20").
  static YAML::Node number(double value);

 private:
  struct Entry {
    YAML::Node map;
    std::string key;
    std::string path;
    YAML::Node value;
  };
  std::vector<Entry> entries_;
};

}  // namespace convsim
