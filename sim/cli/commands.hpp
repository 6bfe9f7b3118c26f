#pragma once
// The subcommands of convsim's command line, one function each. They load, run and
// write; they throw (ConfigError for bad input) and main() chooses the exit code.

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/engine/simulation.hpp"
#include "sim/output/output_folder.hpp"
#include "sim/output/atomic_file.hpp"  // write_file_atomically
#include "sim/scenario/loader.hpp"

namespace convsim::cli {

inline constexpr int kExitConfig = 1;    // bad scenario or catalog
inline constexpr int kExitUsage = 2;     // bad command line
inline constexpr int kExitRunFailed = 3; // a run that failed

std::vector<Override> parse_overrides(const std::vector<std::string>& sets);

// Prints the scenario's warnings on stderr.
void print_warnings(const Scenario& scenario);

// out/<scenario name>: where `run` writes by default.
std::string default_output_dir(const Scenario& scenario);

// out/<scenario name>-compare: where `compare` writes by default. Not the run's
// folder: compare.csv and the variants' folders would otherwise sit among a run's
// outputs, and `tools/plot` would not know which to draw.
std::string default_compare_dir(const Scenario& scenario);

// Simulates `scenario` and writes scenario.resolved.yaml, turns.csv, gpus.csv,
// timing.json (and trace.json with options.trace), then summary.json, into `dir`,
// held as an OutputFolder (locked; another scenario's outputs refused unless
// `force`), each file through an AtomicFile. Returns the summary. Throws
// OutputError when a file cannot be written.
nlohmann::ordered_json run_and_write(const Scenario& scenario, const std::string& dir, const RunOptions& options,
                                     bool force = false);

// Writes the outputs of a finished run into `folder` (trace.json with
// options.trace, turns.csv, gpus.csv, windows.csv, timing.json, then summary.json);
// returns the summary. Throws OutputError.
nlohmann::ordered_json write_run_outputs(const Scenario& scenario, const OutputFolder& folder, const RunResult& result,
                                         const RunOptions& options);

// With `shard` ("i/N"), runs that shard only (run_shard).
int command_run(const std::string& path, const std::vector<std::string>& sets, std::string dir, bool quiet,
                RunOptions options = {}, bool force = false, const std::string& shard = "");

// convsim run --shard i/N: simulates the replicas k with k % N == i - 1 and their
// sessions (sim/engine/run_shard.hpp) and writes dir/run-shard-i-of-N.json and
// .replies (run_shard_files.hpp), nothing else. Throws ConfigError, before writing
// anything, when the scenario's replicas are not independent (the reason named).
int run_shard(const Scenario& scenario, const std::vector<std::string>& sets, const std::string& dir, bool quiet,
              RunOptions options, const std::string& shard);

// Whether `dir` holds run shard manifests (run-shard-i-of-N.json).
bool holds_run_shards(const std::string& dir);

// Joins the shards of a run (their manifests in `dirs`, every shard 1..N exactly
// once, of one scenario file and one --set) into `out`: the outputs the whole run
// writes, byte for byte, except timing.json (wall time: the shards' summed).
// Throws ConfigError, before writing anything, naming what is missing, duplicated
// or inconsistent.
int command_run_merge(const std::vector<std::string>& dirs, const std::string& out);
int command_check(const std::string& path, const std::vector<std::string>& sets);
int command_catalog(const std::string& what);
// Prints the preset that the Hugging Face config.json at `path` makes.
int command_catalog_import(const std::string& path);

// A share of a compare's variants: variant k (0-based, file order) belongs to shard
// k % count + 1. The whole compare is shard 1 of 1.
struct Shard {
  int index = 1;  // 1-based
  int count = 1;
};

// "" when `text` is a valid shard "i/N" (1 <= i <= N), else what is wrong with it.
std::string shard_problem(const std::string& text);
// "" gives 1/1. REQUIRES: shard_problem(text) is "".
Shard parse_shard(const std::string& text);

// Runs the scenario's compare: variants (those of `shard` only, when given: "i/N"),
// each in its own process, `jobs` at once, into dir/<variant name>/. A shard also
// writes its manifest dir/shard-i-of-N.json (scenario path and hash, --set, every
// variant in order, those it ran). compare.csv and compare.md are written once every
// variant is present (always, for the whole compare).
// With `quiet`, prints nothing on success; otherwise, on a terminal, one line per
// variant as it ends ("compare: 3/10 variants done").
int command_compare(const std::string& path, const std::vector<std::string>& sets, std::string dir, int jobs,
                    const std::string& shard = "", bool force = false, bool quiet = false);

// Joins the folders of a sharded compare (their shard manifests) into `out`
// (default: the one folder given): copies the variant folders there and writes
// compare.csv and compare.md exactly as the whole compare would. Throws ConfigError
// when a variant is missing or appears twice, or the shards come from different
// scenarios.
int command_merge(const std::vector<std::string>& dirs, std::string out);

// The variants of a sharded compare, in the scenario's order, and where each one's
// outputs are.
struct ShardedVariants {
  std::string scenario;                // the scenario's name
  std::vector<std::string> names;      // every variant, in file order
  std::vector<std::string> dirs;       // the folder of each, beside its name
  std::vector<std::string> manifests;  // the manifest files read
};

// Writes dir/shard-i-of-N.json: the scenario (name, absolute path, hash of its
// text), the --set given, the shard, every variant in file order and those `ran`.
void write_shard_manifest(const std::string& dir, const Scenario& scenario, const std::vector<std::string>& sets,
                          const Shard& shard, const std::vector<std::string>& ran);

// Reads the shard manifests in `dirs`. Throws ConfigError naming the problem when
// there is none, when they disagree (scenario, --set, variants), when a variant
// appears in two of them or in none, or when a listed variant has no summary.json.
ShardedVariants collect_shards(const std::vector<std::string>& dirs);

// Reads summary.json of each variant (names[k] in variant_dirs[k]), writes
// dir/compare.csv and dir/compare.md, and prints the probe and variant tables.
void write_comparison(const std::string& dir, const std::string& scenario_name, const std::vector<std::string>& names,
                      const std::vector<std::string>& variant_dirs, bool quiet = false);

// Work for a child process: `work` runs in the child and throws on failure; `label`
// names it in the message printed then.
struct ChildTask {
  std::string label;
  std::function<void()> work;
};

// Runs each task in a forked child (SimGrid allows one simulation per process), at
// most `jobs` at once; `done(index, ok)` is called in this process as each ends.
// Returns the number of tasks that failed. REQUIRES: jobs >= 1.
int run_in_children(const std::vector<ChildTask>& tasks, int jobs,
                    const std::function<void(std::size_t, bool)>& done = {});

// convsim breakpoint: the value of a numeric key at which the first failure appears.
struct BreakpointRequest {
  std::string scenario_path;
  std::vector<std::string> sets;  // --set, applied before the varied key
  std::string key_path;           // the key varied, e.g. conversation.sessions
  double from = 0;                // a value expected to pass
  double to = 0;                  // a value expected to fail (below `from` to search downward)
  std::optional<double> tolerance;  // stop when |fail - pass| <= this; default |to - from| / 1000, 1 for integers
  std::string kind;               // only failures of this kind count; "" any
  int jobs = 2;                   // probes run at once (each round probes `jobs` interior points)
  std::string dir;                // default out/<scenario name>/breakpoint-<key path>
};

// Bisects (with `jobs` points per round) between `from` and `to`, one `convsim run`
// per probe in a child process, into dir/<key>=<value>/; integer keys on integers,
// skipping values the scenario rejects (parallelism.tp=3 on 8 GPUs). Prints one line
// per probe on stderr and the result on stdout, writes dir/breakpoint.json. Returns 0
// when `from` already fails or `to` does not (and says so), kExitUsage on a
// non-integral bound of an integer key.
int command_breakpoint(const BreakpointRequest& request);

// convsim plan: searches the deployments of the scenario's plan: section.
struct PlanRequest {
  std::string scenario_path;
  std::vector<std::string> sets;
  std::string dir;    // default out/<scenario name>/plan
  int jobs = 2;       // candidates simulated at once
  std::string goal;   // "" the plan's (plan.goal)
  std::string shard;  // "i/N" or ""
  bool quiet = false; // print nothing on success (a failed candidate is still reported)
};

// Builds the candidates (plan.strategy), prunes (memory, roofline floor), simulates
// the others in child processes into dir/candidates/<candidate>/ (skipping those
// already there from the same scenario text), and writes dir/plan.csv, pareto.csv
// and top.csv. A shard simulates the candidates k with k % N == i - 1 and writes
// dir/plan-shard-i-of-N.json; the tables are written once every candidate is there.
int command_plan(const PlanRequest& request);

// Whether `dir` holds plan shard manifests (plan-shard-i-of-N.json).
bool holds_plan_shards(const std::string& dir);

// Joins the folders of a sharded plan: copies the candidates' folders into `out` and
// writes the tables exactly as the unsharded plan would. Throws ConfigError when a
// candidate is missing or the shards come from different plans.
int command_plan_merge(const std::vector<std::string>& dirs, const std::string& out);

// The calibration cases, measured beside predicted. `only` is "" (all), "operators",
// "collectives" or "serving"; `jobs` serving simulations run at once; with a
// non-empty `dir`, also writes dir/validate.csv. Returns 0 however large the errors.
// cross_validate: also predict every serving row with the fold fitted without its
// model (models/catalog/fits/serving.yaml).
int command_validate(const std::string& only, int jobs, const std::string& dir, bool cross_validate = true);

// The serving rows (sim/validation/serving_rows.hpp), in-sample and, with
// cross_validate, leave-one-model-out; writes dir/serving.csv when dir is given.
// False when a simulation failed.
bool report_serving_rows(const Catalog& catalog, int jobs, bool cross_validate, const std::string& dir);

// Prints the cluster's topology: GPUs, links, bisection bandwidth, a path between two
// GPUs (to_gpu < 0: the last one).
int command_topology(const std::string& path, const std::vector<std::string>& sets, int from_gpu, int to_gpu);

// Simulates the scenario, then breaks down the first reply of `session` starting at
// or after `minute` by kernel class. Throws ConfigError when there is none.
int command_explain(const std::string& path, const std::vector<std::string>& sets, double minute, int session);

}  // namespace convsim::cli
