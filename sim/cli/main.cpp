// convsim's command line: wires the loader, the simulation and the writers.
// Library code throws; only this file prints errors and chooses exit codes:
// 0 success, 1 bad scenario or catalog, 2 bad command line, 3 a run that crashed.

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "models/architecture.hpp"
#include "sim/engine/simulation.hpp"
#include "sim/output/table.hpp"
#include "sim/output/writers.hpp"
#include "sim/scenario/config_error.hpp"
#include "sim/scenario/loader.hpp"

namespace fs = std::filesystem;
using namespace convsim;

namespace {

constexpr int kExitConfig = 1;
constexpr int kExitUsage = 2;
constexpr int kExitRunFailed = 3;

std::vector<Override> parse_overrides(const std::vector<std::string>& sets) {
  std::vector<Override> out;
  for (const std::string& s : sets) out.push_back(parse_override(s));
  return out;
}

std::string default_output_dir(const Scenario& scenario) { return (fs::path("out") / scenario.name).string(); }

// Runs one simulation and writes its outputs. Returns the summary.
nlohmann::ordered_json run_and_write(const Scenario& scenario, const std::string& dir, bool progress) {
  fs::create_directories(dir);
  const RunResult result = simulate(scenario, RunOptions{progress});
  const std::vector<ReplyRecord> sorted = sorted_replies(result.replies);
  write_turns_csv((fs::path(dir) / "turns.csv").string(), sorted, scenario);
  nlohmann::ordered_json summary = summary_json(result, sorted, scenario);
  write_json((fs::path(dir) / "summary.json").string(), summary);
  nlohmann::ordered_json timing = {{"wall_s", result.wall_s},
                                   {"simulated_s_per_wall_s", result.wall_s > 0 ? result.end_s / result.wall_s : 0.0},
                                   {"simgrid_activities_per_wall_s",
                                    result.wall_s > 0 ? static_cast<double>(result.activities) / result.wall_s : 0.0}};
  write_json((fs::path(dir) / "timing.json").string(), timing);
  return summary;
}

int command_run(const std::string& path, const std::vector<std::string>& sets, std::string dir, bool quiet) {
  const Catalog catalog = load_catalog(default_catalog_dir());
  const Scenario scenario = load_scenario(path, parse_overrides(sets), catalog);
  if (dir.empty()) dir = default_output_dir(scenario);
  const nlohmann::ordered_json summary = run_and_write(scenario, dir, !quiet && isatty(STDERR_FILENO));
  if (!quiet) std::cout << run_table(summary) << "\noutputs in " << dir << "/\n";
  return 0;
}

int command_check(const std::string& path, const std::vector<std::string>& sets) {
  const Catalog catalog = load_catalog(default_catalog_dir());
  const Scenario scenario = load_scenario(path, parse_overrides(sets), catalog);
  std::cout << fmt::format("{}: ok ({} on {} x {} {}, tp {} pp {} dp {}, {} compare variants)\n", path,
                           scenario.model.spec.name, scenario.cluster.nodes, scenario.cluster.gpus_per_node,
                           scenario.cluster.gpu.name, scenario.parallelism.tp, scenario.parallelism.pp,
                           scenario.parallelism.dp, scenario.variants.size());
  return 0;
}

int command_catalog(const std::string& what) {
  const Catalog catalog = load_catalog(default_catalog_dir());
  if (what.empty() || what == "models") {
    std::cout << fmt::format("{:<16} {:>10} {:>10} {:>10} {:>14} {:>10}\n", "model", "params", "bf16 GB", "fp8 GB",
                             "KV kB/token", "context");
    for (const auto& [name, m] : catalog.models) {
      const double params = total_params(m);
      std::cout << fmt::format("{:<16} {:>9.2f}B {:>10.1f} {:>10.1f} {:>14.1f} {:>10}\n", name, params / 1e9,
                               params * 2 / 1e9, params / 1e9, kv_bytes_per_token(m, 2.0) / 1e3,
                               m.max_context_tokens);
    }
  }
  if (what.empty() || what == "gpus") {
    std::cout << fmt::format("\n{:<10} {:>12} {:>12} {:>8} {:>10} {:>8} {:>8}\n", "gpu", "bf16 TFLOP/s",
                             "fp8 TFLOP/s", "HBM GB", "HBM TB/s", "idle W", "max W");
    for (const auto& [name, g] : catalog.gpus) {
      std::cout << fmt::format("{:<10} {:>12.0f} {:>12.0f} {:>8.0f} {:>10.2f} {:>8.0f} {:>8.0f}\n", name,
                               g.peak_for(Precision::bf16) / 1e12, g.peak_for(Precision::fp8) / 1e12,
                               g.hbm_bytes / 1e9, g.hbm_bytes_per_s / 1e12, g.power_idle_w, g.power_max_w);
    }
  }
  if (what.empty() || what == "fabrics") {
    std::cout << fmt::format("\n{:<10} {:<10} {:>10} {:>11} {:>9}\n", "fabric", "kind", "GB/s/dir", "latency us",
                             "pJ/byte");
    for (const auto& [name, f] : catalog.fabrics) {
      std::cout << fmt::format("{:<10} {:<10} {:>10.0f} {:>11.1f} {:>9.1f}\n", name,
                               f.kind == FabricKind::scale_up ? "scale-up" : "scale-out",
                               f.bandwidth_bytes_per_s / 1e9, f.latency_s * 1e6, f.energy_j_per_byte * 1e12);
    }
  }
  return 0;
}

// Each variant runs in a child process (SimGrid allows one simulation per process).
int command_compare(const std::string& path, const std::vector<std::string>& sets, std::string dir, int jobs) {
  const Catalog catalog = load_catalog(default_catalog_dir());
  const std::vector<Override> base = parse_overrides(sets);
  const Scenario scenario = load_scenario(path, base, catalog);
  if (scenario.variants.empty()) {
    std::cerr << path << ": no compare: variants to run\n";
    return kExitConfig;
  }
  if (dir.empty()) dir = default_output_dir(scenario);
  std::vector<pid_t> children;
  std::size_t next = 0;
  int failed = 0;
  auto reap_one = [&failed]() {
    int status = 0;
    if (wait(&status) > 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) ++failed;
  };
  while (next < scenario.variants.size()) {
    if (static_cast<int>(children.size()) >= jobs) {
      reap_one();
      children.pop_back();
    }
    const Variant& variant = scenario.variants[next++];
    std::cout.flush();
    const pid_t pid = fork();
    if (pid == 0) {
      std::vector<Override> overrides = base;
      for (const auto& [key, value] : variant.sets) overrides.push_back(Override{key, value});
      try {
        Scenario v = load_scenario(path, overrides, catalog);
        v.name = scenario.name + "/" + variant.name;
        run_and_write(v, (fs::path(dir) / variant.name).string(), false);
        std::_Exit(0);
      } catch (const std::exception& e) {
        std::cerr << "compare[" << variant.name << "]: " << e.what() << '\n';
        std::_Exit(kExitRunFailed);
      }
    }
    children.push_back(pid);
  }
  while (!children.empty()) {
    reap_one();
    children.pop_back();
  }
  if (failed > 0) {
    std::cerr << failed << " variant(s) failed\n";
    return kExitRunFailed;
  }
  std::vector<std::pair<std::string, nlohmann::ordered_json>> summaries;
  for (const Variant& variant : scenario.variants) {
    std::ifstream in(fs::path(dir) / variant.name / "summary.json");
    summaries.emplace_back(variant.name, nlohmann::ordered_json::parse(in));
  }
  std::ofstream csv(fs::path(dir) / "compare.csv");
  csv << "variant,ttft_p50_s,ttft_p99_s,tpot_p50_s,tpot_p99_s,energy_gpu_j,energy_total_j,first_failure\n";
  for (const auto& [name, s] : summaries) {
    const auto& e = s["energy_j"];
    csv << fmt::format("{},{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},{}\n", name, s["ttft_s"]["p50"].get<double>(),
                       s["ttft_s"]["p99"].get<double>(), s["tpot_s"]["p50"].get<double>(),
                       s["tpot_s"]["p99"].get<double>(),
                       e["gpu_active"].get<double>() + e["gpu_idle"].get<double>(), e["total"].get<double>(),
                       s["failures"].empty() ? std::string() : s["failures"][0]["kind"].get<std::string>());
  }
  const std::string markdown = variant_table(summaries);
  std::ofstream(fs::path(dir) / "compare.md") << markdown;
  std::cout << "scenario " << scenario.name << ": reply at each probe minute, per variant\n\n"
            << probe_comparison_table(summaries) << '\n'
            << markdown << "\noutputs in " << dir << "/\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"convsim: discrete-event simulator of long conversations served by a GPU cluster"};
  app.require_subcommand(1);
  std::string scenario_path, output_dir, catalog_what;
  std::vector<std::string> sets;
  bool quiet = false;
  int jobs = 2;

  auto* run = app.add_subcommand("run", "simulate a scenario and write turns.csv, summary.json");
  run->add_option("scenario", scenario_path, "scenario file")->required();
  run->add_option("-o,--output", output_dir, "output folder (default out/<scenario name>)");
  run->add_option("--set", sets, "override a key: key.path=value (repeatable)");
  run->add_flag("-q,--quiet", quiet, "print nothing on success");

  auto* check = app.add_subcommand("check", "validate a scenario without running it");
  check->add_option("scenario", scenario_path, "scenario file")->required();
  check->add_option("--set", sets, "override a key: key.path=value (repeatable)");

  auto* catalog = app.add_subcommand("catalog", "list presets");
  catalog->add_option("what", catalog_what, "models, gpus or fabrics")->check(CLI::IsMember({"models", "gpus", "fabrics"}));

  auto* compare = app.add_subcommand("compare", "run the scenario's compare: variants side by side");
  compare->add_option("scenario", scenario_path, "scenario file")->required();
  compare->add_option("-o,--output", output_dir, "output folder (default out/<scenario name>)");
  compare->add_option("--set", sets, "override a key in every variant: key.path=value");
  compare->add_option("-j,--jobs", jobs, "variants run at once")->check(CLI::Range(1, 256));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }
  try {
    if (*run) return command_run(scenario_path, sets, output_dir, quiet);
    if (*check) return command_check(scenario_path, sets);
    if (*catalog) return command_catalog(catalog_what);
    if (*compare) return command_compare(scenario_path, sets, output_dir, jobs);
  } catch (const ConfigError& e) {
    std::cerr << e.what() << '\n';
    return kExitConfig;
  } catch (const std::exception& e) {
    std::cerr << "convsim: " << e.what() << '\n';
    return kExitRunFailed;
  }
  return kExitUsage;
}
