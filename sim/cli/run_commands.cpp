// convsim run, check and compare, and the child processes that compare and breakpoint run.

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>

#include "sim/accounting/energy.hpp"
#include "sim/cli/commands.hpp"
#include "sim/cli/signals.hpp"
#include "sim/engine/iteration_cost.hpp"
#include "sim/engine/simulation.hpp"
#include "sim/output/number_text.hpp"
#include "sim/output/output_folder.hpp"
#include "sim/output/table.hpp"
#include "sim/output/writers.hpp"
#include "sim/scenario/config_error.hpp"
#include "sim/scenario/provenance.hpp"

namespace fs = std::filesystem;

namespace convsim::cli {

std::vector<Override> parse_overrides(const std::vector<std::string>& sets) {
  std::vector<Override> out;
  for (const std::string& s : sets) out.push_back(parse_override(s));
  return out;
}

void print_warnings(const Scenario& scenario) {
  for (const std::string& warning : scenario.warnings) std::cerr << warning << '\n';
}

std::string default_output_dir(const Scenario& scenario) { return (fs::path("out") / scenario.name).string(); }

std::string default_compare_dir(const Scenario& scenario) { return default_output_dir(scenario) + "-compare"; }

// Runs one simulation and writes its outputs, summary.json last. Returns the summary.
nlohmann::ordered_json run_and_write(const Scenario& scenario, const std::string& dir, const RunOptions& options,
                                     bool force) {
  const OutputFolder folder(dir, scenario.name, force);
  folder.remove_previous_outputs();
  write_file_atomically(folder.path("scenario.resolved.yaml"), scenario.resolved_yaml);
  const RunResult result = simulate(scenario, options);
  return write_run_outputs(scenario, folder, result, options);
}

nlohmann::ordered_json write_run_outputs(const Scenario& scenario, const OutputFolder& folder, const RunResult& result,
                                         const RunOptions& options) {
  if (options.trace) {
    write_trace_json(folder.path("trace.json"), result, scenario);
    if (result.trace_truncated) {
      std::cerr << fmt::format("{}: truncated at {} slices, at minute {:.1f} of {:.1f}; trace a later window with "
                               "--trace-from-min and --trace-to-min\n",
                               folder.path("trace.json"), kMaxTraceSlices, result.trace_truncated_at_s / 60.0,
                               result.end_s / 60.0);
    }
  }
  SortedTurns sorted = sorted_replies(result.replies);
  write_turns_csv(folder.path("turns.csv"), sorted, scenario);
  write_gpus_csv(folder.path("gpus.csv"), result, scenario);
  const JudgedObjectives judged = judge_objectives(result, scenario);
  if (scenario.slo.has_windows()) write_windows_csv(folder.path("windows.csv"), judged.windows);
  nlohmann::ordered_json timing = {{"wall_s", result.wall_s},
                                   {"simulated_s_per_wall_s", result.wall_s > 0 ? result.end_s / result.wall_s : 0.0},
                                   {"simgrid_activities_per_wall_s",
                                    result.wall_s > 0 ? static_cast<double>(result.activities) / result.wall_s : 0.0},
                                   {"replicas_on_own_clock", result.replicas_on_own_clock}};
  write_json(folder.path("timing.json"), timing);
  nlohmann::ordered_json summary = summary_json(result, sorted, scenario, judged);
  write_json(folder.path("summary.json"), summary);
  return summary;
}

int command_run(const std::string& path, const std::vector<std::string>& sets, std::string dir, bool quiet,
                RunOptions options, bool force, const std::string& shard) {
  const Catalog catalog = open_catalog(default_catalog_dir());
  const Scenario scenario = load_scenario(path, parse_overrides(sets), catalog, VariantCheck::skip);
  print_warnings(scenario);
  if (dir.empty()) dir = default_output_dir(scenario);
  if (!shard.empty()) return run_shard(scenario, sets, dir, quiet, options, shard);
  options.progress = !quiet && isatty(STDERR_FILENO);
  const nlohmann::ordered_json summary = run_and_write(scenario, dir, options, force);
  if (!quiet) std::cout << run_table(summary) << "\noutputs in " << dir << "/\n";
  return 0;
}

namespace {

// What a TP group's all-reduces run, by buffer size.
std::string allreduce_route_text(const AllReduceRoute& r, int tp) {
  if (!r.direct) return "NCCL's ring (the group is not inside one NVSwitch node)";
  if (!r.custom) return "NCCL's ring (the engine's allreduce: nccl)";
  if (!custom_kernels_serve(tp)) return "NCCL's ring (the engine's kernels serve TP 2, 4, 6 or 8)";
  const double one_stage = one_stage_max_bytes(tp);
  std::string text = fmt::format("the engine's kernels below {} ({}), ", binary_bytes_text(r.custom_max_bytes),
                                 one_stage >= r.custom_max_bytes
                                     ? std::string("one stage")
                                     : "one stage below " + binary_bytes_text(one_stage));
  if (r.symm_mem_max_bytes > r.custom_max_bytes) {
    const bool multimem = r.multimem && r.multicast_rate_fraction > 0;
    text += fmt::format("symmetric memory ({}) below {}, ", multimem ? "multimem" : "two-shot",
                        binary_bytes_text(r.symm_mem_max_bytes));
  }
  return text + "NCCL's ring above";
}

}  // namespace

int command_check(const std::string& path, const std::vector<std::string>& sets) {
  const Catalog catalog = open_catalog(default_catalog_dir());
  const Scenario scenario = load_scenario(path, parse_overrides(sets), catalog);
  print_warnings(scenario);
  const ParallelismSpec& p = scenario.parallelism;
  std::string layout = fmt::format("tp {} pp {} dp {}", p.tp, p.pp, p.dp);
  if (p.cp > 1) layout += fmt::format(" cp {}", p.cp);
  if (p.ep > 1) layout += fmt::format(" ep {}", p.ep);
  if (p.micro_batches > 1) layout += fmt::format(" micro_batches {}", p.micro_batches);
  if (p.disaggregated()) {
    layout += fmt::format(" + prefill {} x (tp {} pp {})", p.prefill.replicas, p.prefill.tp, p.prefill.pp);
  }
  // A model that leaves no room for a KV cache is a result a run reports (a memory
  // failure at minute 0, as compare and breakpoint sweeps need), but check says so now.
  if (const std::optional<FailureRecord> failure = load_memory_failure(scenario)) {
    std::cerr << fmt::format("{}: warning: every request of a run will fail: {}\n", path, failure->cause);
  }
  std::cout << fmt::format("{}: ok ({} on {} x {} {}, {}, {} compare variants)\n", path, scenario.model.spec.name,
                           scenario.cluster.nodes, scenario.cluster.gpus_per_node, scenario.cluster.gpu.name, layout,
                           scenario.variants.size());
  if (scenario.cluster.system.name != "none") {
    const NodeWallPower node = node_wall_power(scenario);
    std::cout << fmt::format(
        "  each node at the wall ({}): {:.2f} kW idle ({} GPUs idle at {:.0f} W), at most {:.2f} kW busy (GPUs at "
        "{:.0f} W); maximum {:.1f} kW\n",
        scenario.cluster.system.name, node.idle_w / 1e3, scenario.cluster.gpus_per_node,
        scenario.cluster.gpu.power_idle_w, node.busy_max_w / 1e3,
        scenario.cluster.gpu.power_limit_w(),
        scenario.cluster.system.power_max_w / 1e3);
  }
  if (p.tp > 1) {
    const CostModel cost(scenario);
    std::cout << fmt::format("  tensor-parallel all-reduce ({} on {}, tp {}): {}\n", scenario.serving.engine.name,
                             scenario.cluster.gpu.name, p.tp, allreduce_route_text(cost.allreduce_route(), p.tp));
  }
  return 0;
}

int run_in_children(const std::vector<ChildTask>& tasks, int jobs, const std::function<void(std::size_t, bool)>& done) {
  std::map<pid_t, std::size_t> running;  // child -> task index
  pid_t group = 0;  // the children's process group (signals.hpp), led by the first child alive
  const pid_t parent = ::getpid();
  int failed = 0;
  auto reap_one = [&]() {
    int status = 0;
    const pid_t pid = wait(&status);
    // A stop signal's thread kills and reaps the children, then ends the process
    // with 128 + the signal: a child it killed, or one it reaped first, is not a
    // failed variant, and this thread must not end the process with another code.
    if (stopping()) wait_for_stop();
    const auto it = running.find(pid);
    if (pid <= 0 || it == running.end()) throw std::runtime_error("lost track of a child process");
    const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    const std::size_t index = it->second;
    running.erase(it);
    if (running.empty()) {
      group = 0;  // the group ends with its last member
      set_children_group(0);
    }
    failed += ok ? 0 : 1;
    if (done) done(index, ok);
  };
  for (std::size_t next = 0; next < tasks.size(); ++next) {
    while (static_cast<int>(running.size()) >= jobs) reap_one();
    std::cout.flush();
    std::cerr.flush();
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error(fmt::format("cannot start a process for {}", tasks[next].label));
    if (pid == 0) {
      prepare_child(group, parent);
      try {
        tasks[next].work();
        std::_Exit(0);
      } catch (const ConfigError& e) {
        std::cerr << tasks[next].label << ": " << e.what() << '\n';
        std::_Exit(kExitConfig);
      } catch (const std::exception& e) {
        std::cerr << tasks[next].label << ": " << e.what() << '\n';
        std::_Exit(kExitRunFailed);
      }
    }
    if (group == 0) group = pid;
    ::setpgid(pid, group);  // also done by the child: whichever runs first
    set_children_group(group);
    running.emplace(pid, next);
  }
  while (!running.empty()) reap_one();
  return failed;
}

void write_comparison(const std::string& dir, const std::string& scenario_name, const std::vector<std::string>& names,
                      const std::vector<std::string>& variant_dirs, bool quiet) {
  std::vector<std::pair<std::string, nlohmann::ordered_json>> summaries;
  for (std::size_t k = 0; k < names.size(); ++k) {
    const fs::path summary_path = fs::path(variant_dirs[k]) / "summary.json";
    std::ifstream in(summary_path);
    if (!in) throw std::runtime_error(fmt::format("{}: cannot read file", summary_path.string()));
    nlohmann::ordered_json summary = nlohmann::ordered_json::parse(in);
    if (summary.value("complete", false) != true) {
      throw std::runtime_error(fmt::format("{}: an unfinished run (no \"complete\": true)", summary_path.string()));
    }
    summaries.emplace_back(names[k], std::move(summary));
  }
  const std::string markdown = variant_table(summaries);
  write_file_atomically((fs::path(dir) / "compare.csv").string(), compare_csv(summaries));
  write_file_atomically((fs::path(dir) / "compare.md").string(), markdown);
  if (quiet) return;
  std::cout << "scenario " << scenario_name << ": reply at each probe minute, per variant\n\n"
            << probe_comparison_table(summaries) << '\n'
            << markdown << "\noutputs in " << dir << "/\n";
}

// Each variant runs in a child process (SimGrid allows one simulation per process).
int command_compare(const std::string& path, const std::vector<std::string>& sets, std::string dir, int jobs,
                    const std::string& shard_text, bool force, bool quiet) {
  const Shard shard = parse_shard(shard_text);
  const bool sharded = !shard_text.empty();
  const Catalog catalog = open_catalog(default_catalog_dir());
  const std::vector<Override> base = parse_overrides(sets);
  const Scenario scenario = load_scenario(path, base, catalog);
  print_warnings(scenario);
  if (scenario.variants.empty()) {
    std::cerr << path << ": no compare: variants to run\n";
    return kExitConfig;
  }
  if (dir.empty()) dir = default_compare_dir(scenario);
  // A whole compare owns its folder as a run owns its own: a second compare, or a
  // run, into it is refused while it writes, and afterwards without --force. The
  // shards of one compare may share a folder (merged where they meet), so a shard
  // takes no lock.
  std::optional<OutputFolder> owned;
  if (!sharded) owned.emplace(dir, scenario.name + " (compare)", force);
  std::vector<ChildTask> tasks;
  std::vector<std::string> ran;
  for (std::size_t k = 0; k < scenario.variants.size(); ++k) {
    if (static_cast<int>(k % static_cast<std::size_t>(shard.count)) != shard.index - 1) continue;
    const Variant& variant = scenario.variants[k];
    ran.push_back(variant.name);
    tasks.push_back({"compare[" + variant.name + "]", [&path, &base, &catalog, &scenario, &dir, &variant, force]() {
                       std::vector<Override> overrides = base;
                       for (const auto& [key, value] : variant.sets) overrides.push_back(Override{key, value});
                       // The variant's own name, so that its resolved scenario runs again as it.
                       overrides.push_back(Override{"name", yaml_quoted(scenario.name + "/" + variant.name)});
                       const Scenario v = load_scenario(path, overrides, catalog, VariantCheck::skip);
                       run_and_write(v, (fs::path(dir) / variant.name).string(), RunOptions{}, force);
                     }});
  }
  fs::create_directories(dir);
  const bool progress = !quiet && isatty(STDERR_FILENO);
  std::size_t ended = 0;
  const int failed = run_in_children(tasks, jobs, [&](std::size_t, bool) {
    ++ended;
    if (progress) std::cerr << fmt::format("compare: {}/{} variants done\n", ended, tasks.size());
  });
  if (failed > 0) {
    std::cerr << failed << " variant(s) failed\n";
    return kExitRunFailed;
  }
  std::vector<std::string> names, variant_dirs;
  for (const Variant& variant : scenario.variants) {
    names.push_back(variant.name);
    variant_dirs.push_back((fs::path(dir) / variant.name).string());
  }
  if (!sharded) {
    write_comparison(dir, scenario.name, names, variant_dirs, quiet);
    return 0;
  }
  write_shard_manifest(dir, scenario, sets, shard, ran);
  if (!quiet) std::cout << fmt::format("shard {}/{} of {}: ran {} of {} variants into {}/\n", shard.index, shard.count,
                           scenario.name, ran.size(), names.size(), dir);
  ShardedVariants all;
  try {
    all = collect_shards({dir});
  } catch (const ConfigError& e) {
    if (!quiet) {
      std::cout << "compare.csv is written once every variant is present (or by convsim merge); not yet: "
                << e.what() << '\n';
    }
    return 0;
  }
  write_comparison(dir, all.scenario, all.names, all.dirs, quiet);
  return 0;
}

}  // namespace convsim::cli
