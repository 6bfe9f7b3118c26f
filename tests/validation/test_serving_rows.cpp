// The serving rows `convsim validate` predicts, and the statistics it reports on
// them, against the measurement files read independently here.

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "sim/scenario/catalog.hpp"
#include "sim/validation/cross_validation.hpp"
#include "sim/validation/serving_rows.hpp"
#include "tests/support/cli_run.hpp"
#include "tests/support/in_child.hpp"

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

// The ML.ENERGY row of that model preset, GPU and task at that batch limit, or nullptr.
const ServingRow* find_row(const std::vector<ServingRow>& rows, const std::string& preset, const std::string& gpu,
                           const std::string& task, int batch) {
  for (const ServingRow& r : rows) {
    if (r.preset == preset && r.gpu == gpu && r.task == task && r.batch == batch) return &r;
  }
  return nullptr;
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
  CHECK(r.measured.p90_itl_s == Approx(51.683e-3));  // the file's p90_itl_ms and p99_itl_ms
  CHECK(r.measured.p99_itl_s == Approx(68.64e-3));
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

namespace {

ServingRow timed_row(const std::string& gpu, int gpus, int batch, double itl_s) {
  ServingRow r;
  r.source = "mlenergy";
  r.model = "m";
  r.task = "t";
  r.gpu = gpu;
  r.num_gpus = gpus;
  r.tp = gpus;
  r.batch = batch;
  r.measured.median_itl_s = itl_s;
  return r;
}

}  // namespace

TEST_CASE("a deployment slower than weaker GPUs at most comparable batches is marked as stalling on the host") {
  const Catalog catalog = load_catalog(default_catalog_dir());
  // One B200 has more HBM bandwidth and BF16 FLOP/s than one H100 (datasheets:
  // 8.0 against 3.35 TB/s), so no step of the same work can be slower on it.
  REQUIRE(catalog.gpus.at("b200").hbm_bytes_per_s > catalog.gpus.at("h100-sxm").hbm_bytes_per_s);
  std::vector<ServingRow> rows = {
      timed_row("h100-sxm", 1, 8, 0.010), timed_row("h100-sxm", 1, 16, 0.012),
      timed_row("b200", 1, 8, 0.030),   // 3x the H100's: slow
      timed_row("b200", 1, 16, 0.016),  // 1.33x: slow (over 1.25x)
      timed_row("b200", 1, 32, 0.020),  // nothing to compare with, marked with its deployment
  };
  flag_host_stalls(rows, catalog);
  CHECK(rows[0].stall.empty());
  CHECK(rows[1].stall.empty());
  CHECK_FALSE(rows[2].stall.empty());
  CHECK_FALSE(rows[3].stall.empty());
  CHECK_FALSE(rows[4].stall.empty());

  SECTION("one slow batch alone is a bad row, not a stalled deployment") {
    rows[3].measured.median_itl_s = 0.014;  // 1.17x: within the 25% band
    for (ServingRow& r : rows) r.stall.clear();
    flag_host_stalls(rows, catalog);
    for (const ServingRow& r : rows) CHECK(r.stall.empty());
  }
  SECTION("two B200s slower than one B200 are marked; the one GPU, having no weaker deployment, is not") {
    std::vector<ServingRow> pair = {timed_row("b200", 2, 8, 0.030), timed_row("b200", 2, 16, 0.030),
                                    timed_row("b200", 1, 8, 0.010), timed_row("b200", 1, 16, 0.010)};
    flag_host_stalls(pair, catalog);
    CHECK_FALSE(pair[0].stall.empty());  // 3x slower than half its GPUs
    CHECK(pair[2].stall.empty());        // the single GPU has no weaker deployment
  }
}

TEST_CASE("in mlenergy_v3.csv the host-stalled rows are the single-GPU B200 GPQA deployments") {
  const Catalog catalog = load_catalog(default_catalog_dir());
  std::vector<ServingRow> rows = mlenergy_rows(default_calibration_dir());
  flag_host_stalls(rows, catalog);
  int stalled = 0;
  for (const ServingRow& r : rows) {
    if (r.stall.empty()) continue;
    ++stalled;
    CHECK(r.gpu == "b200");
    CHECK(r.task == "gpqa");
    CHECK(r.num_gpus == 1);
  }
  // Qwen3-8B, 14B and 32B at batches 8..128 (5 each), Nemotron-Nano-12B-v2 at 8..256 (6).
  CHECK(stalled == 3 * 5 + 6);
}

TEST_CASE("expert-parallel rows run as one tensor-parallel group of every GPU, as the benchmark launched them") {
  for (const ServingRow& r : mlenergy_rows(default_calibration_dir())) {
    if (r.ep > 1) CHECK(r.tp == r.num_gpus);
  }
}

TEST_CASE("a row's figures are its steady window's: the closed loop keeps the measured batch full there") {
  // Llama-3.1-8B, chat, one H100, 64 clients (measured mean batch 63.9): between the
  // batch filling and the last arrival every client has a request in flight, so a
  // decode step carries 64 sequences (a few fewer while one waits for its prefill).
  // Over the whole run the ramp and the drain would pull the mean far below.
  const Catalog catalog = load_catalog(default_catalog_dir());
  const std::vector<ServingRow> rows = mlenergy_rows(default_calibration_dir());
  const ServingRow* row = find_row(rows, "llama-3.1-8b", "h100-sxm", "lm-arena-chat", 64);
  REQUIRE(row != nullptr);
  struct Steady {
    double decode_batch, median_itl_s, p90_itl_s, p99_itl_s;
  };
  const Steady out = test::in_child([&] {
    const ServingOutcomeMetrics m = simulate_row(*row, catalog, nullptr);
    return Steady{m.decode_sequences_mean, m.median_itl_s, m.p90_itl_s, m.p99_itl_s};
  });
  // The tail of the same gaps: ordered, and the longest gaps (steps carrying a
  // prefill) longer than the median's decode step.
  CHECK(out.p90_itl_s >= out.median_itl_s);
  CHECK(out.p99_itl_s > out.median_itl_s);
  CHECK(out.p99_itl_s >= out.p90_itl_s);
  INFO("steady decode batch " << out.decode_batch << ", median ITL " << out.median_itl_s << " s");
  CHECK(out.decode_batch <= 64.0);
  CHECK(out.decode_batch >= 0.95 * 64.0);
  CHECK(out.median_itl_s > 0);
}

TEST_CASE("the steady window runs from the batch's last first token to the N - c - 1st completion") {
  // Six requests, two at a time (the benchmark's RequestTracker): the window opens
  // when the second first token arrives and closes when 6 - 2 - 1 = 3 have finished.
  auto reply = [](double start_s, double ttft_s, double e2e_s) {
    ReplyRecord r;
    r.start_s = start_s;
    r.ttft_s = ttft_s;
    r.e2e_s = e2e_s;
    return r;
  };
  const std::vector<ReplyRecord> replies = {reply(0, 0.5, 4), reply(0, 0.7, 6), reply(4, 0.2, 3),
                                            reply(6, 0.3, 5), reply(7, 0.4, 2), reply(9, 0.1, 1)};
  // First tokens at 0.5, 0.7, 4.2, 6.3, 7.4, 9.1; completions at 4, 6, 7, 9, 10, 11.
  const SteadyWindow w = steady_window(replies, 2, 6);
  CHECK(w.start_s == Approx(0.7));
  CHECK(w.end_s == Approx(7.0));
  // Too few requests for a window: N - c - 1 < 1.
  const SteadyWindow none = steady_window(replies, 5, 6);
  CHECK(none.end_s <= none.start_s);
}

TEST_CASE("each ML.ENERGY row sends what its benchmark sent: prompts x repeats, the prompt list repeated") {
  const std::string dir = default_calibration_dir();
  // The sidecar file read here on its own: model,task,gpu,num_gpus,max_num_seqs,num_requests,num_request_repeats.
  std::map<std::string, std::pair<long, long>> sent;
  std::ifstream in(dir + "/" + kMlenergyRequestsFile);
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream cells_in(line);
    for (std::string cell; std::getline(cells_in, cell, ',');) cells.push_back(cell);
    REQUIRE(cells.size() == 7);
    sent[cells[0] + "|" + cells[1] + "|" + cells[2] + "|" + cells[3] + "|" + cells[4]] = {std::stol(cells[5]),
                                                                                          std::stol(cells[6])};
  }
  const std::vector<ServingRow> rows = mlenergy_rows(dir);
  int checked = 0;
  for (const ServingRow& r : rows) {
    const std::string gpu = r.gpu == "b200" ? "B200" : "H100";
    const auto it = sent.find(r.model + "|" + r.task + "|" + gpu + "|" + std::to_string(r.num_gpus) + "|" +
                              std::to_string(r.batch));
    REQUIRE(it != sent.end());
    CHECK(r.unique_prompts == it->second.first);
    CHECK(r.requests == it->second.first * it->second.second);
    const std::vector<Override> o = row_overrides(r);
    CHECK(value_of(o, "requests.count") == std::to_string(r.requests));
    CHECK(value_of(o, "requests.unique_prompts") == std::to_string(r.unique_prompts));
    CHECK(value_of(o, "serving.prefix_caching") == "true");
    ++checked;
  }
  CHECK(checked == 230);
  // One by hand: Qwen3-14B chat on one B200 at max_num_seqs 2048 ran the 1,024
  // LMArena prompts three times (configs/vllm/lm-arena-chat/Qwen/Qwen3-14B/B200/sweeps.yaml).
  for (const ServingRow& r : rows) {
    if (r.model == "Qwen/Qwen3-14B" && r.gpu == "b200" && r.task == "lm-arena-chat" && r.batch == 2048) {
      CHECK(r.requests == 3072);
    }
  }
}

TEST_CASE("an ML.ENERGY row missing from the request counts is refused at its line") {
  const test::Workspace ws("serving-rows");
  const std::string dir = ws.dir.string();
  std::filesystem::copy_file(default_calibration_dir() + "/" + kMlenergyFile, ws.path(kMlenergyFile));
  ws.write(kMlenergyRequestsFile, "model,task,gpu,num_gpus,max_num_seqs,num_requests,num_request_repeats\n");
  CHECK_THROWS_WITH(mlenergy_rows(dir), Catch::StartsWith(dir + "/" + kMlenergyFile + ":2: ") &&
                                            Catch::Contains("does not say how many requests"));
}

TEST_CASE("a KV-limited row's steady window draws no more than the boards allow and no less than idle") {
  // Qwen3-8B chat on one B200 at max_num_seqs 1024: 2,048 requests, the window the
  // first cohort's life. Its power is read from the iterations inside the window.
  const Catalog catalog = load_catalog(default_catalog_dir());
  const std::vector<ServingRow> rows = mlenergy_rows(default_calibration_dir());
  const ServingRow* row = find_row(rows, "qwen3-8b", "b200", "lm-arena-chat", 1024);
  REQUIRE(row != nullptr);
  struct Out {
    double power_w, span_s, tokens_per_s, output_tokens;
  };
  const Out out = test::in_child([&] {
    const ServingOutcomeMetrics m = simulate_row(*row, catalog, nullptr);
    return Out{m.power_w, m.span_s, m.output_tokens_per_s, m.output_tokens};
  });
  const GpuSpec& b200 = catalog.gpus.at("b200");
  CHECK(out.span_s > 0);
  CHECK(out.power_w <= b200.power_max_w);
  CHECK(out.power_w >= b200.power_idle_w);
  CHECK(out.tokens_per_s == Approx(out.output_tokens / out.span_s));
}

TEST_CASE("a KV-limited row not used to fit the prompts reaches the measured batch within 10%") {
  // Qwen3-8B chat on one B200 at max_num_seqs 1536: the benchmark's running-request
  // gauge averaged 1,427 over its window (mlenergy_v3.csv), held back by the KV cache.
  // The chat prompt length is fitted on Llama rows only (tools/fit_workload.py);
  // simulated as the benchmark ran it, this row's batch follows from the B200's
  // memory, Qwen3-8B's KV bytes per token and the repeated prompt list.
  const Catalog catalog = load_catalog(default_catalog_dir());
  const std::vector<ServingRow> rows = mlenergy_rows(default_calibration_dir());
  const ServingRow* row = find_row(rows, "qwen3-8b", "b200", "lm-arena-chat", 1536);
  REQUIRE(row != nullptr);
  REQUIRE(row->measured.decode_sequences_mean == Approx(1426.703));
  const double batch = test::in_child([&] { return simulate_row(*row, catalog, nullptr).decode_sequences_mean; });
  CHECK(batch < 1536.0);  // the cache, not max_num_seqs, holds it back
  CHECK(batch == Approx(1426.703).epsilon(0.10));
}

TEST_CASE("a row's energy is its kernel stretches' power, each clipped at the board limit, plus its waits'") {
  // Qwen3-8B, chat, one B200, 64 clients: its decode steps stream HBM near the board's
  // 1,000 W, so some stretches of kernels draw the limit and some their terms' sum.
  // The stretches (what tools/fit_serving.py fits) must rebuild the predicted energy:
  // min(static + J/byte x bytes/s + J/FLOP x FLOP/s, limit) over each, static over the
  // host waits, static + collective over the collectives, idle over the rest.
  const Catalog catalog = load_catalog(default_catalog_dir());
  const std::vector<ServingRow> rows = mlenergy_rows(default_calibration_dir());
  const ServingRow* row = find_row(rows, "qwen3-8b", "b200", "lm-arena-chat", 64);
  REQUIRE(row != nullptr);
  const GpuSpec& gpu = catalog.gpus.at("b200");
  struct Out {
    double predicted_j, rebuilt_j, compute_s, stretches_s, clipped_s;
  };
  const Out out = test::in_child([&] {
    std::vector<PowerSegment> stretches;
    const ServingOutcomeMetrics m = simulate_row(*row, catalog, nullptr, &stretches);
    const PowerCoefficients& k = gpu.power;
    Out o{m.energy_per_token_j * m.output_tokens, 0, m.work.compute_s, 0, 0};
    o.rebuilt_j = gpu.power_idle_w * m.gpu_idle_s + k.static_w * m.work.host_s +
                  (k.static_w + k.collective_w) * m.work.comm_s;
    for (const PowerSegment& s : stretches) {
      const double terms_j = k.static_w * s.gpu_s + k.j_per_hbm_byte * s.hbm_bytes + k.j_per_flop_bf16 * s.bf16_flops +
                             k.j_per_flop_fp8 * s.fp8_flops + k.j_per_flop_fp4 * s.fp4_flops;
      const double limit_j = gpu.power_max_w * s.gpu_s;
      o.rebuilt_j += std::min(terms_j, limit_j);
      o.stretches_s += s.gpu_s;
      if (terms_j > limit_j) o.clipped_s += s.gpu_s;
    }
    return o;
  });
  INFO("clipped " << out.clipped_s << " of " << out.stretches_s << " GPU-s");
  REQUIRE(gpu.power.static_w + gpu.power.collective_w < gpu.power_max_w);  // the waits are not clipped
  CHECK(out.stretches_s == Approx(out.compute_s).epsilon(1e-9));
  CHECK(out.clipped_s > 0);
  CHECK(out.clipped_s < out.stretches_s);
  // Stretches within 1% of each other's rates are merged: a merged one straddling the
  // limit can be off by that much of its own energy, far less of the row's.
  CHECK(out.rebuilt_j == Approx(out.predicted_j).epsilon(1e-3));
}

TEST_CASE("the median ITL against the mean gap the throughput implies: 1 steady, below 1 with pauses, 0 unknown") {
  const double batch = 32, step_s = 0.020;
  // Steady decode: every sequence gets one token per step.
  CHECK(itl_to_mean_gap_ratio(step_s, batch / step_s, batch) == Approx(1.0).epsilon(1e-12));
  // Every tenth step is a 100 ms mixed prefill step: the median gap stays the decode
  // step, the mean gap is (9 x 20 + 100) / 10 = 28 ms.
  const double mean_gap_s = (9 * step_s + 0.100) / 10;
  CHECK(itl_to_mean_gap_ratio(step_s, batch / mean_gap_s, batch) == Approx(step_s / mean_gap_s).epsilon(1e-12));
  CHECK(itl_to_mean_gap_ratio(step_s, batch / mean_gap_s, batch) < 1.0);
  // Tokens two to a chunk: the client sees one gap of two steps per two tokens, so
  // the median gap is twice the mean gap per token.
  CHECK(itl_to_mean_gap_ratio(2 * step_s, batch / step_s, batch) == Approx(2.0).epsilon(1e-12));
  CHECK(itl_to_mean_gap_ratio(step_s, 0, batch) == 0);  // TensorRT-LLM rows: no ITL, no batch
  CHECK(itl_to_mean_gap_ratio(step_s, batch / step_s, 0) == 0);
}
