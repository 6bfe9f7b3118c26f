// libFuzzer target for the scenario loader (tools/fuzz builds and runs it).
//
// The input is read as a scenario file against the real catalog; its lines that start
// with "--set " are taken out and passed as overrides, as `convsim run --set` would
// pass them (parse_override, then applied to the tree by the loader). A ConfigError is
// the expected answer to a bad input. Anything else is a finding: another exception
// (reported here, then abort), a crash, or what ASan and UBSan report.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "sim/scenario/catalog.hpp"
#include "sim/scenario/config_error.hpp"
#include "sim/scenario/loader.hpp"

namespace {

const convsim::Catalog* g_catalog = nullptr;

constexpr std::string_view kSetPrefix = "--set ";

struct FuzzInput {
  std::string scenario_text;
  std::vector<std::string> sets;  // what follows "--set " on each such line
};

FuzzInput split_input(std::string_view bytes) {
  FuzzInput input;
  while (!bytes.empty()) {
    const std::size_t newline = bytes.find('\n');
    const std::size_t line_end = newline == std::string_view::npos ? bytes.size() : newline + 1;
    const std::string_view line = bytes.substr(0, line_end);
    bytes.remove_prefix(line_end);
    if (line.substr(0, kSetPrefix.size()) == kSetPrefix) {
      std::string_view set = line.substr(kSetPrefix.size());
      if (!set.empty() && set.back() == '\n') set.remove_suffix(1);
      input.sets.emplace_back(set);
    } else {
      input.scenario_text.append(line);
    }
  }
  return input;
}

[[noreturn]] void report_finding(const char* what, const std::string& message) {
  std::cerr << "scenario_loader_fuzzer: finding: " << what << " escaped the loader: " << message << '\n';
  std::abort();
}

}  // namespace

// Loads the catalog once; a broken catalog is not the fuzzer's business.
extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  try {
    static const convsim::Catalog loaded = convsim::load_catalog(convsim::default_catalog_dir());
    g_catalog = &loaded;
  } catch (const std::exception& e) {
    std::cerr << "scenario_loader_fuzzer: cannot load the catalog: " << e.what() << '\n';
    std::exit(1);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const FuzzInput input = split_input(std::string_view(reinterpret_cast<const char*>(data), size));
  try {
    std::vector<convsim::Override> overrides;
    for (const std::string& set : input.sets) overrides.push_back(convsim::parse_override(set));
    const convsim::Scenario scenario =
        convsim::load_scenario_text(input.scenario_text, "fuzz.yaml", overrides, *g_catalog);
    (void)scenario;
  } catch (const convsim::ConfigError&) {
    // The expected answer to a bad scenario.
  } catch (const std::exception& e) {
    report_finding(typeid(e).name(), e.what());
  } catch (...) {
    report_finding("a non-standard exception", "");
  }
  return 0;
}
