#pragma once
// What produced a scenario, kept with its outputs.
//
// The resolved scenario is the tree after every --set, written back as YAML with one
// more key, `resolved_from: {file, file_hash, overrides}`: the original file, the
// FNV-1a hash of its text and the overrides applied. Loading a resolved scenario
// reads that key back, so a run of it reports the same origin and overrides (and
// writes byte-identical outputs); overrides given then are appended.

#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "sim/scenario/catalog.hpp"
#include "sim/scenario/overrides.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/scenario/yaml_reader.hpp"

namespace convsim {

// FNV-1a (64-bit) of `text`, as 16 hex digits.
std::string fnv1a_hex(const std::string& text);

// FNV-1a (64-bit) of a file's bytes, read in pieces (a trace may be larger than
// memory). Throws ConfigError "PATH: cannot open the file to hash it".
std::string fnv1a_file_hex(const std::string& path);

// `text` as a YAML double-quoted scalar (for an override value that must stay a
// string whatever it holds).
std::string yaml_quoted(const std::string& text);

struct Origin {
  std::string path;                    // the scenario file first given
  std::string text_hash;               // FNV-1a of its text
  std::vector<std::string> overrides;  // "key.path=value", in the order applied
};

// Removes `resolved_from` from `root` (when present) and returns the origin it
// records, followed by `overrides`; without it, the origin is `source_name` itself.
// Throws ConfigError (file:line:column) on a malformed `resolved_from`.
Origin take_origin(YAML::Node& root, const Locator& at, const std::string& source_name, const std::string& text,
                   const std::vector<Override>& overrides);

// Fills the scenario's origin, overrides, resolved YAML and hash (of its keys and
// of the contents of every trace or transcript file it replays), and the catalog
// files it used (`root`: the tree after overrides, without `resolved_from`).
void record_provenance(Scenario& scenario, const YAML::Node& root, const Origin& origin, const Catalog& catalog);

}  // namespace convsim
