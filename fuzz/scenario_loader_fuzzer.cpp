// libFuzzer target for the scenario loader, `convsim check` and a bounded `convsim
// run` (tools/fuzz builds and runs it).
//
// The input is read as a scenario file against the real catalog; its lines that start
// with "--set " are taken out and passed as overrides, as `convsim run --set` would
// pass them (parse_override, then applied to the tree by the loader). The load checks
// every compare variant too, as `convsim check` does. A ConfigError is the expected
// answer to a bad input. Anything else is a finding: another exception (reported
// here, then abort), a crash, or what ASan and UBSan report.
//
// A scenario the loader accepts is then simulated, as `convsim run` would, bounded
// (bound_for_fuzzing): arrivals in the first kHorizonMin simulated minutes, a few
// sessions or requests. SimGrid allows one simulation per process, so each runs in
// a forked child, given kChildWallLimitS of wall time. Its findings: a crash or a
// sanitizer report, an exception out of simulate() (the loader promises that nothing
// fails once time starts), non-finite summary figures, or a run still going at the
// wall-time limit (a runaway run). The child's coverage does not reach libFuzzer:
// inputs are chosen by what the loader does, the run only judges them.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <iostream>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "sim/analysis/failures.hpp"
#include "sim/engine/simulation.hpp"
#include "sim/output/writers.hpp"
#include "sim/scenario/catalog.hpp"
#include "sim/scenario/config_error.hpp"
#include "sim/scenario/loader.hpp"

namespace {

const convsim::Catalog* g_catalog = nullptr;
bool g_run = true;  // CONVSIM_FUZZ_RUN=0: the loader alone, as before

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

// The resolved scenario of an accepted one loads again, with no default left to
// fill, and resolves to itself (what scenario.resolved.yaml promises).
void check_resolved(const convsim::Scenario& scenario) {
  try {
    const convsim::Scenario again = convsim::load_scenario_text(scenario.resolved_yaml, "fuzz.yaml", {}, *g_catalog,
                                                                convsim::VariantCheck::skip);
    if (!again.filled_defaults.empty() || again.resolved_yaml != scenario.resolved_yaml) {
      report_finding("nothing", "the resolved scenario differs when loaded again:\n" + scenario.resolved_yaml +
                                    "\nthen:\n" + again.resolved_yaml);
    }
  } catch (const std::exception& e) {
    report_finding("the resolved scenario's error", std::string(e.what()) + "\n" + scenario.resolved_yaml);
  }
}

// The bounded run.
constexpr double kHorizonMin = 2;          // no arrival after this simulated minute
constexpr int kMaxSessions = 4;            // concurrent conversations
constexpr long kMaxRequests = 32;          // requests of a stream or a trace
constexpr unsigned kChildWallLimitS = 15;  // under tools/fuzz's -timeout=20; longer is a runaway

// Cuts the workload down to a few sessions or requests arriving in the first
// kHorizonMin minutes. Only ever lowers what the loader accepted.
void bound_for_fuzzing(convsim::Scenario& s) {
  if (s.conversation) {
    convsim::ConversationSpec& c = *s.conversation;
    c.duration_min = std::min(c.duration_min, kHorizonMin);
    c.sessions = std::min(c.sessions, kMaxSessions);
    c.sessions_per_hour = std::min(c.sessions_per_hour, kMaxSessions * 60.0 / kHorizonMin);
    for (double& rate : c.sessions_per_hour_by_hour) rate = std::min(rate, kMaxSessions * 60.0 / kHorizonMin);
    c.probe_minutes.erase(std::remove_if(c.probe_minutes.begin(), c.probe_minutes.end(),
                                         [&c](double m) { return m > c.duration_min; }),
                          c.probe_minutes.end());
  }
  if (s.requests) {
    convsim::RequestStreamSpec& r = *s.requests;
    r.count = std::min(r.count, kMaxRequests);
    if (r.trace) {
      r.trace->max_requests = r.trace->max_requests == 0 ? kMaxRequests : std::min(r.trace->max_requests, kMaxRequests);
    }
  }
}

bool all_finite(const nlohmann::ordered_json& j) {
  if (j.is_number_float()) return std::isfinite(j.get<double>());
  if (j.is_structured()) {
    for (const auto& item : j) {
      if (!all_finite(item)) return false;
    }
  }
  return true;
}

// In the child: simulate, then build what `convsim run` would write (its summary,
// the objectives judged), in memory. Exit 0 when all is well.
[[noreturn]] void run_child(convsim::Scenario scenario) {
  ::signal(SIGALRM, SIG_DFL);  // libFuzzer's own handler would take it for its timeout
  ::alarm(kChildWallLimitS);
  try {
    bound_for_fuzzing(scenario);
    const convsim::RunResult result = convsim::simulate(scenario);
    convsim::SortedTurns sorted = convsim::sorted_replies(result.replies);
    const convsim::JudgedObjectives judged = convsim::judge_objectives(result, scenario);
    const nlohmann::ordered_json summary = convsim::summary_json(result, sorted, scenario, judged);
    if (!all_finite(summary)) {
      std::cerr << "scenario_loader_fuzzer: finding: a non-finite number in summary.json:\n" << summary.dump(1) << '\n';
      std::_Exit(2);
    }
  } catch (const std::exception& e) {
    std::cerr << "scenario_loader_fuzzer: finding: " << typeid(e).name() << " escaped the run: " << e.what() << '\n';
    std::_Exit(2);
  }
  std::_Exit(0);
}

void run_bounded(const convsim::Scenario& scenario) {
  std::cout.flush();
  std::cerr.flush();
  const pid_t pid = ::fork();
  if (pid < 0) report_finding("nothing", "cannot fork the bounded run");
  if (pid == 0) run_child(scenario);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  std::string what;
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
    what = "a runaway: still running after " + std::to_string(kChildWallLimitS) + " s of wall time";
  } else if (WIFSIGNALED(status)) {
    what = "killed by signal " + std::to_string(WTERMSIG(status));
  } else {
    what = "exit " + std::to_string(WEXITSTATUS(status)) + " (see its report above)";
  }
  std::cerr << "scenario_loader_fuzzer: finding: the bounded run of an accepted scenario failed: " << what << '\n';
  std::abort();
}

}  // namespace

// Loads the catalog once; a broken catalog is not the fuzzer's business.
extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  try {
    static const convsim::Catalog loaded = convsim::load_catalog(convsim::default_catalog_dir());
    g_catalog = &loaded;
    const char* run = std::getenv("CONVSIM_FUZZ_RUN");
    g_run = run == nullptr || std::string(run) != "0";
  } catch (const std::exception& e) {
    std::cerr << "scenario_loader_fuzzer: cannot load the catalog: " << e.what() << '\n';
    std::exit(1);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const FuzzInput input = split_input(std::string_view(reinterpret_cast<const char*>(data), size));
  std::unique_ptr<convsim::Scenario> accepted;
  try {
    std::vector<convsim::Override> overrides;
    for (const std::string& set : input.sets) overrides.push_back(convsim::parse_override(set));
    const convsim::Scenario scenario =
        convsim::load_scenario_text(input.scenario_text, "fuzz.yaml", overrides, *g_catalog);
    accepted = std::make_unique<convsim::Scenario>(scenario);
  } catch (const convsim::ConfigError&) {
    // The expected answer to a bad scenario.
  } catch (const std::exception& e) {
    report_finding(typeid(e).name(), e.what());
  } catch (...) {
    report_finding("a non-standard exception", "");
  }
  if (accepted) check_resolved(*accepted);
  if (accepted && g_run) run_bounded(*accepted);
  return 0;
}
