#pragma once
// Every measured serving configuration convsim is validated on, as a scenario:
//   - The ML.ENERGY Leaderboard v3 (data/calibration/mlenergy_v3.csv, 230 rows):
//     vLLM on H100 and B200, dense, MoE with expert parallelism, FP8, Mamba hybrids,
//     chat and long reasoning outputs; median ITL, GPU energy per output token, mean
//     GPU power and output throughput;
//   - TensorRT-LLM's maximum offline throughput (data/calibration/
//     trtllm_perf_overview.csv, 60 rows): FP8 on H100 and H200, output tokens per s.
// A row becomes a scenario by overrides of a template (scenarios/calibration/),
// and is predicted with the catalog's fitted figures or with those of a
// cross-validation fold (fitted without the row's model, see serving_fits.hpp).

#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "sim/accounting/records.hpp"
#include "sim/accounting/reply_record.hpp"
#include "sim/scenario/catalog.hpp"
#include "sim/scenario/overrides.hpp"
#include "sim/validation/calibration.hpp"
#include "sim/scenario/serving_fits.hpp"

namespace convsim {

inline constexpr const char* kMlenergyFile = "mlenergy_v3.csv";
// How many requests each of its rows' benchmarks sent (tools/extract_mlenergy_requests.py).
inline constexpr const char* kMlenergyRequestsFile = "mlenergy_v3_requests.csv";
inline constexpr const char* kTrtllmFile = "trtllm_perf_overview.csv";

// What a serving run is judged on, and what the fit reads from it, each measured as
// the benchmark measured it: the median ITL over every token of the run (its client
// collects every request's gaps); energy per token, power, throughput, the decode
// batch and the fit's features over the steady window (see steady_window; the whole
// run for an offline run, all at once).
struct ServingOutcomeMetrics {
  double median_itl_s = 0;
  // The tail of the same gaps (the long ones follow steps that carry prefill work).
  double p90_itl_s = 0;
  double p99_itl_s = 0;
  double energy_per_token_j = 0;  // metered GPU energy per output token
  double power_w = 0;             // metered GPU energy over the span, all GPUs
  double output_tokens_per_s = 0;
  // Features for tools/fit_serving.py, over the window, summed over every GPU.
  double span_s = 0;  // the window's
  double output_tokens = 0;
  double decode_sequences_mean = 0;  // sequences per decode-carrying iteration, steady window
  WorkTotals work;
  double gpu_idle_s = 0;
};
static_assert(std::is_trivially_copyable_v<ServingOutcomeMetrics>, "validate passes it between processes as bytes");

// Stretches whose HBM and FLOP rates agree to within this factor are merged.
inline constexpr double kSegmentRateStep = 1.01;

struct ServingRow {
  std::string source;  // "mlenergy" or "trtllm"
  int line = 0;        // in its file
  std::string model;   // the file's name for it
  std::string preset;  // the catalog model
  std::string family;  // dense, moe or hybrid
  std::string quantized_parts;  // the checkpoint's quantised parts (a YAML list), empty: the default
  std::string gpu;     // the catalog GPU
  std::string precision;  // bf16 or fp8
  std::string task;       // lm-arena-chat, gpqa, or "isl/osl" for TensorRT-LLM
  int num_gpus = 1, tp = 1, ep = 1;
  int batch = 0;          // max_num_seqs (ML.ENERGY) or the engine default (TensorRT-LLM)
  long requests = 0;       // sent in all (ML.ENERGY: its prompts times the sweep's repeats)
  long unique_prompts = 0; // the benchmark's prompt set (ML.ENERGY), sent over and over
  double input_tokens = 0, output_tokens = 0, output_cv = 0;  // means and spread
  ServingOutcomeMetrics measured;  // the file's figures (throughput only, for TensorRT-LLM)
  // Non-empty when the measurement shows a stall outside the GPU (see
  // flag_host_stalls): reported apart, and left out of the fit.
  std::string stall;

  std::string label() const;  // "Qwen3-8B H100 tp1 ep1 bf16 lm-arena-chat batch 64"
};

// The rows of both files. Throws CalibrationDataError (file:line) on a model or GPU
// the mapping does not know, a malformed cell, or an ML.ENERGY row whose request
// count kMlenergyRequestsFile does not give.
std::vector<ServingRow> mlenergy_rows(const std::string& data_dir);
std::vector<ServingRow> trtllm_rows(const std::string& data_dir);

// Marks the measured deployments whose time is set by something outside the GPUs.
// A row is slow when it is more than 25% slower (median ITL) than the same model,
// task and batch limit measured on GPUs with no more HBM bandwidth and no more dense
// BF16 FLOP/s in total: more of both cannot make a step slower, so the excess is
// host-side (the GPUs wait). A deployment (model, task, GPU, tp, ep) is marked, all
// its rows, when at least two of its rows are slow and they are at least half of
// those with a comparison: the stall belongs to how that deployment ran, while one
// slow row alone may be a bad measurement of that row. In mlenergy_v3.csv this marks the single-GPU B200 GPQA runs (their
// ITL 2-4x the H100's at equal batch, at near-idle power).
void flag_host_stalls(std::vector<ServingRow>& rows, const Catalog& catalog);

// The median inter-token gap over the mean gap that the run's own throughput implies
// (batch / output throughput): median_itl_s * output_tokens_per_s / batch. A steady
// decode that streams one token per chunk gives 1; pauses that lengthen some gaps
// (prefills, preemptions) push it below 1, and tokens delivered several to a chunk
// (a client or server that falls behind) push it above 1, where the median gap is
// no longer a step time. 0 when the batch or throughput is unknown.
double itl_to_mean_gap_ratio(double median_itl_s, double output_tokens_per_s, double batch);

// The cross-validation fold a row belongs to: its model preset, except that both
// Llama-3.x-70B checkpoints (one architecture) form one fold, llama-3.1-70b.
std::string fold_of(const ServingRow& row);

// The template scenario and the overrides that make it the row's configuration.
std::string row_scenario_path(const ServingRow& row);
std::vector<Override> row_overrides(const ServingRow& row);

// The steady state of a closed-loop run of `requests` requests, `concurrency` at a
// time, as the ML.ENERGY benchmark defines it (RequestTracker in
// mlenergy/benchmark/llm/benchmark.py): from the moment `concurrency` replies have
// their first token (the batch is full) to the moment requests - concurrency - 1
// have finished (before the batch drains). With few requests per client the window
// is the first cohort's life: contexts are younger, and more of them fit in the KV
// cache, than in a long run's steady state. Empty (end <= start) when the run is too
// short to have one.
struct SteadyWindow {
  double start_s = 0;
  double end_s = 0;
};
SteadyWindow steady_window(const std::vector<ReplyRecord>& replies, int concurrency, long requests);

// Loads the row's scenario, puts `fit` into it when given (the cross-validation
// fold's figures), simulates it and returns its metrics. REQUIRES: no simulation
// has run in this process (a SimGrid limit). Throws ConfigError. `segments`, when
// given, receives the kernels' stretches inside the window, merged where their work
// rates agree within kSegmentRateStep: a fit of the power coefficients clips each at
// the board limit, as the prediction did.
ServingOutcomeMetrics simulate_row(const ServingRow& row, const Catalog& catalog, const FittedFigures* fit,
                                   std::vector<PowerSegment>* segments = nullptr);

}  // namespace convsim
