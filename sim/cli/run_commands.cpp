// convsim run, check and compare.

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "sim/cli/commands.hpp"
#include "sim/engine/simulation.hpp"
#include "sim/output/table.hpp"
#include "sim/output/writers.hpp"

namespace fs = std::filesystem;

namespace convsim::cli {

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
  write_gpus_csv((fs::path(dir) / "gpus.csv").string(), result, scenario);
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

}  // namespace convsim::cli
