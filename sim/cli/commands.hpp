#pragma once
// The subcommands of convsim's command line, one function each. They load, run and
// write; they throw (ConfigError for bad input) and main() chooses the exit code.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/scenario/loader.hpp"

namespace convsim::cli {

inline constexpr int kExitConfig = 1;    // bad scenario or catalog
inline constexpr int kExitUsage = 2;     // bad command line
inline constexpr int kExitRunFailed = 3; // a run that failed

std::vector<Override> parse_overrides(const std::vector<std::string>& sets);

// out/<scenario name>
std::string default_output_dir(const Scenario& scenario);

// Simulates `scenario` and writes turns.csv, summary.json and timing.json into
// `dir`. Returns the summary.
nlohmann::ordered_json run_and_write(const Scenario& scenario, const std::string& dir, bool progress);

int command_run(const std::string& path, const std::vector<std::string>& sets, std::string dir, bool quiet);
int command_check(const std::string& path, const std::vector<std::string>& sets);
int command_catalog(const std::string& what);
int command_compare(const std::string& path, const std::vector<std::string>& sets, std::string dir, int jobs);

// The calibration cases, measured beside predicted. `only` is "" (all), "operators",
// "collectives" or "serving"; `jobs` serving simulations run at once; with a
// non-empty `dir`, also writes dir/validate.csv. Returns 0 however large the errors.
int command_validate(const std::string& only, int jobs, const std::string& dir);

// Simulates the scenario, then breaks down the first reply of `session` starting at
// or after `minute` by kernel class. Throws ConfigError when there is none.
int command_explain(const std::string& path, const std::vector<std::string>& sets, double minute, int session);

}  // namespace convsim::cli
