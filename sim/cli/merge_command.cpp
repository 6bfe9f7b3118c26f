// `convsim merge`: the shards of a compare (or run, or plan) joined into one folder,
// and the --shard i/N argument they were run with.

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <regex>
#include <set>

#include <fmt/format.h>

#include "sim/cli/commands.hpp"
#include "sim/cli/json_file.hpp"
#include "sim/scenario/config_error.hpp"

namespace fs = std::filesystem;

namespace convsim::cli {
namespace {

using Json = nlohmann::ordered_json;

// Compiled on first use, not at start-up (every command would pay for it).
const std::regex& manifest_name() {
  static const std::regex name(R"(shard-([0-9]+)-of-([0-9]+)\.json)");
  return name;
}

// The manifests in `dir`, ordered by shard count then index.
std::vector<fs::path> manifests_in(const fs::path& dir) {
  std::vector<std::pair<std::pair<long, long>, fs::path>> found;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    std::smatch m;
    if (entry.is_regular_file() && std::regex_match(name, m, manifest_name())) {
      found.push_back({{std::stol(m[2].str()), std::stol(m[1].str())}, entry.path()});
    }
  }
  std::sort(found.begin(), found.end());
  std::vector<fs::path> out;
  for (const auto& f : found) out.push_back(f.second);
  return out;
}

std::vector<std::string> string_list(const Json& manifest, const char* key, const fs::path& path) {
  if (!manifest.contains(key) || !manifest[key].is_array()) {
    throw ConfigError(fmt::format("{}: not a shard manifest (no list '{}')", path.string(), key));
  }
  return manifest[key].get<std::vector<std::string>>();
}

}  // namespace

std::string shard_problem(const std::string& text) {
  static const std::regex kShard(R"(([0-9]{1,6})/([0-9]{1,6}))");
  std::smatch m;
  if (!std::regex_match(text, m, kShard)) return fmt::format("expected i/N (e.g. 2/8), got '{}'", text);
  const long index = std::stol(m[1].str()), count = std::stol(m[2].str());
  if (count < 1 || index < 1 || index > count) {
    return fmt::format("{}: i must be in [1, N], N >= 1", text);
  }
  return "";
}

Shard parse_shard(const std::string& text) {
  if (text.empty()) return Shard{};
  const std::size_t slash = text.find('/');
  return Shard{std::stoi(text.substr(0, slash)), std::stoi(text.substr(slash + 1))};
}

void write_shard_manifest(const std::string& dir, const Scenario& scenario, const std::vector<std::string>& sets,
                          const Shard& shard, const std::vector<std::string>& ran) {
  Json names = Json::array();
  for (const Variant& v : scenario.variants) names.push_back(v.name);
  const Json manifest = {{"convsim_version", CONVSIM_VERSION},
                         {"scenario", scenario.name},
                         {"scenario_path", fs::absolute(scenario.source_path).lexically_normal().string()},
                         {"scenario_hash", scenario.source_text_hash},
                         {"sets", sets},
                         {"shard", {{"index", shard.index}, {"count", shard.count}}},
                         {"variants", names},
                         {"ran", ran}};
  write_file_atomically((fs::path(dir) / fmt::format("shard-{}-of-{}.json", shard.index, shard.count)).string(),
                        manifest.dump(2) + "\n");
}

ShardedVariants collect_shards(const std::vector<std::string>& dirs) {
  ShardedVariants out;
  Json first;
  fs::path first_path;
  std::map<std::string, fs::path> listed_in;  // variant -> the manifest that ran it
  std::map<std::string, std::string> folder_of;
  std::set<long> counts;
  std::set<fs::path> seen_dirs;
  for (const std::string& dir : dirs) {
    if (!fs::is_directory(dir)) throw ConfigError(fmt::format("{}: no such folder", dir));
    if (!seen_dirs.insert(fs::canonical(dir)).second) continue;  // the same folder given twice
    const std::vector<fs::path> manifests = manifests_in(dir);
    if (manifests.empty()) {
      throw ConfigError(fmt::format("{}: no shard manifest (shard-I-of-N.json, written by convsim compare --shard I/N)",
                                    dir));
    }
    for (const fs::path& path : manifests) {
      const Json manifest = read_json_file(path);
      const std::vector<std::string> variants = string_list(manifest, "variants", path);
      const std::vector<std::string> ran = string_list(manifest, "ran", path);
      out.manifests.push_back(path.string());
      if (first_path.empty()) {
        first = manifest;
        first_path = path;
        out.scenario = manifest.value("scenario", "");
        out.names = variants;
      } else {
        for (const char* key : {"scenario_hash", "sets", "variants"}) {
          if (manifest.value(key, Json()) != first.value(key, Json())) {
            throw ConfigError(fmt::format("{}: not from the same compare as {} (their '{}' differ)", path.string(),
                                          first_path.string(), key));
          }
        }
      }
      if (manifest.contains("shard")) counts.insert(manifest["shard"].value("count", 0L));
      for (const std::string& name : ran) {
        if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos) {
          throw ConfigError(fmt::format("{}: variant name '{}' is not a folder name", path.string(), name));
        }
        if (std::find(variants.begin(), variants.end(), name) == variants.end()) {
          throw ConfigError(fmt::format("{}: ran '{}', which is not one of its variants", path.string(), name));
        }
        const auto [it, inserted] = listed_in.emplace(name, path);
        if (!inserted) {
          throw ConfigError(fmt::format("variant '{}' appears twice: in {} and in {}", name, it->second.string(),
                                        path.string()));
        }
        folder_of[name] = (fs::path(dir) / name).string();
      }
    }
  }
  std::vector<std::string> missing;
  for (std::size_t k = 0; k < out.names.size(); ++k) {
    const std::string& name = out.names[k];
    if (listed_in.count(name)) continue;
    missing.push_back(counts.size() == 1 ? fmt::format("'{}' (shard {}/{})", name,
                                                       static_cast<long>(k) % *counts.begin() + 1, *counts.begin())
                                         : fmt::format("'{}'", name));
  }
  if (!missing.empty()) {
    throw ConfigError(fmt::format("{}: {} of {} variants missing: {} (no shard manifest there lists {})",
                                  join(dirs), missing.size(), out.names.size(), join(missing),
                                  missing.size() == 1 ? "it" : "them"));
  }
  for (const std::string& name : out.names) {
    const fs::path summary = fs::path(folder_of[name]) / "summary.json";
    if (!fs::is_regular_file(summary)) {
      throw ConfigError(fmt::format("{}: missing, though {} lists variant '{}'", summary.string(),
                                    listed_in[name].string(), name));
    }
    if (read_json_file(summary).value("complete", false) != true) {
      throw ConfigError(fmt::format("{}: variant '{}' did not finish (no \"complete\": true); run its shard again",
                                    summary.string(), name));
    }
    out.dirs.push_back(folder_of[name]);
  }
  return out;
}

int command_merge(const std::vector<std::string>& dirs, std::string out) {
  if (out.empty()) {
    if (dirs.size() != 1) {
      std::cerr << "merge: several folders given: name the merged folder with -o OUT\n";
      return kExitUsage;
    }
    out = dirs.front();
  }
  const ShardedVariants shards = collect_shards(dirs);
  fs::create_directories(out);
  std::vector<std::string> merged_dirs;
  for (std::size_t k = 0; k < shards.names.size(); ++k) {
    const fs::path target = fs::path(out) / shards.names[k];
    merged_dirs.push_back(target.string());
    if (fs::exists(target) && fs::equivalent(target, shards.dirs[k])) continue;
    fs::remove_all(target);
    fs::copy(shards.dirs[k], target, fs::copy_options::recursive);
  }
  for (const std::string& manifest : shards.manifests) {
    const fs::path target = fs::path(out) / fs::path(manifest).filename();
    if (fs::exists(target) && fs::equivalent(target, manifest)) continue;
    fs::copy_file(manifest, target, fs::copy_options::overwrite_existing);
  }
  write_comparison(out, shards.scenario, shards.names, merged_dirs);
  return 0;
}

}  // namespace convsim::cli
