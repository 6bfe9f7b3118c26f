// convsim validate: the calibration cases of sim/validation/calibration.hpp, measured
// beside predicted with the error of each, so that a user sees how far to trust a
// figure. It reports and exits 0 however large the errors; the tests assert.

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "sim/output/atomic_file.hpp"
#include "sim/cli/commands.hpp"
#include "sim/output/number_text.hpp"
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
    std::cout << fmt::format("  {:>12.0f} {:>10} {:>13.1f} {:>13.1f} {:>8}{}\n", c->bytes, binary_bytes_text(c->bytes),
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
            << summary_row(fmt::format("{} to {}", binary_bytes_text(kLatencyDominatedBelowBytes),
                                       binary_bytes_text(kCollectiveMaxTestedBytes)),
                           summarize_errors("", large))
            << summary_row(fmt::format("below {} (latency-dominated)", binary_bytes_text(kLatencyDominatedBelowBytes)),
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

void write_csv(const std::string& path, const std::vector<CsvLine>& lines) {
  AtomicFile file(path);  // complete or absent
  std::ostream& out = file.stream();
  out << "group,case,metric,measured,predicted,error\n";
  for (const CsvLine& l : lines) {
    out << fmt::format("{},{},{},{:.9g},{:.9g},{:.6g}\n", l.group, l.case_name, l.metric, l.measured, l.predicted,
                       signed_relative_error(l.predicted, l.measured));
  }
  file.commit();
}

}  // namespace

int command_validate(const std::string& only, int jobs, const std::string& dir, bool cross_validate) {
  if (!dir.empty()) {  // before the simulations, not after them
    std::error_code error;
    fs::create_directories(dir, error);
    if (error) throw OutputError(fmt::format("{}: cannot create folder: {}", dir, error.message()));
  }
  const Catalog catalog = load_catalog(default_catalog_dir());
  std::vector<CsvLine> csv;
  std::cout << "convsim validate: predictions against the measurements in " << default_calibration_dir()
            << "\nerror = predicted / measured - 1\n\n";
  if (only.empty() || only == "operators") report_operators(catalog, csv);
  if (only.empty() || only == "collectives") report_collectives(catalog, csv);
  bool serving_ok = true;
  if (only.empty() || only == "serving") serving_ok = report_serving_rows(catalog, jobs, cross_validate, dir);
  if (!dir.empty()) {
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
