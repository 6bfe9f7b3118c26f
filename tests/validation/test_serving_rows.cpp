// The serving rows `convsim validate` predicts, and the statistics it reports on
// them, against the measurement files read independently here.

#include <cmath>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include "sim/validation/cross_validation.hpp"
#include "sim/validation/serving_rows.hpp"

using namespace convsim;

namespace {

// Data lines of a CSV file (the header and blank lines not counted).
long data_lines(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  long n = -1;
  while (std::getline(in, line)) n += line.empty() ? 0 : 1;
  return n;
}

std::string value_of(const std::vector<Override>& overrides, const std::string& key) {
  for (const Override& o : overrides) {
    if (o.key_path == key) return o.value;
  }
  return "";
}

}  // namespace

TEST_CASE("every row of both serving files is a validation row, each mapped to a catalog model") {
  const std::string dir = default_calibration_dir();
  const std::vector<ServingRow> ml = mlenergy_rows(dir);
  const std::vector<ServingRow> trt = trtllm_rows(dir);
  CHECK(static_cast<long>(ml.size()) == data_lines(dir + "/" + kMlenergyFile));  // 230 rows
  CHECK(static_cast<long>(trt.size()) == data_lines(dir + "/" + kTrtllmFile));   // 60 rows
  CHECK(ml.size() + trt.size() == 290);
}

TEST_CASE("an ML.ENERGY row becomes its configuration: lognormal outputs with the row's mean and spread") {
  const std::vector<ServingRow> rows = mlenergy_rows(default_calibration_dir());
  const ServingRow& r = rows.front();  // Qwen3-14B, gpqa, B200, batch 8: mean 7026.2, cv 0.6
  REQUIRE(r.preset == "qwen3-14b");
  REQUIRE(r.batch == 8);
  CHECK(r.gpu == "b200");
  CHECK(r.measured.median_itl_s == Approx(33.628e-3));
  CHECK(r.measured.energy_per_token_j == Approx(1.36626));
  const std::vector<Override> o = row_overrides(r);
  CHECK(value_of(o, "serving.max_batch_seqs") == "8");
  CHECK(value_of(o, "requests.arrival.concurrency") == "8");
  const double sigma = std::sqrt(std::log(1 + 0.6 * 0.6));  // 0.5545
  const double median = 7026.2 / std::exp(sigma * sigma / 2);
  char expected[96];
  std::snprintf(expected, sizeof expected, "{median: %.1f, sigma: %.4f}", median, sigma);
  CHECK(value_of(o, "requests.output_tokens") == expected);
}

TEST_CASE("the two Llama-3.x-70B checkpoints, one architecture, form one cross-validation fold") {
  ServingRow r;
  r.preset = "llama-3.3-70b";
  CHECK(fold_of(r) == "llama-3.1-70b");
  r.preset = "qwen3-8b";
  CHECK(fold_of(r) == "qwen3-8b");
}

TEST_CASE("error statistics: lower medians of |error| and of signed error, worst, share within 25%") {
  // errors: -0.5, -0.1, +0.2, +0.3
  const std::vector<ErrorPoint> points = {{2.0, 1.0, {"a"}}, {1.0, 0.9, {"a", "b"}}, {1.0, 1.2, {"b"}},
                                          {1.0, 1.3, {"b"}}};
  const ErrorStats s = error_stats("all", points);
  CHECK(s.count == 4);
  CHECK(s.median_abs == Approx(0.2));      // sorted 0.1 0.2 0.3 0.5, rank 1
  CHECK(s.median_signed == Approx(-0.1));  // sorted -0.5 -0.1 0.2 0.3, rank 1
  CHECK(s.worst_abs == Approx(0.5));
  CHECK(s.within_25 == Approx(0.5));       // 0.1 and 0.2
  const std::vector<ErrorStats> groups = error_breakdown(points);
  REQUIRE(groups.size() == 3);
  CHECK(groups[1].group == "a");
  CHECK(groups[1].count == 2);
  CHECK(groups[2].group == "b");
  CHECK(groups[2].count == 3);
  CHECK(batch_bucket(8) == "batch 1-31");
  CHECK(batch_bucket(4096) == "batch 1024+");
}
