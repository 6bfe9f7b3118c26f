// The roofline with the fitted H100 efficiencies against Vidur's measured operator
// times (data/calibration/vidur_h100_llama2_{7b,70b}_mlp.csv: Llama-2-7B and 70B
// linear layers, 1..16384 tokens, TP 1..8). Tolerance: median relative error under
// 10% and 90th percentile under 25% (the fit reaches 7.9% and 23.3%).

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "models/roofline.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;

namespace {

std::vector<std::map<std::string, std::string>> read_csv(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  auto split = [](const std::string& line) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) cells.push_back(cell);
    return cells;
  };
  std::string line;
  std::getline(in, line);
  const std::vector<std::string> header = split(line);
  std::vector<std::map<std::string, std::string>> rows;
  while (std::getline(in, line)) {
    const std::vector<std::string> cells = split(line);
    std::map<std::string, std::string> row;
    for (std::size_t i = 0; i < header.size() && i < cells.size(); ++i) row[header[i]] = cells[i];
    rows.push_back(row);
  }
  return rows;
}

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
}

}  // namespace

TEST_CASE("linear-layer times on H100 match Vidur's measurements: median error < 10%, p90 < 25%") {
  const GpuSpec& gpu = test::catalog().gpus.at("h100-sxm");
  std::vector<double> errors;
  for (const char* file : {"vidur_h100_llama2_7b_mlp.csv", "vidur_h100_llama2_70b_mlp.csv"}) {
    for (const auto& row : read_csv(test::source_path(std::string("data/calibration/") + file))) {
      const double d = std::stod(row.at("n_embd")), heads = std::stod(row.at("n_head"));
      const double kv_heads = std::stod(row.at("n_kv_head")), ffn = std::stod(row.at("n_expanded_embd"));
      const double tokens = std::stod(row.at("num_tokens")), tp = std::stod(row.at("num_tensor_parallel_workers"));
      const double head_dim = d / heads;
      const double up = row.at("use_gated_mlp") == "True" ? 2.0 : 1.0;
      const std::map<std::string, std::pair<double, double>> shapes = {
          {"attn_pre_proj", {d, (heads + 2 * kv_heads) * head_dim / tp}},
          {"attn_post_proj", {heads * head_dim / tp, d}},
          {"mlp_up_proj", {d, up * ffn / tp}},
          {"mlp_down_proj", {ffn / tp, d}}};
      for (const auto& [op, shape] : shapes) {
        const auto [k, n] = shape;
        const KernelWork work{2 * tokens * k * n, 2 * (k * n + tokens * (k + n)), 1};
        const double predicted_s = kernel_time(gpu, work, gpu.peak_for(Precision::bf16),
                                               gpu.efficiency.kernel_overhead_s, gpu.efficiency.memory).time_s;
        const double measured_s = std::stod(row.at("time_stats." + op + ".median")) * 1e-3;
        errors.push_back(std::abs(predicted_s - measured_s) / measured_s);
      }
    }
  }
  REQUIRE(errors.size() > 8000);
  const double median = quantile(errors, 0.5), p90 = quantile(errors, 0.9);
  INFO("operators " << errors.size() << ": median error " << median << ", p90 " << p90);
  CHECK(median < 0.10);
  CHECK(p90 < 0.25);
}
