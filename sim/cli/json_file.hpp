#pragma once
// A JSON file of a run's output folder (summary.json, a shard's manifest) read whole,
// for the commands that join or compare runs.

#include <filesystem>

#include <nlohmann/json.hpp>

namespace convsim::cli {

// The file's JSON; fails with ConfigError "FILE: cannot read file" or "FILE: not JSON: ...".
nlohmann::ordered_json read_json_file(const std::filesystem::path& path);

}  // namespace convsim::cli
