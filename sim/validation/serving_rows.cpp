#include "sim/validation/serving_rows.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "sim/accounting/energy.hpp"
#include "sim/engine/simulation.hpp"
#include "sim/scenario/loader.hpp"

namespace convsim {
namespace {

struct KnownModel {
  const char* name;    // as the measurement file writes it
  const char* preset;  // catalog model
  const char* family;
};

// Both Llama-3.x-70B checkpoints share one architecture: they form one
// cross-validation fold (ServingRow::preset of the 3.3 rows is llama-3.3-70b, its
// fold is llama-3.1-70b's, see fold_of).
constexpr KnownModel kModels[] = {
    {"meta-llama/Llama-3.1-8B-Instruct", "llama-3.1-8b", "dense"},
    {"meta-llama/Llama-3.1-70B-Instruct", "llama-3.1-70b", "dense"},
    {"meta-llama/Llama-3.3-70B-Instruct", "llama-3.3-70b", "dense"},
    {"meta-llama/Llama-3.1-405B-Instruct", "llama-3.1-405b", "dense"},
    {"Qwen/Qwen3-8B", "qwen3-8b", "dense"},
    {"Qwen/Qwen3-14B", "qwen3-14b", "dense"},
    {"Qwen/Qwen3-32B", "qwen3-32b", "dense"},
    {"google/gemma-3-12b-it", "gemma-3-12b", "dense"},
    {"Qwen/Qwen3-235B-A22B-Instruct-2507", "qwen3-235b-a22b", "moe"},
    {"Qwen/Qwen3-235B-A22B-Thinking-2507", "qwen3-235b-a22b", "moe"},
    {"meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8", "llama-4-maverick", "moe"},
    {"nvidia/NVIDIA-Nemotron-Nano-12B-v2", "nemotron-nano-12b-v2", "hybrid"},
    {"Llama 3.1 8B", "llama-3.1-8b", "dense"},
    {"Llama 3.3 70B", "llama-3.3-70b", "dense"},
    {"Llama 3.1 405B", "llama-3.1-405b", "dense"},
};

const KnownModel& known_model(const CsvRow& row, const std::string& name) {
  for (const KnownModel& m : kModels) {
    if (name == m.name) return m;
  }
  throw CalibrationDataError(fmt::format("{}:{}: column 'model': no catalog preset is mapped to '{}'", row.path(),
                                         row.line(), name));
}

std::string gpu_preset(const CsvRow& row) {
  const std::string& gpu = row.text("gpu");
  if (gpu == "H100") return "h100-sxm";
  if (gpu == "H200") return "h200";
  if (gpu == "B200") return "b200";
  throw CalibrationDataError(
      fmt::format("{}:{}: column 'gpu': '{}' is not one of H100, H200, B200", row.path(), row.line(), gpu));
}

int whole(const CsvRow& row, const char* column) { return static_cast<int>(std::lround(row.number(column))); }

std::string join_path(const std::string& dir, const std::string& file) { return dir + "/" + file; }

// Prompt lengths of GPQA: not published; a question with its four choices is a few
// hundred tokens (GPQA, Rein et al., arXiv:2311.12022: questions average about 130
// words, choices about 15 each, plus the benchmark's instruction).
constexpr double kGpqaPromptMedianTokens = 300;
constexpr double kGpqaPromptSigma = 0.3;
constexpr double kChatPromptMedianTokens = 200;  // tools/fit_workload.py
constexpr double kChatPromptSigma = 0.7;
// Requests per client: enough for a steady state of every batch, bounded so that
// long reasoning outputs (GPQA: 7,000-9,000 tokens) do not make a run long.
constexpr double kOutputTokensPerClient = 8000;
// A step more than this much slower than on weaker GPUs is not the GPUs' doing (the
// validation's own accuracy band, so that a fair prediction error never marks a row).
constexpr double kStallSlowdown = 1.25;

}  // namespace

std::string ServingRow::label() const {
  return fmt::format("{} {} tp{} ep{} {} {} batch {}", preset, gpu, tp, ep, precision, task, batch);
}

std::vector<ServingRow> mlenergy_rows(const std::string& data_dir) {
  std::vector<ServingRow> rows;
  for (const CsvRow& row : read_csv(join_path(data_dir, kMlenergyFile))) {
    const KnownModel& m = known_model(row, row.text("model"));
    ServingRow r;
    r.source = "mlenergy";
    r.line = row.line();
    r.model = row.text("model");
    r.preset = m.preset;
    r.family = m.family;
    r.gpu = gpu_preset(row);
    r.precision = row.text("weight_precision") == "fp8" ? "fp8" : "bf16";
    r.task = row.text("task");
    r.num_gpus = whole(row, "num_gpus");
    r.ep = whole(row, "ep");
    // The benchmark serves every GPU of the row as one tensor-parallel group, experts
    // spread over the same GPUs with --enable-expert-parallel (its launcher passes
    // --tensor-parallel-size num_gpus unless the model's config names data
    // parallelism, which none of these do: ml-energy/benchmark,
    // mlenergy/benchmark/llm/benchmark.py and configs/vllm/*/*/*/monolithic.config.yaml).
    // The file's tp column says 1 for the expert-parallel rows; the layout is TP = EP.
    r.tp = r.ep > 1 ? r.num_gpus : whole(row, "tp");
    r.measured.decode_sequences_mean = row.number("avg_batch_size");
    r.batch = whole(row, "max_num_seqs");
    r.input_tokens = r.task == "gpqa" ? kGpqaPromptMedianTokens : kChatPromptMedianTokens;
    r.output_tokens = row.number("avg_output_len");
    r.output_cv = row.number("output_len_cv");
    const double per_client = std::clamp(std::round(kOutputTokensPerClient / r.output_tokens), 3.0, 20.0);
    r.requests = static_cast<long>(per_client) * r.batch;
    r.measured.median_itl_s = row.number("median_itl_ms") * 1e-3;
    r.measured.energy_per_token_j = row.number("energy_per_token_j");
    r.measured.power_w = row.number("avg_power_w");
    r.measured.output_tokens_per_s = row.number("output_tok_per_s");
    rows.push_back(std::move(r));
  }
  return rows;
}

std::vector<ServingRow> trtllm_rows(const std::string& data_dir) {
  std::vector<ServingRow> rows;
  for (const CsvRow& row : read_csv(join_path(data_dir, kTrtllmFile))) {
    const KnownModel& m = known_model(row, row.text("model"));
    ServingRow r;
    r.source = "trtllm";
    r.line = row.line();
    r.model = row.text("model");
    r.preset = m.preset;
    r.family = m.family;
    r.gpu = gpu_preset(row);
    r.precision = row.text("precision");
    r.tp = whole(row, "tp");
    r.num_gpus = r.tp;
    r.input_tokens = row.number("isl");
    r.output_tokens = row.number("osl");
    r.task = fmt::format("{:.0f}/{:.0f}", r.input_tokens, r.output_tokens);
    r.requests = whole(row, "num_requests");
    r.measured.output_tokens_per_s = row.number("output_tok_per_s");
    rows.push_back(std::move(r));
  }
  return rows;
}

void flag_host_stalls(std::vector<ServingRow>& rows, const Catalog& catalog) {
  auto totals = [&](const ServingRow& r) {
    const GpuSpec& gpu = catalog.gpus.at(r.gpu);
    return std::make_pair(r.num_gpus * gpu.hbm_bytes_per_s, r.num_gpus * gpu.peak_for(Precision::bf16));
  };
  auto deployment = [](const ServingRow& r) { return fmt::format("{} {} {} tp{} ep{}", r.model, r.task, r.gpu, r.tp, r.ep); };
  struct Evidence {
    int compared = 0;  // rows of the deployment with a weaker deployment at the same batch
    int slower = 0;    // of which this many were more than kStallSlowdown slower
    std::string example;
  };
  std::map<std::string, Evidence> evidence;  // by deployment
  for (const ServingRow& r : rows) {
    if (r.source != "mlenergy") continue;
    const auto [bytes_per_s, flops_per_s] = totals(r);
    bool compared = false, slower = false;
    for (const ServingRow& weaker : rows) {
      if (&weaker == &r || weaker.source != "mlenergy" || weaker.model != r.model || weaker.task != r.task ||
          weaker.batch != r.batch) {
        continue;
      }
      const auto [w_bytes_per_s, w_flops_per_s] = totals(weaker);
      if (w_bytes_per_s > bytes_per_s || w_flops_per_s > flops_per_s) continue;
      compared = true;
      if (slower || r.measured.median_itl_s <= kStallSlowdown * weaker.measured.median_itl_s) continue;
      slower = true;
      Evidence& e = evidence[deployment(r)];
      if (e.example.empty()) {
        e.example = fmt::format("batch {} measured {:.1f} ms on {} x{} against {:.1f} ms on {} x{}, line {}", r.batch,
                                1e3 * r.measured.median_itl_s, r.gpu, r.num_gpus, 1e3 * weaker.measured.median_itl_s,
                                weaker.gpu, weaker.num_gpus, weaker.line);
      }
    }
    Evidence& e = evidence[deployment(r)];
    e.compared += compared ? 1 : 0;
    e.slower += slower ? 1 : 0;
  }
  // One slow row can be a bad measurement of that row; a stall of the deployment
  // shows at most of the batches that can be compared, and at two at least.
  std::map<std::string, std::string> stalled;
  for (const auto& [name, e] : evidence) {
    if (e.slower >= 2 && 2 * e.slower >= e.compared) {
      stalled[name] = fmt::format("host stall at {} of {} comparable batches, e.g. {}", e.slower, e.compared, e.example);
    }
  }
  for (ServingRow& r : rows) {
    const auto it = stalled.find(deployment(r));
    if (it != stalled.end()) r.stall = it->second;
  }
}

std::string fold_of(const ServingRow& row) { return row.preset == "llama-3.3-70b" ? "llama-3.1-70b" : row.preset; }

std::string row_scenario_path(const ServingRow& row) {
  return join_path(calibration_scenario_dir(), row.source == "trtllm" ? "trtllm-perf.yaml" : "mlenergy-v3.yaml");
}

std::vector<Override> row_overrides(const ServingRow& row) {
  std::vector<Override> o = {
      {"model.preset", row.preset},
      {"model.weights", row.precision},
      {"cluster.gpu", row.gpu},
      {"cluster.gpus_per_node", std::to_string(row.num_gpus)},
      {"parallelism.tp", std::to_string(row.tp)},
      {"requests.count", std::to_string(row.requests)},
  };
  if (row.ep > 1) o.push_back({"parallelism.ep", std::to_string(row.ep)});
  // The hybrid's Mamba states in FP32, as the benchmark served it
  // (mamba-ssm-cache-dtype: float32 in its Nemotron-Nano-12B-v2 configs).
  if (row.family == "hybrid") o.push_back({"model.ssm_state", "fp32"});
  if (row.source == "trtllm") {
    o.push_back({"model.kv_cache", row.precision});  // FP8 KV cache with the FP8 checkpoints
    o.push_back({"requests.input_tokens", fmt::format("{{fixed: {:.0f}}}", row.input_tokens)});
    o.push_back({"requests.output_tokens", fmt::format("{{fixed: {:.0f}}}", row.output_tokens)});
    return o;
  }
  // Lognormal with the row's mean and coefficient of variation:
  // sigma^2 = ln(1 + cv^2), median = mean / exp(sigma^2 / 2).
  const double sigma = std::sqrt(std::log1p(row.output_cv * row.output_cv));
  const double median = row.output_tokens / std::exp(sigma * sigma / 2);
  const bool gpqa = row.task == "gpqa";
  o.push_back({"requests.output_tokens", fmt::format("{{median: {:.1f}, sigma: {:.4f}}}", median, sigma)});
  o.push_back({"requests.input_tokens", fmt::format("{{median: {:.0f}, sigma: {}}}", row.input_tokens,
                                                    gpqa ? kGpqaPromptSigma : kChatPromptSigma)});
  o.push_back({"serving.max_batch_seqs", std::to_string(row.batch)});
  o.push_back({"requests.arrival.concurrency", std::to_string(row.batch)});
  return o;
}

SteadyWindow steady_window(const std::vector<ReplyRecord>& replies, int concurrency) {
  SteadyWindow w;
  std::vector<double> first_tokens;
  for (const ReplyRecord& r : replies) {
    first_tokens.push_back(r.start_s + r.ttft_s);
    w.end_s = std::max(w.end_s, r.start_s);
  }
  if (first_tokens.empty()) return w;
  std::sort(first_tokens.begin(), first_tokens.end());
  const std::size_t full = std::min(first_tokens.size(), static_cast<std::size_t>(std::max(1, concurrency))) - 1;
  w.start_s = first_tokens[full];
  return w;
}

ServingOutcomeMetrics simulate_row(const ServingRow& row, const Catalog& catalog, const FittedFigures* fit) {
  Scenario scenario = load_scenario(row_scenario_path(row), row_overrides(row), catalog);
  if (fit != nullptr) apply_fit(scenario, *fit);
  RunOptions options;
  options.log_decode_iterations = true;
  const RunResult result = simulate(scenario, options);
  ServingOutcomeMetrics m;
  std::vector<ReplyRecord> replies;
  for (const ReplyRecord& reply : result.replies) {
    m.output_tokens += static_cast<double>(reply.output_tokens);
    replies.push_back(reply);
  }
  const double gpu_j = metered_gpu_energy_j(result);
  m.span_s = result.end_s;
  m.median_itl_s = result.inter_token_s.percentiles().p50;
  m.energy_per_token_j = gpu_j / m.output_tokens;
  m.power_w = gpu_j / result.end_s;
  m.run_power_w = m.power_w;
  m.output_tokens_per_s = m.output_tokens / result.end_s;
  // Steady state, as the measurements are: between the batch filling up and the
  // last request's arrival, each reply's tokens and energy counted for the part of
  // its generation inside the window (spread evenly over it).
  const SteadyWindow w = steady_window(replies, scenario.requests ? scenario.requests->concurrency : 1);
  if (w.end_s > w.start_s) {
    double tokens = 0, energy_j = 0;
    for (const ReplyRecord& r : replies) {
      const double from = r.start_s + r.ttft_s, to = r.start_s + r.e2e_s;
      const double inside = std::max(0.0, std::min(to, w.end_s) - std::max(from, w.start_s));
      const double fraction = to > from ? inside / (to - from) : (from >= w.start_s && from <= w.end_s ? 1.0 : 0.0);
      tokens += fraction * static_cast<double>(r.output_tokens);
      energy_j += fraction * r.energy_j;
    }
    if (tokens > 0) {
      m.energy_per_token_j = energy_j / tokens;
      m.power_w = energy_j / (w.end_s - w.start_s);
      m.output_tokens_per_s = tokens / (w.end_s - w.start_s);
    }
    // The median gap between tokens of the iterations inside the window (each
    // decode token one sample of its iteration's span): the ramp and the drain run
    // smaller batches, whose shorter steps would pull a whole-run median down.
    LogHistogram steady_itl;
    double steady_tokens = 0, steady_iterations = 0;
    for (const RunResult::DecodeIteration& it : result.decode_iteration_log) {
      if (it.start_s < w.start_s || it.start_s + it.span_s > w.end_s) continue;
      steady_itl.add(it.span_s, it.decode_tokens);
      steady_tokens += static_cast<double>(it.decode_tokens);
      steady_iterations += 1;
    }
    if (steady_iterations > 0) {
      m.median_itl_s = steady_itl.percentiles().p50;
      m.decode_sequences_mean = steady_tokens / steady_iterations;
    }
  }
  if (m.decode_sequences_mean == 0 && result.decode_iterations > 0) {
    m.decode_sequences_mean = result.decode_tokens.value() / static_cast<double>(result.decode_iterations);
  }
  for (const GpuMeter& g : result.gpus) {
    m.gpu_compute_s += g.compute_s;
    m.gpu_comm_s += g.comm_s;
    m.gpu_host_s += g.host_s;
    m.gpu_idle_s += result.end_s - g.active_time_s;
    m.hbm_bytes += g.hbm_bytes;
    m.bf16_flops += g.bf16_flops;
    m.fp8_flops += g.fp8_flops;
  }
  return m;
}

}  // namespace convsim
