// convsim run --shard i/N, and convsim merge of run shards: one run's replicas
// simulated in several processes (or machines) and joined into the outputs the
// whole run writes, byte for byte (see sim/engine/run_shard.hpp for when a scenario
// splits, sim/cli/run_shard_files.hpp for what a shard writes).

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <set>

#include <fmt/format.h>

#include "sim/cli/commands.hpp"
#include "sim/cli/run_shard_files.hpp"
#include "sim/output/output_folder.hpp"
#include "sim/scenario/config_error.hpp"

namespace fs = std::filesystem;

namespace convsim::cli {
namespace {

using Json = nlohmann::ordered_json;

// Compiled on first use: a namespace-scope regex would be compiled at every start-up.
const std::regex& run_manifest_name() {
  static const std::regex name(R"(run-shard-([0-9]+)-of-([0-9]+)\.json)");
  return name;
}

std::vector<fs::path> run_manifests_in(const fs::path& dir) {
  std::vector<fs::path> found;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && std::regex_match(name, run_manifest_name())) found.push_back(entry.path());
  }
  std::sort(found.begin(), found.end());
  return found;
}

Json read_manifest(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(fmt::format("{}: cannot read file", path.string()));
  try {
    Json j = Json::parse(in);
    if (!j.contains("convsim_run_shard")) throw ConfigError(fmt::format("{}: not a run shard manifest", path.string()));
    return j;
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(fmt::format("{}: not JSON: {}", path.string(), e.what()));
  }
}

}  // namespace

int run_shard(const Scenario& scenario, const std::vector<std::string>& sets, const std::string& dir, bool quiet,
              RunOptions options, const std::string& shard_text) {
  const Shard parsed = parse_shard(shard_text);
  options.shard = RunShard{parsed.index, parsed.count};
  options.progress = false;
  // Refused (ConfigError) before anything is written; simulate() refuses again, and
  // after the run when a shard turned out to depend on the others.
  if (const std::string refusal = shard_refusal(scenario, options.trace, options.simgrid_every_transfer);
      !refusal.empty()) {
    throw ConfigError(fmt::format("{}: cannot run in shards: {}", scenario.name, refusal));
  }
  const RunResult result = simulate(scenario, options);
  fs::create_directories(dir);
  write_run_shard(dir, scenario, sets, options.shard, result);
  if (!quiet) {
    const int replicas = static_cast<int>(result.replica_gpus.size());
    int ran = 0;
    for (int k = 0; k < replicas; ++k) ran += options.shard.owns(k) ? 1 : 0;
    std::cout << fmt::format("shard {}/{} of {}: {} of {} replicas, {} records into {}/{}\n", parsed.index,
                             parsed.count, scenario.name, ran, replicas, result.replies.size(), dir,
                             run_shard_manifest_name(options.shard));
  }
  return 0;
}

bool holds_run_shards(const std::string& dir) { return fs::is_directory(dir) && !run_manifests_in(dir).empty(); }

int command_run_merge(const std::vector<std::string>& dirs, const std::string& out) {
  // Read and check every manifest before writing anything.
  std::map<int, std::pair<fs::path, Json>> by_index;
  std::set<fs::path> seen_dirs;
  const Json* first = nullptr;
  fs::path first_path;
  long count = 0;
  for (const std::string& dir : dirs) {
    if (!fs::is_directory(dir)) throw ConfigError(fmt::format("{}: no such folder", dir));
    if (!seen_dirs.insert(fs::canonical(dir)).second) continue;  // the same folder given twice
    const std::vector<fs::path> manifests = run_manifests_in(dir);
    if (manifests.empty()) {
      throw ConfigError(fmt::format(
          "{}: no run shard manifest (run-shard-I-of-N.json, written by convsim run --shard I/N)", dir));
    }
    for (const fs::path& path : manifests) {
      Json manifest = read_manifest(path);
      const int index = manifest.at("shard").value("index", 0);
      const long n = manifest.at("shard").value("count", 0L);
      if (first == nullptr) {
        count = n;
      } else {
        for (const char* key : {"scenario_hash", "sets", "resolved_hash", "git_revision", "catalog_files"}) {
          if (manifest.value(key, Json()) != first->value(key, Json())) {
            throw ConfigError(fmt::format("{}: not from the same run as {} (their '{}' differ: {} and {})",
                                          path.string(), first_path.string(), key, manifest.value(key, Json()).dump(),
                                          first->value(key, Json()).dump()));
          }
        }
        if (n != count) {
          throw ConfigError(fmt::format("{}: shard {} of {}, but {} is of {}: shards of different splits",
                                        path.string(), index, n, first_path.string(), count));
        }
      }
      if (index < 1 || index > n) throw ConfigError(fmt::format("{}: shard index {} not in 1..{}", path.string(), index, n));
      const auto [it, inserted] = by_index.emplace(index, std::make_pair(path, manifest));
      if (!inserted) {
        throw ConfigError(fmt::format("shard {}/{} appears twice: in {} and in {}", index, n,
                                      it->second.first.string(), path.string()));
      }
      if (first == nullptr) {
        first = &it->second.second;
        first_path = path;
      }
    }
  }
  std::vector<std::string> missing;
  for (int i = 1; i <= count; ++i) {
    if (!by_index.count(i)) missing.push_back(fmt::format("{}/{}", i, count));
  }
  if (!missing.empty()) {
    throw ConfigError(fmt::format("{}: {} of {} shards missing: {} (run them with convsim run --shard I/{})",
                                  join(dirs), missing.size(), count, join(missing), count));
  }
  // The scenario as the shards ran it: the same file (its hash) with the same --set,
  // loaded by the path they were given from the folder they ran in, so that the
  // path recorded in summary.json and scenario.resolved.yaml is theirs.
  const std::string path = first->at("scenario_path").get<std::string>();
  const std::string given = first->value("scenario_path_given", path);
  const fs::path ran_in = first->value("cwd", std::string("/"));
  const std::vector<std::string> sets = first->at("sets").get<std::vector<std::string>>();
  if (!fs::is_regular_file(path)) {
    throw ConfigError(fmt::format("{}: the scenario file the shards ran ({}) is not there", first_path.string(), path));
  }
  if (!fs::is_directory(ran_in) || !fs::equivalent(ran_in / given, path)) {
    throw ConfigError(fmt::format("{}: the shards ran {} from {}, which is not there (merge where they ran)",
                                  first_path.string(), given, ran_in.string()));
  }
  const Catalog catalog = open_catalog(default_catalog_dir());
  const fs::path here = fs::current_path();
  const std::string out_dir = fs::absolute(out).string();
  fs::current_path(ran_in);
  Scenario loaded;
  try {
    loaded = load_scenario(given, parse_overrides(sets), catalog, VariantCheck::skip);
  } catch (...) {
    fs::current_path(here);
    throw;
  }
  fs::current_path(here);
  const Scenario& scenario = loaded;
  if (scenario.source_text_hash != first->at("scenario_hash").get<std::string>() ||
      scenario.resolved_hash != first->at("resolved_hash").get<std::string>()) {
    throw ConfigError(fmt::format("{}: changed since the shards ran (its hash differs from {})", path,
                                  first_path.string()));
  }
  // The catalog presets as they are now, against those the shards ran with.
  const Json ran_with = first->value("catalog_files", Json::array());
  for (const auto& [file, hash] : scenario.catalog_files) {
    std::string then;
    for (const Json& f : ran_with) {
      if (f.value("file", "") == file) then = f.value("hash", "");
    }
    if (then != hash) {
      throw ConfigError(fmt::format("{}: the catalog preset {} {} since the shards ran (hash {} then, {} now): run "
                                    "the shards again",
                                    first_path.string(), file, then.empty() ? "was not used" : "changed",
                                    then.empty() ? "none" : then, hash));
    }
  }
  if (ran_with.size() != scenario.catalog_files.size()) {
    throw ConfigError(fmt::format("{}: the shards read {} catalog presets, the scenario now reads {}: run the shards "
                                  "again",
                                  first_path.string(), ran_with.size(), scenario.catalog_files.size()));
  }
  RunResult merged = empty_run_result(scenario);
  std::vector<char> replicas_seen(merged.replica_gpus.size(), 0);
  for (const auto& [index, shard] : by_index) add_run_shard(shard.second, shard.first.string(), merged, replicas_seen);
  finish_run(merged);

  const OutputFolder folder(out_dir, scenario.name, false);
  folder.remove_previous_outputs();
  write_file_atomically(folder.path("scenario.resolved.yaml"), scenario.resolved_yaml);
  write_run_outputs(scenario, folder, merged, RunOptions{});
  std::cout << fmt::format("merged {} shards of {}: {} records into {}/\n", count, scenario.name,
                           merged.replies.size(), out);
  return 0;
}

}  // namespace convsim::cli
