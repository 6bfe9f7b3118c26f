// convsim's command line: parses arguments and dispatches to sim/cli/*_command*.cpp.
// Only this file prints errors and chooses exit codes.

#include <algorithm>
#include <cmath>
#include <iostream>
#include <string>
#include <vector>

#include <malloc.h>

#include <CLI/CLI.hpp>

#include "sim/cli/commands.hpp"
#include "sim/cli/signals.hpp"
#include "sim/output/revision.hpp"
#include "sim/scenario/config_error.hpp"

using namespace convsim;
using namespace convsim::cli;

namespace {

// glibc's allocator gives a block above its mmap threshold (128 KiB, then adapting)
// its own mapping and returns freed heap above 128 KiB to the kernel, so a run's
// growing vectors and per-batch buffers are faulted in page by page again and again:
// a third of the page faults of a short run (7,200 -> 4,800 for tools/bench's
// single-replica workload). Keeping freed memory for reuse costs at most what the
// run already peaked at.
void keep_freed_memory() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's largest allowed value
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

// CLI11's range checks compare, and NaN compares false with everything: a number
// option is checked finite first, so `--minute nan` is a usage error like any other.
const CLI::Validator kFinite(
    [](std::string& text) {
      double value = 0;
      if (!CLI::detail::lexical_cast(text, value)) return "expected a number, got '" + text + "'";
      if (!std::isfinite(value)) return "expected a finite number, got '" + text + "'";
      return std::string();
    },
    "FINITE");

// An output folder named by an empty string would silently fall back to the default.
const CLI::Validator kFolder(
    [](std::string& text) {
      return text.empty() ? std::string("expected a folder, got an empty name") : std::string();
    },
    "DIR");

}  // namespace

int main(int argc, char** argv) {
  keep_freed_memory();
  CLI::App app{"convsim: discrete-event simulator of long conversations served by a GPU cluster"};
  stop_on_signals();
  app.set_version_flag("--version", std::string("convsim ") + CONVSIM_VERSION + " (" + git_revision() + ")");
  app.require_subcommand(1);
  std::string scenario_path, output_dir, catalog_what;
  std::vector<std::string> sets;
  bool quiet = false;
  int jobs = 2;

  auto* run = app.add_subcommand("run", "simulate a scenario and write turns.csv, summary.json");
  run->add_option("scenario", scenario_path, "scenario file")->required();
  run->add_option("-o,--output", output_dir, "output folder (default out/<scenario name>)")->check(kFolder);
  run->add_option("--set", sets, "override a key: key.path=value (repeatable)");
  run->add_flag("-q,--quiet", quiet, "print nothing on success");
  bool force = false;
  run->add_flag("--force", force, "replace the outputs of another scenario in the output folder");
  RunOptions run_options;
  run->add_flag("--trace", run_options.trace, "also write trace.json (Chrome/Perfetto), at most 400,000 slices");
  double trace_from_min = 0, trace_to_min = 0;
  auto* trace_from = run->add_option("--trace-from-min", trace_from_min,
                                     "trace only from this minute of simulated time (implies --trace)")
                         ->check(kFinite)
                         ->check(CLI::NonNegativeNumber);
  auto* trace_to = run->add_option("--trace-to-min", trace_to_min,
                                   "trace only up to this minute of simulated time (implies --trace)")
                       ->check(kFinite)
                       ->check(CLI::NonNegativeNumber);
  std::string run_shard_text;
  run->add_option("--shard", run_shard_text,
                  "simulate only shard i of N: the replicas k (0-based) with k % N == i - 1 and their sessions; "
                  "join the shards with convsim merge")
      ->check(CLI::Validator([](std::string& text) { return shard_problem(text); }, "i/N"));
  run->add_flag("--simgrid-every-transfer", run_options.simgrid_every_transfer,
                "run every collective and send as a SimGrid activity, even where no other traffic shares the "
                "links (slower; the same times)");
  bool simgrid_every_wait = false;
  run->add_flag("--simgrid-every-wait", simgrid_every_wait,
                "wait out every iteration on a SimGrid timer, even for replicas nothing else can affect, which "
                "otherwise keep clocks of their own (slower; the same outputs)");

  auto* check = app.add_subcommand("check", "validate a scenario without running it");
  check->add_option("scenario", scenario_path, "scenario file")->required();
  check->add_option("--set", sets, "override a key: key.path=value (repeatable)");

  auto* catalog = app.add_subcommand("catalog", "list presets");
  catalog->add_option("what", catalog_what, "models, gpus, fabrics or systems")
      ->check(CLI::IsMember({"models", "gpus", "fabrics", "systems"}));
  std::string import_path;
  auto* catalog_import =
      catalog->add_subcommand("import", "print the model preset a Hugging Face config.json makes (YAML)");
  catalog_import->add_option("config", import_path, "config.json")->required();

  auto* compare = app.add_subcommand("compare", "run the scenario's compare: variants side by side");
  compare->add_option("scenario", scenario_path, "scenario file")->required();
  compare->add_option("-o,--output", output_dir, "output folder (default out/<scenario name>-compare)")->check(kFolder);
  compare->add_option("--set", sets, "override a key in every variant: key.path=value");
  compare->add_option("-j,--jobs", jobs, "variants run at once")->check(CLI::Range(1, 256));
  compare->add_flag("--force", force, "replace the outputs of another scenario in the variants' folders");
  compare->add_flag("-q,--quiet", quiet, "print nothing on success");
  std::string shard;
  compare->add_option("--shard", shard, "run only shard i of N: the variants k (0-based) with k % N == i - 1")
      ->check(CLI::Validator([](std::string& text) { return shard_problem(text); }, "i/N"));

  std::vector<std::string> merge_dirs;
  auto* merge = app.add_subcommand("merge", "join the folders of a sharded run (its outputs), compare (compare.csv, compare.md) or plan (plan.csv, pareto.csv, pareto_usd.csv, top.csv)");
  merge->add_option("dirs", merge_dirs, "folders holding shard manifests (run-shard-i-of-N.json, shard-i-of-N.json, plan-shard-i-of-N.json)")->required();
  merge->add_option("-o,--output", output_dir, "merged folder (default: the one folder given)")->check(kFolder);

  BreakpointRequest bp;
  double bp_tolerance = 0;
  auto* breakpoint = app.add_subcommand("breakpoint", "bisect a numeric key for the value where the first failure appears");
  breakpoint->add_option("scenario", bp.scenario_path, "scenario file")->required();
  breakpoint->add_option("--vary", bp.key_path, "the key varied, e.g. conversation.sessions")->required();
  breakpoint->add_option("--from", bp.from, "a value expected to pass")->required()->check(kFinite);
  breakpoint->add_option("--to", bp.to, "a value expected to fail (may be below --from)")->required()->check(kFinite);
  auto* tolerance_option = breakpoint->add_option("--tolerance", bp_tolerance,
                                                  "stop when failing and passing values are this close "
                                                  "(default |to - from| / 1000; 1 for integer keys)")
                               ->check(kFinite)
                               ->check(CLI::PositiveNumber);
  breakpoint->add_option("--kind", bp.kind, "count only failures of this kind (slo_ttft, slo_tpot, memory, ...)");
  breakpoint->add_option("-j,--jobs", bp.jobs, "probes run at once")->check(CLI::Range(1, 256));
  breakpoint->add_option("--set", bp.sets, "override a key: key.path=value (repeatable)");
  breakpoint->add_option("-o,--output", bp.dir, "output folder (default out/<scenario name>/breakpoint-<key>)")
      ->check(kFolder);

  PlanRequest plan;
  auto* plan_command = app.add_subcommand("plan", "search deployments for the scenario's workload (its plan: section)");
  plan_command->add_option("scenario", plan.scenario_path, "scenario file")->required();
  plan_command->add_option("-o,--output", plan.dir, "output folder (default out/<scenario name>/plan)")->check(kFolder);
  plan_command->add_option("--set", plan.sets, "override a key: key.path=value (repeatable)");
  plan_command->add_option("-j,--jobs", plan.jobs, "candidates simulated at once")->check(CLI::Range(1, 256));
  plan_command->add_option("--goal", plan.goal, "rank the top candidates by energy, gpus, usd or throughput_per_gpu")
      ->check(CLI::IsMember({"energy", "gpus", "usd", "throughput_per_gpu"}));
  plan_command->add_flag("-q,--quiet", plan.quiet, "print nothing on success");
  plan_command->add_option("--shard", plan.shard, "simulate only shard i of N: the candidates k with k % N == i - 1")
      ->check(CLI::Validator([](std::string& text) { return shard_problem(text); }, "i/N"));

  double explain_minute = 0;
  int explain_session = 0;
  auto* explain = app.add_subcommand("explain", "cost breakdown of one reply, by kernel class");
  explain->add_option("scenario", scenario_path, "scenario file")->required();
  explain->add_option("--minute", explain_minute, "the first reply starting at or after this minute")
      ->required()
      ->check(kFinite)
      ->check(CLI::NonNegativeNumber);
  explain->add_option("--session", explain_session, "which conversation (default 0)")->check(CLI::Range(0, 10'000'000));
  explain->add_option("--set", sets, "override a key: key.path=value (repeatable)");

  int topology_from = 0, topology_to = -1;
  auto* topology = app.add_subcommand("topology", "the cluster's GPUs, links, bisection bandwidth and a path");
  topology->add_option("scenario", scenario_path, "scenario file")->required();
  topology->add_option("--from", topology_from, "first GPU of the path (default 0)")->check(CLI::Range(0, 10'000'000));
  topology->add_option("--to", topology_to, "last GPU of the path (default the last GPU)")->check(CLI::Range(0, 10'000'000));
  topology->add_option("--set", sets, "override a key: key.path=value (repeatable)");

  std::string validate_only;
  auto* validate = app.add_subcommand("validate", "calibration cases: measured, predicted, error of each");
  validate->add_option("--only", validate_only, "one group of cases")
      ->check(CLI::IsMember({"operators", "collectives", "serving"}));
  validate->add_option("-j,--jobs", jobs, "serving simulations run at once")->check(CLI::Range(1, 256));
  validate->add_option("-o,--output", output_dir, "also write validate.csv and serving.csv into this folder")
      ->check(kFolder);
  bool validate_in_sample = false;
  validate->add_flag("--in-sample", validate_in_sample,
                     "serving: only the catalog's figures, no leave-one-model-out folds (what the fit reads)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }
  try {
    if (*run && (*trace_from || *trace_to)) {
      run_options.trace = true;
      if (*trace_from) run_options.trace_from_s = trace_from_min * 60.0;
      if (*trace_to) run_options.trace_to_s = trace_to_min * 60.0;
      if (run_options.trace_to_s <= run_options.trace_from_s) {
        std::cerr << "run: --trace-to-min must be after --trace-from-min\n";
        return kExitUsage;
      }
    }
    run_options.run_ahead = !simgrid_every_wait;
    if (*run) return command_run(scenario_path, sets, output_dir, quiet, run_options, force, run_shard_text);
    if (*check) return command_check(scenario_path, sets);
    if (*catalog_import) return command_catalog_import(import_path);
    if (*catalog) return command_catalog(catalog_what);
    if (*compare) return command_compare(scenario_path, sets, output_dir, jobs, shard, force, quiet);
    if (*plan_command) return command_plan(plan);
    if (*merge) {
      if (std::any_of(merge_dirs.begin(), merge_dirs.end(), holds_run_shards)) {
        if (output_dir.empty() && merge_dirs.size() != 1) {
          std::cerr << "merge: several folders given: name the merged folder with -o OUT\n";
          return kExitUsage;
        }
        return command_run_merge(merge_dirs, output_dir.empty() ? merge_dirs.front() : output_dir);
      }
      if (!merge_dirs.empty() && holds_plan_shards(merge_dirs.front())) {
        if (output_dir.empty() && merge_dirs.size() != 1) {
          std::cerr << "merge: several folders given: name the merged folder with -o OUT\n";
          return kExitUsage;
        }
        return command_plan_merge(merge_dirs, output_dir.empty() ? merge_dirs.front() : output_dir);
      }
      return command_merge(merge_dirs, output_dir);
    }
    if (*breakpoint) {
      if (*tolerance_option) bp.tolerance = bp_tolerance;
      return command_breakpoint(bp);
    }
    if (*validate) return command_validate(validate_only, jobs, output_dir, !validate_in_sample);
    if (*topology) return command_topology(scenario_path, sets, topology_from, topology_to);
    if (*explain) return command_explain(scenario_path, sets, explain_minute, explain_session);
  } catch (const ConfigError& e) {
    std::cerr << e.what() << '\n';
    return kExitConfig;
  } catch (const std::exception& e) {
    std::cerr << "convsim: " << e.what() << '\n';
    return kExitRunFailed;
  }
  return kExitUsage;
}
