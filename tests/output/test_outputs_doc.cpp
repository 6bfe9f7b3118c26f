// docs/outputs.md lists every column and key the writers emit, and nothing else:
// a small compare is run through the binary and its files' columns and keys are
// compared with the doc's tables.

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/support/scenario_fixture.hpp"

using Json = nlohmann::json;
namespace fs = std::filesystem;
using ::convsim::test::read_file;

namespace {

struct Documented {
  std::set<std::string> names;
  std::set<std::string> sometimes;  // rows marked "*only when*"
};

// The names in backticks of the first cell of each table row, per "## file" section.
std::map<std::string, Documented> documented_names(const std::string& doc) {
  std::map<std::string, Documented> out;
  std::istringstream in(doc);
  std::string section;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("## ", 0) == 0) section = line.substr(3);
    if (line.rfind("| `", 0) != 0) continue;
    const std::string first_cell = line.substr(1, line.find('|', 1) - 1);
    const bool sometimes = line.find("*only when*") != std::string::npos;
    for (std::size_t open = first_cell.find('`'); open != std::string::npos;) {
      const std::size_t close = first_cell.find('`', open + 1);
      const std::string name = first_cell.substr(open + 1, close - open - 1);
      out[section].names.insert(name);
      if (sometimes) out[section].sometimes.insert(name);
      open = first_cell.find('`', close + 1);
    }
  }
  return out;
}

std::set<std::string> csv_header(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  std::set<std::string> out;
  std::istringstream fields(line);
  for (std::string field; std::getline(fields, field, ',');) out.insert(field);
  return out;
}

// Key paths of a JSON document: objects joined by '.', list elements as "[]".
void key_paths(const Json& j, const std::string& prefix, std::set<std::string>& out) {
  if (j.is_object()) {
    for (const auto& [key, value] : j.items()) {
      const std::string path = prefix.empty() ? key : prefix + "." + key;
      if (value.is_object() || (value.is_array() && !value.empty() && value[0].is_object())) {
        key_paths(value, path, out);
      } else if (value.is_array() && value.empty() && prefix.empty() && key != "overrides") {
        out.insert(path + "[]");  // an empty list of objects: its element keys are unknown here
      } else {
        out.insert(path);
      }
    }
  } else if (j.is_array()) {
    for (const Json& element : j) key_paths(element, prefix + "[]", out);
  }
}

void check_same(const std::string& file, const std::set<std::string>& emitted, const Documented& doc) {
  INFO(file);
  for (const std::string& name : emitted) {
    if (name.size() > 2 && name.substr(name.size() - 2) == "[]") continue;  // an empty list
    INFO("emitted, not in docs/outputs.md: " << name);
    CHECK(doc.names.count(name) == 1);
  }
  for (const std::string& name : doc.names) {
    if (doc.sometimes.count(name)) continue;
    INFO("in docs/outputs.md, not emitted: " << name);
    CHECK(emitted.count(name) == 1);
  }
}

}  // namespace

TEST_CASE("docs/outputs.md documents every column and key the writers emit, and only those") {
  const fs::path dir = fs::temp_directory_path() / fmt::format("convsim-outputs-doc-{}", ::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string text = ::convsim::test::kSmallConversation;
  text.replace(text.find("duration_min: 20"), 16, "duration_min: 3");
  text.replace(text.find("probe_minutes: [1, 10]"), 22, "probe_minutes: [1, 2]");
  // Two variants: the baseline, and one whose 1 ms objective every reply misses
  // (so that failures[] has elements).
  text += "compare:\n  - {name: base}\n  - {name: strict, set: {slo.ttft_s: 0.001}}\n";
  std::ofstream(dir / "s.yaml") << text;
  const std::string command = fmt::format("{} compare '{}' -o '{}' > '{}' 2>&1", CONVSIM_BINARY,
                                          (dir / "s.yaml").string(), (dir / "out").string(), (dir / "log").string());
  const int status = std::system(command.c_str());
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);

  const std::map<std::string, Documented> doc = documented_names(read_file(::convsim::test::source_path("docs/outputs.md")));
  for (const char* file : {"turns.csv", "gpus.csv", "summary.json", "timing.json", "compare.csv"}) {
    REQUIRE(doc.count(file) == 1);
  }
  check_same("turns.csv", csv_header(dir / "out" / "base" / "turns.csv"), doc.at("turns.csv"));
  check_same("gpus.csv", csv_header(dir / "out" / "base" / "gpus.csv"), doc.at("gpus.csv"));
  check_same("compare.csv", csv_header(dir / "out" / "compare.csv"), doc.at("compare.csv"));
  std::set<std::string> summary_keys, timing_keys;
  for (const char* variant : {"base", "strict"}) {
    key_paths(Json::parse(read_file(dir / "out" / variant / "summary.json")), "", summary_keys);
    key_paths(Json::parse(read_file(dir / "out" / variant / "timing.json")), "", timing_keys);
  }
  CHECK(summary_keys.count("failures[].kind") == 1);  // the strict variant filled the list
  check_same("summary.json", summary_keys, doc.at("summary.json"));
  check_same("timing.json", timing_keys, doc.at("timing.json"));
  fs::remove_all(dir);
}
