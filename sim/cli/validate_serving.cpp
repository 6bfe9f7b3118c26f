// convsim validate, serving part: every measured serving configuration (ML.ENERGY v3
// and TensorRT-LLM's throughput table) simulated twice, with the catalog's fitted
// figures (in-sample) and with the figures fitted without the row's model
// (leave-one-model-out), each in its own process. Prints the error statistics and
// writes serving.csv (one line per row and mode, with the features the fitting
// script reads).

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <algorithm>
#include <map>
#include <set>
#include <utility>
#include <optional>

#include <fmt/format.h>

#include "sim/cli/commands.hpp"
#include "sim/cli/signals.hpp"
#include "sim/output/atomic_file.hpp"
#include "sim/scenario/serving_fits.hpp"
#include "sim/validation/cross_validation.hpp"
#include "sim/validation/serving_rows.hpp"

namespace fs = std::filesystem;

namespace convsim::cli {
namespace {

struct Job {
  const ServingRow* row;
  const FittedFigures* fit;  // nullptr: the catalog as it is (in-sample)
  std::string mode;          // in_sample or cross_validated
  std::optional<ServingOutcomeMetrics> predicted;
  std::vector<PowerSegment> segments;  // in-sample rows: the kernels' stretches (simulate_row)
};

// Each job in a child process (one simulation per process), `jobs` at a time; the
// child writes its metrics (plain doubles), then, for in-sample rows, the count and
// the stretches of its kernels (PowerSegment, plain doubles) to a pipe, which the
// parent drains as it comes (a child's output may exceed the pipe's buffer).
void run_jobs(std::vector<Job>& work, const Catalog& catalog, int jobs) {
  struct Running {
    std::size_t job;
    pid_t pid;
    std::string bytes;
  };
  std::map<int, Running> running;  // by the pipe's read end
  std::size_t done = 0;
  auto finish = [&](int fd) {
    Running& r = running.at(fd);
    int status = 0;
    while (waitpid(r.pid, &status, 0) < 0 && errno == EINTR) {
      if (stopping()) wait_for_stop();  // the signal thread ends the process (signals.hpp)
    }
    Job& job = work[r.job];
    ServingOutcomeMetrics m;
    std::uint64_t count = 0;
    const std::string& b = r.bytes;
    bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && b.size() >= sizeof m + sizeof count;
    if (ok) {
      std::memcpy(&m, b.data(), sizeof m);
      std::memcpy(&count, b.data() + sizeof m, sizeof count);
      ok = b.size() == sizeof m + sizeof count + count * sizeof(PowerSegment);
    }
    if (ok) {
      job.predicted = m;
      job.segments.resize(count);
      if (count > 0) std::memcpy(job.segments.data(), b.data() + sizeof m + sizeof count, count * sizeof(PowerSegment));
    }
    close(fd);
    running.erase(fd);
    ++done;
    if (isatty(STDERR_FILENO) != 0) std::cerr << fmt::format("\r  {}/{} simulations", done, work.size()) << std::flush;
  };
  auto drain = [&]() {  // until one child has closed its pipe
    std::vector<pollfd> fds;
    for (const auto& [fd, r] : running) fds.push_back({fd, POLLIN, 0});
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (stopping()) wait_for_stop();
      return;
    }
    char chunk[65536];
    for (const pollfd& p : fds) {
      if (p.revents == 0) continue;
      const ssize_t n = read(p.fd, chunk, sizeof chunk);
      if (n > 0) {
        running.at(p.fd).bytes.append(chunk, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        finish(p.fd);  // end of file, or a broken pipe: the child is done either way
      }
    }
  };
  for (std::size_t i = 0; i < work.size(); ++i) {
    while (static_cast<int>(running.size()) >= jobs) drain();
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("validate: cannot create a pipe");
    std::cout.flush();
    std::cerr.flush();
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("validate: cannot fork");
    if (pid == 0) {
      close(fds[0]);
      try {
        std::vector<PowerSegment> segments;
        const ServingOutcomeMetrics m =
            simulate_row(*work[i].row, catalog, work[i].fit, work[i].mode == "in_sample" ? &segments : nullptr);
        const std::uint64_t count = segments.size();
        std::string bytes(reinterpret_cast<const char*>(&m), sizeof m);
        bytes.append(reinterpret_cast<const char*>(&count), sizeof count);
        bytes.append(reinterpret_cast<const char*>(segments.data()), count * sizeof(PowerSegment));
        std::size_t sent = 0;
        while (sent < bytes.size()) {
          const ssize_t n = write(fds[1], bytes.data() + sent, bytes.size() - sent);
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) std::_Exit(kExitRunFailed);
          sent += static_cast<std::size_t>(n);
        }
        std::_Exit(0);
      } catch (const std::exception& e) {
        std::cerr << "validate[" << work[i].row->label() << "]: " << e.what() << '\n';
        std::_Exit(kExitRunFailed);
      }
    }
    close(fds[1]);
    running.emplace(fds[0], Running{i, pid, {}});
  }
  while (!running.empty()) drain();
  if (isatty(STDERR_FILENO) != 0) std::cerr << "\n";
}

struct Metric {
  const char* name;
  double ServingOutcomeMetrics::*field;
};
constexpr Metric kMlenergyMetrics[] = {
    {"median ITL", &ServingOutcomeMetrics::median_itl_s},
    {"GPU energy per output token", &ServingOutcomeMetrics::energy_per_token_j},
    {"mean GPU power", &ServingOutcomeMetrics::power_w},
    {"output throughput", &ServingOutcomeMetrics::output_tokens_per_s},
};

// Which rows a statistic covers: those the GPUs' work explains, or those marked by
// flag_host_stalls, or every row.
enum class Rows { explained, stalled, all };

std::vector<ErrorPoint> points_of(const std::vector<Job>& work, const std::string& source, const std::string& mode,
                                  double ServingOutcomeMetrics::*field, Rows which = Rows::explained) {
  std::vector<ErrorPoint> points;
  for (const Job& j : work) {
    if (j.row->source != source || j.mode != mode || !j.predicted) continue;
    if ((which == Rows::explained && !j.row->stall.empty()) || (which == Rows::stalled && j.row->stall.empty())) {
      continue;
    }
    points.push_back({j.row->measured.*field, (*j.predicted).*field,
                      {j.row->family, j.row->gpu, j.row->precision, batch_bucket(j.row->batch), j.row->task}});
  }
  return points;
}

std::string pct(double f) { return fmt::format("{:+.1f}%", 100 * f); }
std::string abs_pct(double f) { return fmt::format("{:.1f}%", 100 * f); }
// A share of rows, rounded down to 0.1%: read against a target of "at least 90%",
// 188 rows of 209 (89.95%) must not print as 90.0%.
std::string share_pct(double f) { return fmt::format("{:.1f}%", std::floor(1000 * f + 1e-9) / 10); }

void print_stats_header() {
  std::cout << fmt::format("  {:<30} {:>5} {:>12} {:>11} {:>9} {:>11}\n", "", "rows", "median |err|", "median err",
                           "worst", "within 25%");
}

void print_stats(const ErrorStats& s, const std::string& indent = "") {
  std::cout << fmt::format("  {:<30} {:>5} {:>12} {:>11} {:>9} {:>11}\n", indent + s.group, s.count,
                           abs_pct(s.median_abs), pct(s.median_signed), abs_pct(s.worst_abs), share_pct(s.within_25));
}

void write_serving_csv(const std::string& path, const std::vector<Job>& work) {
  AtomicFile file(path);  // complete or absent
  std::ostream& out = file.stream();
  out << "source,line,preset,fold,family,gpu,precision,task,tp,ep,batch,stalled,mode,"
         "measured_itl_s,predicted_itl_s,measured_energy_per_token_j,predicted_energy_per_token_j,"
         "measured_power_w,predicted_power_w,measured_output_tokens_per_s,predicted_output_tokens_per_s,measured_batch,"
         "span_s,output_tokens,decode_sequences_mean,gpu_compute_s,gpu_comm_s,gpu_host_s,gpu_idle_s,hbm_bytes,"
         "bf16_flops,fp8_flops,measured_itl_gap_ratio,predicted_itl_gap_ratio,measured_p90_itl_s,predicted_p90_itl_s,"
         "measured_p99_itl_s,predicted_p99_itl_s\n";
  for (const Job& j : work) {
    if (!j.predicted) continue;
    const ServingRow& r = *j.row;
    const ServingOutcomeMetrics& p = *j.predicted;
    out << fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},", r.source, r.line, r.preset, fold_of(r), r.family,
                       r.gpu, r.precision, r.task, r.tp, r.ep, r.batch, r.stall.empty() ? 0 : 1, j.mode)
        << fmt::format("{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},", r.measured.median_itl_s,
                       p.median_itl_s, r.measured.energy_per_token_j, p.energy_per_token_j, r.measured.power_w,
                       p.power_w, r.measured.output_tokens_per_s, p.output_tokens_per_s,
                       r.measured.decode_sequences_mean)
        << fmt::format("{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},", p.span_s,
                       p.output_tokens, p.decode_sequences_mean, p.work.compute_s, p.work.comm_s, p.work.host_s,
                       p.gpu_idle_s, p.work.hbm_bytes, p.work.bf16_flops, p.work.fp8_flops)
        << fmt::format("{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},{:.9g}\n",
                       itl_to_mean_gap_ratio(r.measured.median_itl_s, r.measured.output_tokens_per_s,
                                             r.measured.decode_sequences_mean),
                       itl_to_mean_gap_ratio(p.median_itl_s, p.output_tokens_per_s, p.decode_sequences_mean),
                       r.measured.p90_itl_s, p.p90_itl_s, r.measured.p99_itl_s, p.p99_itl_s);
  }
  file.commit();
}

// The in-sample rows' kernel stretches, for tools/fit_serving.py.
void write_segments_csv(const std::string& path, const std::vector<Job>& work) {
  AtomicFile file(path);  // complete or absent
  std::ostream& out = file.stream();
  out << "source,line,gpu_s,hbm_bytes,bf16_flops,fp8_flops,fp4_flops\n";
  for (const Job& j : work) {
    if (!j.predicted || j.mode != "in_sample") continue;
    for (const PowerSegment& s : j.segments) {
      out << fmt::format("{},{},{:.9g},{:.9g},{:.9g},{:.9g},{:.9g}\n", j.row->source, j.row->line, s.gpu_s,
                         s.hbm_bytes, s.bf16_flops, s.fp8_flops, s.fp4_flops);
    }
  }
  file.commit();
}

// The long gaps: a step that carries prefill work holds every decoding sequence, so
// the tail of the ITL distribution is how long those steps take. Reported as a
// diagnostic, in-sample, on the rows without a host stall; no target is set on it.
void print_itl_tail(const std::vector<Job>& work) {
  constexpr Metric kTail[] = {
      {"p90 ITL", &ServingOutcomeMetrics::p90_itl_s},
      {"p99 ITL", &ServingOutcomeMetrics::p99_itl_s},
  };
  std::cout << "  the tail of the same gaps (steps carrying prefill work; a diagnostic, no target)\n";
  for (const Metric& metric : kTail) {
    const std::vector<ErrorPoint> points = points_of(work, "mlenergy", "in_sample", metric.field);
    print_stats(error_stats(metric.name, points), "  ");
    const std::vector<ErrorStats> groups = error_breakdown(points);
    for (std::size_t i = 1; i < groups.size(); ++i) {
      if (groups[i].group == "dense" || groups[i].group == "moe" || groups[i].group == "hybrid") {
        print_stats(groups[i], "    ");
      }
    }
  }
}

}  // namespace

bool report_serving_rows(const Catalog& catalog, int jobs, bool cross_validate, const std::string& dir) {
  const std::string data = default_calibration_dir();
  std::vector<ServingRow> mlenergy = mlenergy_rows(data);
  flag_host_stalls(mlenergy, catalog);
  const std::vector<ServingRow> trtllm = trtllm_rows(data);
  std::optional<ServingFits> fits;
  if (cross_validate) fits = load_serving_fits(default_serving_fits_path(), catalog);
  std::vector<Job> work;
  for (const std::vector<ServingRow>* rows : {&std::as_const(mlenergy), &trtllm}) {
    for (const ServingRow& row : *rows) {
      work.push_back({&row, nullptr, "in_sample", std::nullopt, {}});
      if (!cross_validate || row.source != "mlenergy") continue;
      const auto fold = fits->without.find(fold_of(row));
      if (fold == fits->without.end()) {
        throw std::runtime_error(fmt::format("{}: no fold without '{}' (rerun tools/fit_serving.py)", fits->path,
                                             fold_of(row)));
      }
      work.push_back({&row, &fold->second, "cross_validated", std::nullopt, {}});
    }
  }
  std::cout << fmt::format(
      "serving: {} rows of {} (vLLM, H100 and B200) and {} of {} (TensorRT-LLM, H100 and H200), {} simulations, "
      "{} at a time\n",
      mlenergy.size(), kMlenergyFile, trtllm.size(), kTrtllmFile, work.size(), jobs);
  std::set<std::string> stalls;
  for (const ServingRow& row : mlenergy) {
    if (!row.stall.empty()) stalls.insert(fmt::format("{} {} {} tp{} ep{}: {}", row.preset, row.task, row.gpu, row.tp,
                                                      row.ep, row.stall));
  }
  const auto stalled_rows = std::count_if(mlenergy.begin(), mlenergy.end(), [](const ServingRow& r) {
    return !r.stall.empty();
  });
  if (!stalls.empty()) {
    std::cout << fmt::format(
        "  {} rows stall outside the GPUs (slower than weaker GPUs at the same batch; reported apart, not fitted):\n",
        stalled_rows);
    for (const std::string& s : stalls) std::cout << "    " << s << "\n";
  }
  run_jobs(work, catalog, jobs);
  bool all_ok = true;
  for (const Job& j : work) {
    if (!j.predicted) {
      all_ok = false;
      std::cout << "  simulation failed: " << j.row->label() << " (" << j.mode << ")\n";
    }
  }
  std::vector<std::string> modes = {"in_sample"};
  if (cross_validate) modes.insert(modes.begin(), "cross_validated");
  for (const std::string& mode : modes) {
    std::cout << (mode == "cross_validated"
                      ? fmt::format("\n  leave-one-model-out: each model predicted with the figures fitted without it "
                                    "({}); rows without a host stall\n",
                                    fits->path)
                      : std::string("\n  in-sample: the catalog's figures, fitted on every row without a host stall\n"));
    print_stats_header();
    for (const Metric& metric : kMlenergyMetrics) {
      print_stats(error_stats(metric.name, points_of(work, "mlenergy", mode, metric.field)));
    }
    if (stalled_rows > 0) {
      std::cout << "  every row, host stalls included\n";
      for (const Metric& metric : kMlenergyMetrics) {
        print_stats(error_stats(metric.name, points_of(work, "mlenergy", mode, metric.field, Rows::all)), "  ");
      }
      std::cout << "  the host-stalled rows alone\n";
      for (const Metric& metric : kMlenergyMetrics) {
        print_stats(error_stats(metric.name, points_of(work, "mlenergy", mode, metric.field, Rows::stalled)), "  ");
      }
    }
    if (mode == "in_sample") print_itl_tail(work);
    if (mode != modes.front()) continue;
    for (const Metric& metric : kMlenergyMetrics) {
      std::cout << fmt::format("\n  {} by group ({})\n", metric.name, mode);
      const std::vector<ErrorStats> groups = error_breakdown(points_of(work, "mlenergy", mode, metric.field));
      for (std::size_t i = 1; i < groups.size(); ++i) print_stats(groups[i], "  ");
    }
  }
  std::cout << "\n  TensorRT-LLM maximum throughput (trtllm engine profile)\n";
  print_stats_header();
  const std::vector<ErrorPoint> trt = points_of(work, "trtllm", "in_sample", &ServingOutcomeMetrics::output_tokens_per_s);
  print_stats(error_stats("output throughput", trt));
  for (const ErrorStats& s : error_breakdown(trt)) {
    if (s.group != "all" && s.group.find("batch") == std::string::npos) print_stats(s, "  ");
  }
  if (!dir.empty()) {
    fs::create_directories(dir);
    const std::string path = (fs::path(dir) / "serving.csv").string();
    write_serving_csv(path, work);
    const std::string segments = (fs::path(dir) / "serving_segments.csv").string();
    write_segments_csv(segments, work);
    std::cout << "\n  every row in " << path << ", the in-sample rows' stretches of kernels in " << segments << "\n";
  }
  return all_ok;
}

}  // namespace convsim::cli
