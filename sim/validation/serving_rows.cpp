#include "sim/validation/serving_rows.hpp"

#include <algorithm>
#include <array>
#include <limits>
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
  // The parts the checkpoint stores in its weight precision, as a quantized_parts
  // list; empty: the default (every part but the embeddings).
  const char* quantized_parts = "";
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
    // Meta's FP8 release (fp8_mixed in meta-llama/llama-models models/llama4/scripts/
    // quantize.py): rowwise FP8 for the routed experts only; attention, the shared
    // expert, the dense MLPs, the router and the embeddings stay BF16. (It also keeps
    // the first and last layers' experts in BF16: 1 of Maverick's 24 MoE layers, not
    // expressible per layer here.)
    {"meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8", "llama-4-maverick", "moe", "[experts]"},
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
constexpr double kChatPromptMedianTokens = 384;  // tools/fit_workload.py
constexpr double kChatPromptSigma = 0.7;
// A step more than this much slower than on weaker GPUs is not the GPUs' doing (the
// validation's own accuracy band, so that a fair prediction error never marks a row).
constexpr double kStallSlowdown = 1.25;

// What each benchmark sent, by row ("model|task|gpu|num_gpus|max_num_seqs"): its
// prompts, and how many requests in all (the prompts times the repeats).
std::map<std::string, std::pair<long, long>> benchmark_requests(const std::string& data_dir) {
  std::map<std::string, std::pair<long, long>> sent;
  for (const CsvRow& row : read_csv(join_path(data_dir, kMlenergyRequestsFile))) {
    const long prompts = std::lround(row.number("num_requests"));
    const long repeats = std::lround(row.number("num_request_repeats"));
    if (prompts < 1 || repeats < 1) {
      throw CalibrationDataError(fmt::format("{}:{}: num_requests and num_request_repeats must be at least 1",
                                             row.path(), row.line()));
    }
    sent[fmt::format("{}|{}|{}|{}|{}", row.text("model"), row.text("task"), row.text("gpu"),
                     whole(row, "num_gpus"), whole(row, "max_num_seqs"))] = {prompts, prompts * repeats};
  }
  return sent;
}

}  // namespace

std::string ServingRow::label() const {
  return fmt::format("{} {} tp{} ep{} {} {} batch {}", preset, gpu, tp, ep, precision, task, batch);
}

std::vector<ServingRow> mlenergy_rows(const std::string& data_dir) {
  std::vector<ServingRow> rows;
  const std::map<std::string, std::pair<long, long>> sent = benchmark_requests(data_dir);
  for (const CsvRow& row : read_csv(join_path(data_dir, kMlenergyFile))) {
    const KnownModel& m = known_model(row, row.text("model"));
    ServingRow r;
    r.source = "mlenergy";
    r.line = row.line();
    r.model = row.text("model");
    r.preset = m.preset;
    r.family = m.family;
    r.quantized_parts = m.quantized_parts;
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
    // As many requests as the benchmark sent: its window (steady_window) depends on it.
    const auto requests = sent.find(fmt::format("{}|{}|{}|{}|{}", r.model, r.task, row.text("gpu"), r.num_gpus, r.batch));
    if (requests == sent.end()) {
      throw CalibrationDataError(fmt::format("{}:{}: {} does not say how many requests this row's benchmark sent",
                                             row.path(), row.line(), kMlenergyRequestsFile));
    }
    r.unique_prompts = requests->second.first;
    r.requests = requests->second.second;
    r.measured.median_itl_s = row.number("median_itl_ms") * 1e-3;
    r.measured.p90_itl_s = row.number("p90_itl_ms") * 1e-3;
    r.measured.p99_itl_s = row.number("p99_itl_ms") * 1e-3;
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
    r.quantized_parts = m.quantized_parts;
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

double itl_to_mean_gap_ratio(double median_itl_s, double output_tokens_per_s, double batch) {
  if (batch <= 0 || output_tokens_per_s <= 0) return 0;
  return median_itl_s * output_tokens_per_s / batch;
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
  if (!row.quantized_parts.empty()) o.push_back({"model.quantized_parts", row.quantized_parts});
  if (row.unique_prompts > 0) {
    // The benchmark's prompt list, repeated, on vLLM's automatic prefix caching (on
    // by default in its V1 engine): copies of a prompt running together hold its
    // blocks once, and a copy admitted while they are cached skips their prefill.
    o.push_back({"requests.unique_prompts", std::to_string(row.unique_prompts)});
    o.push_back({"serving.prefix_caching", "true"});
  }
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

SteadyWindow steady_window(const std::vector<ReplyRecord>& replies, int concurrency, long requests) {
  SteadyWindow w;
  const long finished_at_end = requests - std::max(1, concurrency) - 1;
  if (replies.empty() || finished_at_end < 1) return w;
  std::vector<double> first_tokens, ends;
  for (const ReplyRecord& r : replies) {
    first_tokens.push_back(r.start_s + r.ttft_s);
    ends.push_back(r.start_s + r.e2e_s);
  }
  std::sort(first_tokens.begin(), first_tokens.end());
  std::sort(ends.begin(), ends.end());
  const std::size_t full = std::min(first_tokens.size(), static_cast<std::size_t>(std::max(1, concurrency))) - 1;
  w.start_s = first_tokens[full];
  w.end_s = ends[std::min(ends.size(), static_cast<std::size_t>(finished_at_end)) - 1];
  return w;
}

namespace {

// A segment's work rates in steps of kSegmentRateStep (INT_MIN for none).
using SegmentRates = std::array<int, 4>;

void add_segment(std::map<SegmentRates, PowerSegment>& segments, const PowerSegment& seg, double weight) {
  if (seg.gpu_s <= 0 || weight <= 0) return;
  auto step = [&](double work) {
    const double rate = work / seg.gpu_s;
    return rate > 0 ? static_cast<int>(std::lround(std::log(rate) / std::log(kSegmentRateStep)))
                    : std::numeric_limits<int>::min();
  };
  segments[{step(seg.hbm_bytes), step(seg.bf16_flops), step(seg.fp8_flops), step(seg.fp4_flops)}].add(seg, weight);
}

}  // namespace

ServingOutcomeMetrics simulate_row(const ServingRow& row, const Catalog& catalog, const FittedFigures* fit,
                                   std::vector<PowerSegment>* segments_out) {
  Scenario scenario = load_scenario(row_scenario_path(row), row_overrides(row), catalog);
  if (fit != nullptr) apply_fit(scenario, *fit);
  RunOptions options;
  options.log_iterations = true;
  const RunResult result = simulate(scenario, options);
  ServingOutcomeMetrics m;
  std::vector<ReplyRecord> replies;
  for (const ReplyRecord& reply : result.replies) replies.push_back(reply);
  const Percentiles gaps = result.inter_token_s.percentiles();  // every token's, as the benchmark's client
  m.median_itl_s = gaps.p50;
  m.p90_itl_s = gaps.p90;
  m.p99_itl_s = gaps.p99;
  if (result.decode_iterations > 0) {
    m.decode_sequences_mean = result.decode_tokens.value() / static_cast<double>(result.decode_iterations);
  }
  // The steady state of a closed loop, as the benchmark measured it; an offline run
  // (all at once) is measured whole.
  const bool closed_loop = scenario.requests && scenario.requests->arrival == RequestStreamSpec::Arrival::concurrency;
  SteadyWindow w{0, result.end_s};
  if (closed_loop) {
    const SteadyWindow steady = steady_window(replies, scenario.requests->concurrency, scenario.requests->count);
    if (steady.end_s > steady.start_s) w = steady;
  }
  // Everything inside the window: each iteration's tokens, energy and activity in
  // proportion to its overlap, the first tokens the prefills yield there (the
  // benchmark counts the tokens its client receives between the two moments), and
  // the GPUs' idle time at their idle power.
  double active_j = 0, active_s = 0, steady_decode_tokens = 0, steady_iterations = 0;
  std::map<SegmentRates, PowerSegment> segments;
  for (const ReplyRecord& r : replies) {
    const double first_s = r.start_s + r.ttft_s;
    if (first_s >= w.start_s && first_s <= w.end_s) m.output_tokens += 1;
  }
  for (const RunResult::IterationRecord& it : result.iteration_log) {
    const double end_s = it.start_s + it.span_s;
    const double inside_s = std::min(end_s, w.end_s) - std::max(it.start_s, w.start_s);
    if (inside_s <= 0 || it.span_s <= 0) continue;
    const double f = inside_s / it.span_s;
    m.output_tokens += f * static_cast<double>(it.decode_tokens);
    active_j += f * it.active_energy_j;
    active_s += f * it.active_s;
    m.work.add(it.work, f);
    for (const PowerSegment& seg : it.segments) add_segment(segments, seg, f);
    // The decode batch of the iterations inside (the benchmark averages vLLM's
    // running-request gauge over its window).
    if (it.decode_tokens > 0 && f >= 1.0) {
      steady_decode_tokens += static_cast<double>(it.decode_tokens);
      steady_iterations += 1;
    }
  }
  if (segments_out != nullptr) {
    segments_out->clear();
    for (const auto& [rates, seg] : segments) segments_out->push_back(seg);
  }
  m.span_s = w.end_s - w.start_s;
  const double gpus = static_cast<double>(result.gpus.size());
  const double idle_w = result.gpus.empty() ? 0.0 : result.gpus.front().idle_power_w;
  m.gpu_idle_s = std::max(0.0, gpus * m.span_s - active_s);
  const double energy_j = active_j + idle_w * m.gpu_idle_s;
  if (m.output_tokens > 0 && m.span_s > 0) {
    m.energy_per_token_j = energy_j / m.output_tokens;
    m.power_w = energy_j / m.span_s;
    m.output_tokens_per_s = m.output_tokens / m.span_s;
  }
  if (steady_iterations > 0) m.decode_sequences_mean = steady_decode_tokens / steady_iterations;
  return m;
}

}  // namespace convsim
