#include "sim/validation/calibration.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "models/roofline.hpp"
#include "sim/accounting/energy.hpp"
#include "sim/cluster/collectives.hpp"
#include "sim/engine/simulation.hpp"
#include "sim/scenario/loader.hpp"
#include "sim/scenario/text_util.hpp"

namespace convsim {
namespace {

std::string join_path(const std::string& dir, const std::string& file) { return dir + "/" + file; }

constexpr double kSecondsPerMs = 1e-3;

}  // namespace

std::string default_calibration_dir() {
  if (const char* dir = std::getenv("CONVSIM_DATA"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  return CONVSIM_SOURCE_DIR "/data/calibration";
}

std::string calibration_scenario_dir() { return CONVSIM_SOURCE_DIR "/scenarios/calibration"; }

// ---- CSV ----

const std::string& CsvRow::text(const std::string& column) const {
  const auto it = cells_.find(column);
  if (it == cells_.end()) {
    std::string columns;
    for (const auto& [name, value] : cells_) columns += (columns.empty() ? "" : ", ") + name;
    throw CalibrationDataError(
        fmt::format("{}:{}: no column '{}' (the columns are: {})", path_, line_, column, columns));
  }
  return it->second;
}

double CsvRow::number(const std::string& column) const {
  const std::string& cell = text(column);
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(cell.c_str(), &end);
  if (cell.empty() || end != cell.c_str() + cell.size() || errno == ERANGE || !std::isfinite(value)) {
    throw CalibrationDataError(
        fmt::format("{}:{}: column '{}': '{}' is not a number", path_, line_, column, cell));
  }
  return value;
}

std::vector<CsvRow> read_csv(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw CalibrationDataError(fmt::format("{}: cannot read calibration file", path));
  std::vector<std::string> header;
  std::vector<CsvRow> rows;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::vector<std::string> cells = split_commas(line);
    if (header.empty()) {
      header = std::move(cells);
      continue;
    }
    if (cells.size() != header.size()) {
      throw CalibrationDataError(fmt::format("{}:{}: {} cells, the header has {}", path, number, cells.size(),
                                             header.size()));
    }
    std::map<std::string, std::string> named;
    for (std::size_t i = 0; i < header.size(); ++i) named[header[i]] = std::move(cells[i]);
    rows.emplace_back(path, number, std::move(named));
  }
  if (header.empty()) throw CalibrationDataError(fmt::format("{}: empty file, no header", path));
  return rows;
}

// ---- accumulators ----

double signed_relative_error(double predicted, double measured) { return (predicted - measured) / measured; }

double lower_quantile(std::vector<double> values, double q) {
  if (values.empty()) throw std::invalid_argument("lower_quantile: no values");
  std::sort(values.begin(), values.end());
  return values[static_cast<std::size_t>(q * static_cast<double>(values.size() - 1))];
}

ErrorSummary summarize_errors(const std::string& group, const std::vector<double>& signed_errors) {
  ErrorSummary s;
  s.group = group;
  if (signed_errors.empty()) return s;
  std::vector<double> abs_errors;
  abs_errors.reserve(signed_errors.size());
  for (const double e : signed_errors) abs_errors.push_back(std::abs(e));
  s.count = static_cast<long>(abs_errors.size());
  s.median_abs_error = lower_quantile(abs_errors, 0.5);
  s.p90_abs_error = lower_quantile(abs_errors, 0.9);
  s.max_abs_error = *std::max_element(abs_errors.begin(), abs_errors.end());
  return s;
}

// ---- operators ----

LinearShape linear_shape(const std::string& op, const LinearModel& m, double tp) {
  const double head_dim = m.d / m.heads;
  if (op == "attn_pre_proj") return {m.d, (m.heads + 2 * m.kv_heads) * head_dim / tp};
  if (op == "attn_post_proj") return {m.heads * head_dim / tp, m.d};
  if (op == "mlp_up_proj") return {m.d, (m.gated_mlp ? 2.0 : 1.0) * m.ffn / tp};
  if (op == "mlp_down_proj") return {m.ffn / tp, m.d};
  throw CalibrationDataError(fmt::format("unknown linear operator '{}' (known: {})", op,
                                         fmt::join(kLinearOperators, ", ")));
}

KernelWork linear_work(double tokens, const LinearShape& shape) {
  const double k = shape.k, n = shape.n;
  return KernelWork{2 * tokens * k * n, 2 * (k * n + tokens * (k + n)), 1};
}

double predict_linear_s(const GpuSpec& gpu, double tokens, const LinearShape& shape) {
  return kernel_time(gpu, linear_work(tokens, shape), gpu.peak_for(Precision::bf16), gpu.efficiency.kernel_overhead_s,
                     gpu.efficiency.memory)
      .time_s;
}

std::vector<OperatorCase> operator_cases(const GpuSpec& gpu, const std::string& data_dir) {
  std::vector<OperatorCase> cases;
  for (const OperatorProfile& profile : kOperatorProfiles) {
    for (const CsvRow& row : read_csv(join_path(data_dir, profile.file))) {
      LinearModel model;
      model.d = row.number("n_embd");
      model.heads = row.number("n_head");
      model.kv_heads = row.number("n_kv_head");
      model.ffn = row.number("n_expanded_embd");
      model.gated_mlp = row.text("use_gated_mlp") == "True";
      const double tokens = row.number("num_tokens");
      const double tp = row.number("num_tensor_parallel_workers");
      for (const char* op : kLinearOperators) {
        OperatorCase c;
        c.model = profile.model;
        c.op = op;
        c.tp = static_cast<int>(std::lround(tp));
        c.tokens = tokens;
        c.line = row.line();
        c.measured_s = row.number(std::string("time_stats.") + op + ".median") * kSecondsPerMs;
        c.predicted_s = predict_linear_s(gpu, tokens, linear_shape(op, model, tp));
        cases.push_back(std::move(c));
      }
    }
  }
  return cases;
}

std::vector<ErrorSummary> summarize_operators(const std::vector<OperatorCase>& cases) {
  std::vector<ErrorSummary> out;
  for (const OperatorProfile& profile : kOperatorProfiles) {
    std::map<int, std::vector<double>> by_tp;
    for (const OperatorCase& c : cases) {
      if (c.model == profile.model) by_tp[c.tp].push_back(signed_relative_error(c.predicted_s, c.measured_s));
    }
    for (const auto& [tp, errors] : by_tp) {
      out.push_back(summarize_errors(fmt::format("{} tp{}", profile.model, tp), errors));
    }
  }
  std::vector<double> all;
  all.reserve(cases.size());
  for (const OperatorCase& c : cases) all.push_back(signed_relative_error(c.predicted_s, c.measured_s));
  out.push_back(summarize_errors("all", all));
  return out;
}

// ---- collectives ----

double predict_ring_allreduce_s(const FabricSpec& fabric, int gpus, double buffer_bytes) {
  return ring_allreduce_steps(gpus) * fabric.latency_s +
         ring_allreduce_link_bytes(gpus, buffer_bytes) / fabric.bandwidth_bytes_per_s;
}

double predict_send_s(const FabricSpec& fabric, double bytes) {
  return fabric.latency_s + bytes / fabric.bandwidth_bytes_per_s;
}

std::vector<CollectiveCase> allreduce_cases(const FabricSpec& nvlink, const std::string& data_dir) {
  std::vector<CollectiveCase> cases;
  for (const CsvRow& row : read_csv(join_path(data_dir, kAllReduceFile))) {
    if (row.number("num_workers") != kAllReduceGpus || row.number("devices_per_node") != kAllReduceGpus) continue;
    CollectiveCase c;
    c.kind = "all_reduce";
    c.fabric = nvlink.name;
    c.gpus = kAllReduceGpus;
    c.bytes = row.number("size");
    c.line = row.line();
    c.measured_s = row.number("time_stats.all_reduce.median") * kSecondsPerMs;
    c.predicted_s = predict_ring_allreduce_s(nvlink, c.gpus, c.bytes);
    cases.push_back(std::move(c));
  }
  return cases;
}

std::vector<CollectiveCase> send_recv_cases(const FabricSpec& scale_up, const FabricSpec& scale_out,
                                            const std::string& data_dir) {
  std::vector<CollectiveCase> cases;
  for (const CsvRow& row : read_csv(join_path(data_dir, kSendRecvFile))) {
    const double devices_per_node = row.number("devices_per_node");
    if (row.number("num_workers") != 2 || (devices_per_node != 1 && devices_per_node != 2)) continue;
    const FabricSpec& fabric = devices_per_node == 2 ? scale_up : scale_out;
    CollectiveCase c;
    c.kind = "send_recv";
    c.fabric = fabric.name;
    c.gpus = 2;
    c.bytes = row.number("size");
    c.line = row.line();
    c.measured_s = row.number("time_stats.send_recv.median") * kSecondsPerMs;
    c.predicted_s = predict_send_s(fabric, c.bytes);
    cases.push_back(std::move(c));
  }
  return cases;
}

}  // namespace convsim
