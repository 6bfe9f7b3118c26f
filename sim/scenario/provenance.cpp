#include "sim/scenario/provenance.hpp"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>

#include <fmt/core.h>

#include "sim/scenario/config_error.hpp"
#include "sim/scenario/text_util.hpp"

namespace convsim {
namespace {

namespace fs = std::filesystem;

constexpr const char* kOriginKey = "resolved_from";

std::string emit_block(const YAML::Node& node) {
  YAML::Emitter out;
  out << node;
  return std::string(out.c_str()) + "\n";
}

constexpr std::uint64_t kFnvOffset = 14695981039346656037ULL;

std::uint64_t fnv1a_update(std::uint64_t hash, const char* data, std::size_t size) {
  for (std::size_t k = 0; k < size; ++k) {
    hash ^= static_cast<unsigned char>(data[k]);
    hash *= 1099511628211ULL;
  }
  return hash;
}

// The data files a scenario replays: their contents are part of what it asks.
std::vector<std::string> data_files(const Scenario& scenario) {
  std::vector<std::string> files;
  if (scenario.conversation && scenario.conversation->transcript) files.push_back(scenario.conversation->transcript->path);
  if (scenario.requests && scenario.requests->trace) files.push_back(scenario.requests->trace->path);
  return files;
}

}  // namespace

std::string fnv1a_hex(const std::string& text) {
  return fmt::format("{:016x}", fnv1a_update(kFnvOffset, text.data(), text.size()));
}

std::string fnv1a_file_hex(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(fmt::format("{}: cannot open the file to hash it", path));
  std::uint64_t hash = kFnvOffset;
  char buffer[1 << 16];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    hash = fnv1a_update(hash, buffer, static_cast<std::size_t>(in.gcount()));
  }
  return fmt::format("{:016x}", hash);
}

std::string yaml_quoted(const std::string& text) {
  YAML::Emitter out;
  out << YAML::DoubleQuoted << text;
  return out.c_str();
}

Origin take_origin(YAML::Node& root, const Locator& at, const std::string& source_name, const std::string& text,
                   const std::vector<Override>& overrides) {
  Origin origin{source_name, fnv1a_hex(text), {}};
  if (root.IsMap() && root[kOriginKey]) {
    const MapReader m(at, root, "", "the scenario");
    const MapReader from = m.child(kOriginKey);
    from.allow_only({"file", "file_hash", "overrides"});
    origin.path = from.string("file");
    origin.text_hash = from.string("file_hash");
    // A run without --set records an empty list.
    const auto overrides_given = from.find("overrides");
    if (overrides_given && !(overrides_given->IsSequence() && overrides_given->size() == 0)) {
      origin.overrides = from.string_list("overrides");
    }
    root.remove(kOriginKey);
  }
  for (const Override& o : overrides) origin.overrides.push_back(fmt::format("{}={}", o.key_path, o.value));
  return origin;
}

void record_provenance(Scenario& scenario, const YAML::Node& root, const Origin& origin, const Catalog& catalog) {
  scenario.origin_path = origin.path;
  scenario.origin_text_hash = origin.text_hash;
  scenario.overrides = origin.overrides;
  YAML::Node resolved = YAML::Clone(root);
  // The scenario's keys, then the contents of each trace or transcript it replays
  // (streamed: a trace may be larger than memory). A scenario without one hashes
  // as its keys alone.
  std::string hashed = emit_block(resolved);
  for (const std::string& file : data_files(scenario)) hashed += "data file " + fnv1a_file_hex(file) + "\n";
  scenario.resolved_hash = fnv1a_hex(hashed);
  YAML::Node from(YAML::NodeType::Map);
  from["file"] = origin.path;
  from["file_hash"] = origin.text_hash;
  YAML::Node list(YAML::NodeType::Sequence);
  for (const std::string& o : origin.overrides) list.push_back(o);
  from["overrides"] = list;
  resolved[kOriginKey] = from;
  scenario.resolved_yaml = emit_block(resolved);

  std::vector<std::string> files;
  if (root["model"] && root["model"]["preset"]) files.push_back("models/" + scenario.model.spec.name + ".yaml");
  files.push_back("gpus/" + scenario.cluster.gpu.name + ".yaml");
  for (const FabricSpec* f : {&scenario.cluster.scale_up, &scenario.cluster.scale_out, &scenario.cluster.host_link}) {
    files.push_back("fabrics/" + f->name + ".yaml");
  }
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());
  scenario.catalog_files.clear();
  for (const std::string& file : files) {
    const fs::path path = fs::path(catalog.dir) / file;
    if (catalog.dir.empty() || !fs::is_regular_file(path)) continue;  // a catalog built in memory (tests)
    scenario.catalog_files.emplace_back(file, fnv1a_hex(read_text_file(path.string())));
  }
}

}  // namespace convsim
