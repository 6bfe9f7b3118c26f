#include "sim/cli/json_file.hpp"

#include <fstream>

#include <fmt/format.h>

#include "sim/scenario/config_error.hpp"

namespace convsim::cli {

using Json = nlohmann::ordered_json;
namespace fs = std::filesystem;

Json read_json_file(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(fmt::format("{}: cannot read file", path.string()));
  try {
    return Json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(fmt::format("{}: not JSON: {}", path.string(), e.what()));
  }
}

}  // namespace convsim::cli
