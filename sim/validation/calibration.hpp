#pragma once
// The calibration cases: convsim's predictions beside the measurements in
// data/calibration/ (see its README), written once for `convsim validate` and for
// the calibration tests. Three families:
//   - operators: linear-layer kernel times (Vidur, H100, Llama-2-7B/70B) against the
//     roofline of models/roofline.hpp;
//   - collectives: NCCL all-reduce and send/recv (Vidur, DGX H100) against the
//     latency + bytes / bandwidth formulas of sim/cluster/collectives.hpp;
//   - serving: every measured serving configuration, in sim/validation/serving_rows.hpp.
// Each case is a plain record (name, measured, predicted); accumulators are
// functions over records and the command line formats them.

#include <array>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "models/hardware.hpp"
#include "models/transformer_cost.hpp"
#include "sim/accounting/records.hpp"
#include "sim/scenario/catalog.hpp"
#include "sim/scenario/overrides.hpp"

namespace convsim {

// A calibration file that cannot be read or lacks what a case needs. The message
// names the file and, where there is one, the line: "file:line: message".
class CalibrationDataError : public std::runtime_error {
 public:
  explicit CalibrationDataError(const std::string& located_message) : std::runtime_error(located_message) {}
};

// The folder of the calibration files: $CONVSIM_DATA if set, else the source tree's
// data/calibration (compiled in).
std::string default_calibration_dir();

// The calibration scenarios (scenarios/calibration/ in the source tree).
std::string calibration_scenario_dir();

// ---- CSV ----------------------------------------------------------------------

// One row of a CSV file, its cells by header name. Cells are plain text (the
// calibration files hold no quoted fields).
class CsvRow {
 public:
  CsvRow(std::string path, int line, std::map<std::string, std::string> cells)
      : path_(std::move(path)), line_(line), cells_(std::move(cells)) {}

  const std::string& path() const { return path_; }
  int line() const { return line_; }  // 1-based; the header is line 1

  // Throw CalibrationDataError naming the file, line and column when the column is
  // missing (listing the columns there are) or the cell is not a number.
  const std::string& text(const std::string& column) const;
  double number(const std::string& column) const;

 private:
  std::string path_;
  int line_ = 0;
  std::map<std::string, std::string> cells_;
};

// Reads a CSV file whose first line is the header. Lines end in \n or \r\n; empty
// lines are skipped. Throws CalibrationDataError if the file cannot be read or a
// row has a different number of cells than the header.
std::vector<CsvRow> read_csv(const std::string& path);

// ---- accumulators ---------------------------------------------------------------

// (predicted - measured) / measured: positive when convsim predicts more.
// REQUIRES: measured != 0.
double signed_relative_error(double predicted, double measured);

// The value at rank floor(q * (n - 1)) of the sorted values (no interpolation), the
// quantile the calibration tolerances are stated in. REQUIRES: values not empty,
// 0 <= q <= 1.
double lower_quantile(std::vector<double> values, double q);

// Count, median, 90th percentile and largest of |signed_relative_error| over a set
// of cases; zeros when there are none.
struct ErrorSummary {
  std::string group;
  long count = 0;
  double median_abs_error = 0;
  double p90_abs_error = 0;
  double max_abs_error = 0;
};
ErrorSummary summarize_errors(const std::string& group, const std::vector<double>& signed_errors);

// ---- operators ---------------------------------------------------------------------

// The linear operators Vidur times, in its column names (time_stats.<op>.median).
inline constexpr std::array<const char*, 4> kLinearOperators = {"attn_pre_proj", "attn_post_proj", "mlp_up_proj",
                                                                 "mlp_down_proj"};

// The operator profiles, one file per model (data/calibration/).
struct OperatorProfile {
  const char* model;
  const char* file;
};
inline constexpr std::array<OperatorProfile, 2> kOperatorProfiles = {{
    {"llama2-7b", "vidur_h100_llama2_7b_mlp.csv"},
    {"llama2-70b", "vidur_h100_llama2_70b_mlp.csv"},
}};

// A linear layer's weight on one GPU: tokens x k activations times a k x n weight.
struct LinearShape {
  double k = 0;
  double n = 0;
};

// The columns of a Vidur row that fix its layer shapes (n_embd, n_head, n_kv_head,
// n_expanded_embd, use_gated_mlp).
struct LinearModel {
  double d = 0, heads = 0, kv_heads = 0, ffn = 0;
  bool gated_mlp = false;
};

// The shape of `op` (one of kLinearOperators) split over `tp` GPUs, with
// head_dim = d / heads: attn_pre_proj d x (heads + 2 kv_heads) head_dim / tp,
// attn_post_proj heads head_dim / tp x d, mlp_up_proj d x (2 if gated) ffn / tp,
// mlp_down_proj ffn / tp x d. Throws CalibrationDataError for an unknown op.
LinearShape linear_shape(const std::string& op, const LinearModel& model, double tp);

// 2 t k n FLOPs; BF16 weights, inputs and outputs read or written once
// (2 (k n + t (k + n)) bytes); one kernel.
KernelWork linear_work(double tokens, const LinearShape& shape);

// kernel_time of the GEMM at the BF16 peak with the GPU's fitted efficiencies and
// per-kernel overhead.
double predict_linear_s(const GpuSpec& gpu, double tokens, const LinearShape& shape);

struct OperatorCase {
  std::string model;  // kOperatorProfiles[i].model
  std::string op;     // one of kLinearOperators
  int tp = 1;
  double tokens = 0;
  int line = 0;  // in the profile file
  double measured_s = 0;
  double predicted_s = 0;
};

// Every row of every profile, the four linear operators of each: 4 cases a row.
// Measured is Vidur's median (ms in the file). Throws CalibrationDataError.
std::vector<OperatorCase> operator_cases(const GpuSpec& gpu, const std::string& data_dir);

// One summary per (model, TP degree), in the profiles' order then by TP, then one
// for all cases ("all").
std::vector<ErrorSummary> summarize_operators(const std::vector<OperatorCase>& cases);

// ---- collectives ---------------------------------------------------------------------

inline constexpr const char* kAllReduceFile = "vidur_h100_dgx_all_reduce.csv";
inline constexpr const char* kSendRecvFile = "vidur_h100_dgx_send_recv.csv";
inline constexpr int kAllReduceGpus = 8;
// Below this the measured times are set by per-step latencies and launch costs
// that a bandwidth model does not describe; the all-reduce is held to its
// tolerance from here to 64 MiB.
inline constexpr double kLatencyDominatedBelowBytes = 1024.0 * 1024;
inline constexpr double kCollectiveMaxTestedBytes = 64.0 * 1024 * 1024;

// ring_allreduce_steps(p) * latency + ring_allreduce_link_bytes(p, S) / bandwidth.
double predict_ring_allreduce_s(const FabricSpec& fabric, int gpus, double buffer_bytes);

// latency + bytes / bandwidth.
double predict_send_s(const FabricSpec& fabric, double bytes);

struct CollectiveCase {
  std::string kind;    // "all_reduce" or "send_recv"
  std::string fabric;  // the preset predicting it
  int gpus = 0;
  double bytes = 0;
  int line = 0;  // in the measurement file
  double measured_s = 0;
  double predicted_s = 0;
  bool latency_dominated() const { return bytes < kLatencyDominatedBelowBytes; }
};

// The 8-GPU all-reduces inside one node (num_workers 8, devices_per_node 8),
// measured by their median (ms in the file), predicted by the ring over `nvlink`.
std::vector<CollectiveCase> allreduce_cases(const FabricSpec& nvlink, const std::string& data_dir);

// The two-GPU send/recv, inside a node (devices_per_node 2) over `scale_up` and
// across nodes (devices_per_node 1) over `scale_out`; medians.
std::vector<CollectiveCase> send_recv_cases(const FabricSpec& scale_up, const FabricSpec& scale_out,
                                            const std::string& data_dir);

}  // namespace convsim
