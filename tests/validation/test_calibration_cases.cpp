// The calibration module itself (sim/validation/calibration.hpp): its CSV reader,
// its prediction formulas worked out by hand, and its case lists, on small files
// written here and on the shipped data. The calibration tolerances are asserted by
// tests/models/test_calibration_operators.cpp, tests/cluster/test_network.cpp and
// tests/engine/test_calibration_serving.cpp.

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "sim/validation/calibration.hpp"

namespace fs = std::filesystem;
using namespace convsim;

namespace {

// A fresh folder under the system's temporary directory, removed at scope exit.
class TempDir {
 public:
  TempDir() : path_(fs::temp_directory_path() / ("convsim-calibration-" + std::to_string(getpid()))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string write(const std::string& name, const std::string& text) const {
    const std::string file = (path_ / name).string();
    std::ofstream(file) << text;
    return file;
  }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

// A GPU with round figures, so that roofline times can be worked out by hand.
GpuSpec round_gpu() {
  GpuSpec gpu;
  gpu.name = "round";
  gpu.peak_flops_per_s[Precision::bf16] = 1e15;
  gpu.hbm_bytes_per_s = 2e12;
  gpu.efficiency.compute = 0.5;
  gpu.efficiency.memory = 0.8;
  gpu.efficiency.kernel_overhead_s = 1e-5;
  return gpu;
}

FabricSpec fabric(const std::string& name, double latency_s, double bandwidth_bytes_per_s) {
  FabricSpec f;
  f.name = name;
  f.latency_s = latency_s;
  f.bandwidth_bytes_per_s = bandwidth_bytes_per_s;
  return f;
}

}  // namespace

TEST_CASE("the CSV reader names each cell by its header, keeps empty cells, skips blank lines and accepts CRLF") {
  const TempDir dir;
  const std::string path = dir.write("t.csv", ",a,b\r\n0,1,\r\n\n1,x,2.5e-3\n");
  const std::vector<CsvRow> rows = read_csv(path);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].line() == 2);
  CHECK(rows[0].number("") == 0);
  CHECK(rows[0].number("a") == 1);
  CHECK(rows[0].text("b").empty());
  CHECK(rows[1].line() == 4);
  CHECK(rows[1].text("a") == "x");
  CHECK(rows[1].number("b") == 2.5e-3);
}

TEST_CASE("the CSV reader's errors name the file, the line and the column") {
  const TempDir dir;
  const std::string path = dir.write("t.csv", "a,b\n1,2\nx,3\n");
  const std::vector<CsvRow> rows = read_csv(path);
  CHECK_THROWS_WITH(rows[1].number("a"), path + ":3: column 'a': 'x' is not a number");
  CHECK_THROWS_WITH(rows[0].text("c"), path + ":2: no column 'c' (the columns are: a, b)");
  CHECK_THROWS_WITH(rows[0].number("nope"), path + ":2: no column 'nope' (the columns are: a, b)");
  const std::string ragged = dir.write("ragged.csv", "a,b,c\n1,2,3\n1,2\n");
  CHECK_THROWS_WITH(read_csv(ragged), ragged + ":3: 2 cells, the header has 3");
  CHECK_THROWS_WITH(read_csv(dir.path() + "/missing.csv"), dir.path() + "/missing.csv: cannot read calibration file");
  CHECK_THROWS_AS(read_csv(dir.write("empty.csv", "")), CalibrationDataError);
}

TEST_CASE("error quantiles take the lower rank without interpolation, over absolute errors") {
  CHECK(lower_quantile({4, 1, 3, 2}, 0.5) == 2);  // rank floor(0.5 * 3) = 1
  CHECK(lower_quantile({4, 1, 3, 2}, 0.9) == 3);  // rank floor(0.9 * 3) = 2
  CHECK(signed_relative_error(90, 100) == Approx(-0.1));
  const ErrorSummary s = summarize_errors("g", {-0.2, 0.1, 0.05});
  CHECK(s.count == 3);
  CHECK(s.median_abs_error == Approx(0.1));
  CHECK(s.p90_abs_error == Approx(0.1));  // rank floor(0.9 * 2) = 1
  CHECK(s.max_abs_error == Approx(0.2));
  CHECK(summarize_errors("none", {}).count == 0);
}

TEST_CASE("linear-layer shapes split the heads and the FFN over TP, and an unknown operator names the known ones") {
  // Llama-2-70B: d 8192, 64 heads of 128, 8 KV heads, FFN 28672, gated.
  const LinearModel m{8192, 64, 8, 28672, true};
  const LinearShape qkv = linear_shape("attn_pre_proj", m, 4);
  CHECK(qkv.k == 8192);
  CHECK(qkv.n == (64 + 2 * 8) * 128 / 4);
  CHECK(linear_shape("attn_post_proj", m, 4).k == 64 * 128 / 4);
  CHECK(linear_shape("mlp_up_proj", m, 4).n == 2 * 28672 / 4);
  CHECK(linear_shape("mlp_down_proj", m, 4).k == 28672 / 4);
  CHECK(linear_shape("mlp_up_proj", LinearModel{8192, 64, 8, 28672, false}, 4).n == 28672 / 4);
  CHECK_THROWS_WITH(linear_shape("lm_head", m, 1),
                    "unknown linear operator 'lm_head' "
                    "(known: attn_pre_proj, attn_post_proj, mlp_up_proj, mlp_down_proj)");
}

TEST_CASE("an operator's predicted time is (compute^p + memory^p)^(1/p) + one kernel overhead") {
  GpuSpec gpu = round_gpu();
  gpu.efficiency.roofline_exponent = 2.0;
  const LinearShape up{4096, 11008};  // Llama-2-7B gated up projection at TP2
  for (const double tokens : {1.0, 256.0, 1024.0}) {
    // 2 t k n FLOPs at 0.5 * 1e15; the BF16 weight and activations, 2 (k n + t (k + n))
    // bytes, at 0.8 * 2e12.
    const double compute_s = 2.0 * tokens * 4096 * 11008 / 0.5e15;
    const double memory_s = 2.0 * (4096.0 * 11008 + tokens * (4096 + 11008)) / 1.6e12;
    const double expected_s = std::sqrt(compute_s * compute_s + memory_s * memory_s) + 1e-5;
    INFO(tokens << " tokens: Expectation: " << expected_s << " s  Actual: " << predict_linear_s(gpu, tokens, up) << " s");
    CHECK(predict_linear_s(gpu, tokens, up) == Approx(expected_s).epsilon(1e-12));
  }
  // A very large exponent is the plain roofline, max(compute, memory).
  gpu.efficiency.roofline_exponent = 1e6;
  const double prefill_s = 2.0 * 1024 * 4096 * 11008 / 0.5e15 + 1e-5;
  CHECK(predict_linear_s(gpu, 1024, up) == Approx(prefill_s).epsilon(1e-9));
}

TEST_CASE("operator cases: four linear operators per profile row, Vidur's milliseconds in seconds") {
  const TempDir dir;
  const std::string header =
      "n_head,n_kv_head,n_embd,n_expanded_embd,use_gated_mlp,num_tokens,num_tensor_parallel_workers,"
      "time_stats.attn_pre_proj.median,time_stats.attn_post_proj.median,time_stats.mlp_up_proj.median,"
      "time_stats.mlp_down_proj.median\n";
  dir.write(kOperatorProfiles[0].file, header + "32,32,4096,11008,True,1024,2,0.1,0.2,0.3,0.4\n");
  dir.write(kOperatorProfiles[1].file, header + "64,8,8192,28672,True,1,8,1,2,3,4\n");
  const GpuSpec gpu = round_gpu();
  const std::vector<OperatorCase> cases = operator_cases(gpu, dir.path());
  REQUIRE(cases.size() == 8);
  const OperatorCase& up = cases[2];
  CHECK(up.model == kOperatorProfiles[0].model);
  CHECK(up.op == "mlp_up_proj");
  CHECK(up.tp == 2);
  CHECK(up.tokens == 1024);
  CHECK(up.line == 2);
  CHECK(up.measured_s == Approx(0.3e-3));
  // The prediction is the formula checked above, on the row's shape at TP2.
  CHECK(up.predicted_s == predict_linear_s(gpu, 1024, LinearShape{4096, 11008}));
  CHECK(cases[7].model == kOperatorProfiles[1].model);
  CHECK(cases[7].op == "mlp_down_proj");
  CHECK(cases[7].measured_s == Approx(4e-3));
  const std::vector<ErrorSummary> summaries = summarize_operators(cases);
  REQUIRE(summaries.size() == 3);
  CHECK(summaries[0].group == "llama2-7b tp2");
  CHECK(summaries[1].group == "llama2-70b tp8");
  CHECK(summaries[2].group == "all");
  CHECK(summaries[2].count == 8);
}

TEST_CASE("the operator cases cover every row of both shipped Vidur profiles") {
  GpuSpec gpu = round_gpu();
  const std::vector<OperatorCase> cases = operator_cases(gpu, default_calibration_dir());
  std::size_t rows = 0;
  for (const OperatorProfile& p : kOperatorProfiles) rows += read_csv(default_calibration_dir() + "/" + p.file).size();
  CHECK(cases.size() == 4 * rows);
  CHECK(cases.size() == 8352);  // the count the README and tools/fit_efficiency.py state
}

TEST_CASE("collective predictions: ring all-reduce 2(p-1) latencies + 2(p-1)/p bytes, send latency + bytes") {
  const FabricSpec f = fabric("f", 2e-6, 1e11);
  CHECK(predict_ring_allreduce_s(f, 8, 8e6) == Approx(14 * 2e-6 + 2.0 * 7 / 8 * 8e6 / 1e11).epsilon(1e-12));
  CHECK(predict_send_s(f, 8e6) == Approx(2e-6 + 8e6 / 1e11).epsilon(1e-12));
}

TEST_CASE("collective cases: 8-GPU all-reduces in a node, send/recv inside a node on scale-up, across on scale-out") {
  const TempDir dir;
  const std::string columns = "size,num_workers,devices_per_node";
  dir.write(kAllReduceFile, ",time_stats.all_reduce.median," + columns +
                                "\n0,0.05,1048576,8,8\n1,0.04,1048576,4,4\n2,0.01,2048,8,8\n");
  dir.write(kSendRecvFile, ",time_stats.send_recv.median," + columns + "\n0,0.2,1048576,2,2\n1,0.9,1048576,2,1\n");
  const FabricSpec nvlink = fabric("up", 2e-6, 4e11), ib = fabric("out", 1e-5, 5e10);
  const std::vector<CollectiveCase> all_reduce = allreduce_cases(nvlink, dir.path());
  REQUIRE(all_reduce.size() == 2);
  CHECK(all_reduce[0].bytes == 1048576);
  CHECK(all_reduce[0].measured_s == Approx(0.05e-3));
  CHECK(all_reduce[0].predicted_s == Approx(predict_ring_allreduce_s(nvlink, 8, 1048576)));
  CHECK_FALSE(all_reduce[0].latency_dominated());
  CHECK(all_reduce[1].latency_dominated());
  const std::vector<CollectiveCase> send_recv = send_recv_cases(nvlink, ib, dir.path());
  REQUIRE(send_recv.size() == 2);
  CHECK(send_recv[0].fabric == "up");
  CHECK(send_recv[0].predicted_s == Approx(2e-6 + 1048576 / 4e11));
  CHECK(send_recv[1].fabric == "out");
  CHECK(send_recv[1].measured_s == Approx(0.9e-3));
  CHECK(send_recv[1].predicted_s == Approx(1e-5 + 1048576 / 5e10));
}

TEST_CASE("the shipped all-reduce cases include the four sizes the NCCL test checks, at Vidur's medians") {
  const std::vector<CollectiveCase> cases = allreduce_cases(fabric("f", 1e-6, 1e11), default_calibration_dir());
  // Medians in data/calibration/vidur_h100_dgx_all_reduce.csv, 8 GPUs, in ms.
  const std::pair<double, double> cited[] = {{1048576, 0.034}, {4194304, 0.051}, {16777216, 0.115}, {67108864, 0.322}};
  for (const auto& [bytes, ms] : cited) {
    const auto it = std::find_if(cases.begin(), cases.end(), [&](const CollectiveCase& c) { return c.bytes == bytes; });
    REQUIRE(it != cases.end());
    CHECK(it->measured_s == Approx(ms * 1e-3));
  }
}

