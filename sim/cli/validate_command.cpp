// convsim validate: the calibration cases of sim/validation/calibration.hpp, measured
// beside predicted with the error of each, so that a user sees how far to trust a
// figure. It reports and exits 0 however large the errors; the tests assert.

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "sim/cli/commands.hpp"
#include "sim/validation/calibration.hpp"

namespace fs = std::filesystem;

namespace convsim::cli {
namespace {

// One line of validate.csv.
struct CsvLine {
  std::string group, case_name, metric;
  double measured = 0, predicted = 0;
};

std::string percent(double fraction) { return fmt::format("{:+.1f}%", 100 * fraction); }
std::string abs_percent(double fraction) { return fmt::format("{:.1f}%", 100 * fraction); }

std::string trim_right(std::string s) {
  s.erase(s.find_last_not_of(' ') + 1);
  return s;
}

std::string format_bytes(double bytes) {
  constexpr double kKiB = 1024, kMiB = 1024 * 1024;
  if (bytes >= kMiB) return fmt::format("{:.4g} MiB", bytes / kMiB);
  if (bytes >= kKiB) return fmt::format("{:.4g} KiB", bytes / kKiB);
  return fmt::format("{:.0f} B", bytes);
}

// The case whose size is nearest `target_bytes` on a log scale; the first of equals.
const CollectiveCase* nearest(const std::vector<CollectiveCase>& cases, double target_bytes) {
  const CollectiveCase* best = nullptr;
  double best_distance = 0;
  for (const CollectiveCase& c : cases) {
    const double distance = std::abs(std::log(c.bytes / target_bytes));
    if (best == nullptr || distance < best_distance) {
      best = &c;
      best_distance = distance;
    }
  }
  return best;
}

std::string summary_row(const std::string& label, const ErrorSummary& s) {
  return fmt::format("  {:<34} {:>6} {:>13} {:>10} {:>10}\n", label, s.count, abs_percent(s.median_abs_error),
                     abs_percent(s.p90_abs_error), abs_percent(s.max_abs_error));
}

std::string summary_header() {
  return fmt::format("  {:<34} {:>6} {:>13} {:>10} {:>10}\n", "", "cases", "median |err|", "p90 |err|", "max |err|");
}

// ---- operators ----

void report_operators(const Catalog& catalog, std::vector<CsvLine>& csv) {
  const GpuSpec& gpu = catalog.gpus.at("h100-sxm");
  const std::vector<OperatorCase> cases = operator_cases(gpu, default_calibration_dir());
  std::cout << fmt::format(
      "operators: linear-layer kernel times on one H100, Vidur's medians ({}, {}) against the roofline with "
      "h100-sxm's fitted efficiencies\n\n",
      kOperatorProfiles[0].file, kOperatorProfiles[1].file);
  std::cout << summary_header();
  for (const ErrorSummary& s : summarize_operators(cases)) std::cout << summary_row(s.group, s);

  std::cout << fmt::format("\n  {:<12} {:<14} {:>7} {:>13} {:>13} {:>8}\n", "model", "op at TP1", "tokens",
                           "measured us", "predicted us", "error");
  for (const OperatorProfile& profile : kOperatorProfiles) {
    for (const double tokens : {1.0, 64.0, 1024.0, 4096.0}) {  // the profiles stop at 4096 tokens
      const auto it = std::find_if(cases.begin(), cases.end(), [&](const OperatorCase& c) {
        return c.model == profile.model && c.op == "mlp_up_proj" && c.tp == 1 && c.tokens == tokens;
      });
      if (it == cases.end()) continue;
      std::cout << fmt::format("  {:<12} {:<14} {:>7.0f} {:>13.1f} {:>13.1f} {:>8}\n", it->model, it->op, it->tokens,
                               it->measured_s * 1e6, it->predicted_s * 1e6,
                               percent(signed_relative_error(it->predicted_s, it->measured_s)));
    }
  }
  std::cout << "\n";
  for (const OperatorCase& c : cases) {
    csv.push_back({"operators", fmt::format("{} tp{} {:.0f} tokens (line {})", c.model, c.tp, c.tokens, c.line),
                   c.op + "_s", c.measured_s, c.predicted_s});
  }
}

// ---- collectives ----

// Measured beside predicted at sizes spread from 2 KiB to 64 MiB, then the summary
// above and below kLatencyDominatedBelowBytes.
void report_collective(const std::string& title, const std::vector<CollectiveCase>& cases) {
  std::cout << "  " << title << "\n";
  std::cout << fmt::format("  {:>12} {:>10} {:>13} {:>13} {:>8}\n", "bytes", "", "measured us", "predicted us",
                           "error");
  const CollectiveCase* previous = nullptr;
  for (const double target_kib : {2.0, 64.0, 256.0, 1024.0, 2048.0, 4096.0, 8192.0, 16384.0, 32768.0, 65536.0}) {
    const CollectiveCase* c = nearest(cases, target_kib * 1024);
    if (c == nullptr || c == previous) continue;
    previous = c;
    std::cout << fmt::format("  {:>12.0f} {:>10} {:>13.1f} {:>13.1f} {:>8}{}\n", c->bytes, format_bytes(c->bytes),
                             c->measured_s * 1e6, c->predicted_s * 1e6,
                             percent(signed_relative_error(c->predicted_s, c->measured_s)),
                             c->latency_dominated() ? "  latency-dominated" : "");
  }
  std::vector<double> large, small;
  for (const CollectiveCase& c : cases) {
    const double e = signed_relative_error(c.predicted_s, c.measured_s);
    if (c.latency_dominated()) {
      small.push_back(e);
    } else if (c.bytes <= kCollectiveMaxTestedBytes) {
      large.push_back(e);
    }
  }
  std::cout << summary_header()
            << summary_row(fmt::format("{} to {}", format_bytes(kLatencyDominatedBelowBytes),
                                       format_bytes(kCollectiveMaxTestedBytes)),
                           summarize_errors("", large))
            << summary_row(fmt::format("below {} (latency-dominated)", format_bytes(kLatencyDominatedBelowBytes)),
                           summarize_errors("", small))
            << "\n";
}

void report_collectives(const Catalog& catalog, std::vector<CsvLine>& csv) {
  const FabricSpec& nvlink = catalog.fabrics.at("nvlink4");
  const FabricSpec& ib = catalog.fabrics.at("ib-ndr");
  const std::string dir = default_calibration_dir();
  const std::vector<CollectiveCase> all_reduce = allreduce_cases(nvlink, dir);
  const std::vector<CollectiveCase> send_recv = send_recv_cases(nvlink, ib, dir);
  std::cout << fmt::format("collectives: NCCL on a DGX H100, Vidur's medians ({}, {}) against latency + bytes / "
                           "bandwidth\n\n",
                           kAllReduceFile, kSendRecvFile);
  auto fabric_figures = [](const FabricSpec& f) {
    return fmt::format("{}: {:.1f} us, {:.0f} GB/s", f.name, f.latency_s * 1e6, f.bandwidth_bytes_per_s / 1e9);
  };
  report_collective(fmt::format("all-reduce over {} GPUs in one node: 2(p-1) x latency + 2(p-1)/p x bytes / "
                                "bandwidth ({})",
                                kAllReduceGpus, fabric_figures(nvlink)),
                    all_reduce);
  std::vector<CollectiveCase> inside, across;
  for (const CollectiveCase& c : send_recv) (c.fabric == nvlink.name ? inside : across).push_back(c);
  report_collective(fmt::format("send/recv inside a node (devices_per_node 2) ({})", fabric_figures(nvlink)), inside);
  report_collective(fmt::format("send/recv across nodes (devices_per_node 1) ({})", fabric_figures(ib)), across);
  for (const auto* group : {&all_reduce, &send_recv}) {
    for (const CollectiveCase& c : *group) {
      csv.push_back({c.kind, fmt::format("{} GPUs {} {:.0f} bytes (line {})", c.gpus, c.fabric, c.bytes, c.line),
                     "time_s", c.measured_s, c.predicted_s});
    }
  }
}

// ---- serving ----

struct ServingOutcome {
  ServingCase c;
  std::optional<ServingMetrics> predicted;  // empty when the simulation failed
};

// Simulates every case, each in a child process (SimGrid allows one simulation per
// process), `jobs` at a time. The child writes its metrics to a pipe.
std::vector<ServingOutcome> simulate_all(const std::vector<ServingCase>& cases, const Catalog& catalog, int jobs) {
  std::vector<ServingOutcome> outcomes;
  for (const ServingCase& c : cases) outcomes.push_back({c, std::nullopt});
  struct Child {
    std::size_t index;
    int read_fd;
  };
  std::map<pid_t, Child> running;
  auto reap_one = [&]() {
    int status = 0;
    const pid_t pid = wait(&status);
    const auto it = running.find(pid);
    if (it == running.end()) return;
    ServingMetrics m;
    const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
                    read(it->second.read_fd, &m, sizeof m) == static_cast<ssize_t>(sizeof m);
    if (ok) outcomes[it->second.index].predicted = m;
    close(it->second.read_fd);
    running.erase(it);
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    while (static_cast<int>(running.size()) >= jobs) reap_one();
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("validate: cannot create a pipe");
    std::cout.flush();
    std::cerr.flush();
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("validate: cannot fork");
    if (pid == 0) {
      close(fds[0]);
      try {
        const ServingMetrics m = simulate_serving(cases[i], catalog);
        // sizeof m is far below PIPE_BUF: one write, whole, without a reader yet.
        const bool written = write(fds[1], &m, sizeof m) == static_cast<ssize_t>(sizeof m);
        std::_Exit(written ? 0 : kExitRunFailed);
      } catch (const std::exception& e) {
        std::cerr << "validate[" << cases[i].model.model << " batch " << cases[i].batch << "]: " << e.what() << '\n';
        std::_Exit(kExitRunFailed);
      }
    }
    close(fds[1]);
    running.emplace(pid, Child{i, fds[0]});
  }
  while (!running.empty()) reap_one();
  return outcomes;
}

struct Metric {
  const char* name;  // in validate.csv
  const char* label;
  double scale;  // printed value = value * scale
  const char* format;
  double ServingMetrics::*field;
};
const Metric kServingMetrics[] = {
    {"median_itl_s", "median ITL ms", 1e3, "{:>7.2f}", &ServingMetrics::median_itl_s},
    {"energy_per_token_j", "energy J/token", 1.0, "{:>7.4f}", &ServingMetrics::energy_per_token_j},
    {"power_w", "mean GPU power W", 1.0, "{:>7.0f}", &ServingMetrics::power_w},
};

// The largest |error| of each metric over the outcomes with batch <= max_batch.
std::string worst_errors(const std::vector<ServingOutcome>& outcomes, int max_batch) {
  std::string out;
  for (const Metric& metric : kServingMetrics) {
    const ServingOutcome* worst = nullptr;
    double worst_error = -1;
    for (const ServingOutcome& o : outcomes) {
      if (!o.predicted || o.c.batch > max_batch) continue;
      const double e = std::abs(signed_relative_error((*o.predicted).*metric.field, o.c.measured.*metric.field));
      if (e > worst_error) {
        worst_error = e;
        worst = &o;
      }
    }
    if (worst == nullptr) continue;
    const std::string model = worst->c.model.model;
    out += fmt::format("{}{} {} ({} batch {})", out.empty() ? "" : ", ", metric.name, abs_percent(worst_error),
                       model.substr(model.find('/') + 1), worst->c.batch);
  }
  return out;
}

bool report_serving(const Catalog& catalog, int jobs, std::vector<CsvLine>& csv) {
  std::vector<ServingCase> cases;
  for (const ServingModel& model : kServingModels) {
    for (const ServingCase& c : serving_cases(model, default_calibration_dir())) cases.push_back(c);
  }
  std::cout << fmt::format(
      "serving: ML.ENERGY v3 ({}: vLLM, steady state, GPU energy) against simulations of {}/ with "
      "serving.max_batch_seqs = requests.arrival.concurrency = B, requests.count = 20 B ({} points, {} at a time)\n",
      kServingFile, calibration_scenario_dir(), cases.size(), jobs);
  const std::vector<ServingOutcome> outcomes = simulate_all(cases, catalog, jobs);
  bool all_ok = true;
  for (const ServingModel& model : kServingModels) {
    std::string head = fmt::format("  {:>6} ", "batch"), units = fmt::format("  {:>6} ", "");
    for (const Metric& metric : kServingMetrics) {
      head += fmt::format("| {:<25} ", metric.label);
      units += fmt::format("| {:>7} {:>7} {:>8} ", "meas", "pred", "error");
    }
    std::cout << fmt::format("\n  {} at TP{} ({})\n", model.model, model.tp, model.scenario) << trim_right(head)
              << "\n" << trim_right(units) << "\n";
    for (const ServingOutcome& o : outcomes) {
      if (std::string(o.c.model.model) != model.model) continue;
      const bool tested = std::find(kServingTestedBatches.begin(), kServingTestedBatches.end(), o.c.batch) !=
                          kServingTestedBatches.end();
      std::string line = fmt::format("  {:>5}{} ", o.c.batch, tested ? "*" : " ");
      if (!o.predicted) {
        all_ok = false;
        std::cout << line << "| simulation failed (see above)\n";
        continue;
      }
      for (const Metric& metric : kServingMetrics) {
        const double measured = o.c.measured.*metric.field, predicted = (*o.predicted).*metric.field;
        line += "| " + fmt::format(fmt::runtime(metric.format), measured * metric.scale) + ' ' +
                fmt::format(fmt::runtime(metric.format), predicted * metric.scale) + ' ' +
                fmt::format("{:>8} ", percent(signed_relative_error(predicted, measured)));
        csv.push_back({"serving", fmt::format("{} tp{} batch {}", model.model, model.tp, o.c.batch), metric.name,
                       measured, predicted});
      }
      std::cout << trim_right(line) << "\n";
    }
  }
  std::cout << "\n  * the batches the tests check (ctest -R ML.ENERGY)\n";
  std::cout << fmt::format("  worst |error| over batches 8..{}: {}\n", kServingMaxTestedBatch,
                           worst_errors(outcomes, kServingMaxTestedBatch));
  std::cout << fmt::format("  worst |error| over all batches: {}\n", worst_errors(outcomes, 1 << 30));
  return all_ok;
}

void write_csv(const std::string& path, const std::vector<CsvLine>& lines) {
  std::ofstream out(path);
  if (!out) throw std::runtime_error(path + ": cannot write");
  out << "group,case,metric,measured,predicted,error\n";
  for (const CsvLine& l : lines) {
    out << fmt::format("{},{},{},{:.9g},{:.9g},{:.6g}\n", l.group, l.case_name, l.metric, l.measured, l.predicted,
                       signed_relative_error(l.predicted, l.measured));
  }
}

}  // namespace

int command_validate(const std::string& only, int jobs, const std::string& dir) {
  const Catalog catalog = load_catalog(default_catalog_dir());
  std::vector<CsvLine> csv;
  std::cout << "convsim validate: predictions against the measurements in " << default_calibration_dir()
            << "\nerror = predicted / measured - 1\n\n";
  if (only.empty() || only == "operators") report_operators(catalog, csv);
  if (only.empty() || only == "collectives") report_collectives(catalog, csv);
  bool serving_ok = true;
  if (only.empty() || only == "serving") serving_ok = report_serving(catalog, jobs, csv);
  if (!dir.empty()) {
    fs::create_directories(dir);
    const std::string path = (fs::path(dir) / "validate.csv").string();
    write_csv(path, csv);
    std::cout << "\n" << csv.size() << " cases in " << path << "\n";
  }
  if (!serving_ok) {
    std::cerr << "validate: some serving simulations failed\n";
    return kExitRunFailed;
  }
  return 0;
}

}  // namespace convsim::cli
