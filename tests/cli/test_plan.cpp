// convsim plan through the binary on a small space: what it prunes, its frontier,
// its shards, and a percentile breakpoint. Each simulation runs in its own process.

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "models/architecture.hpp"
#include "tests/support/cli_run.hpp"
#include "tests/support/csv_records.hpp"
#include "tests/support/scenario_fixture.hpp"

namespace fs = std::filesystem;
using convsim::test::read_file;

namespace {

// Llama-3.1-70B serving a short request stream; the plan tries two GPUs, four TP
// degrees and two batch limits on one node of 8, replicas filling the node. A KV
// reserve of 200,000 tokens (65 GB for this model) makes memory decide. Both GPUs
// have a price per GPU-hour, for the dollar frontier.
const char* kPlanScenario = R"(
name: plan-test
seed: 2
requests: {count: 60, input_tokens: {median: 600, sigma: 0.5}, output_tokens: {fixed: 40}, arrival: {rate_per_s: 4}}
model: {preset: llama-3.1-70b}
cluster: {gpu: h100-sxm, nodes: 1, gpus_per_node: 8}
parallelism: {tp: 8}
serving: {max_batch_seqs: 32, prefill_chunk_tokens: 4096}
slo: {ttft_p99_s: 2.0, tpot_p99_s: 0.1}
plan:
  gpus: [h100-sxm, h200]
  tp: [1, 2, 4, 8]
  pp: [1]
  max_batch_seqs: [8, 32]
  kv_reserve_tokens: 200000
  gpu_hour_usd: {h100-sxm: 2.5, h200: 3.5}
)";

struct Workspace {
  fs::path dir;
  fs::path scenario;
  explicit Workspace(const std::string& name)
      : dir(fs::temp_directory_path() / fmt::format("convsim-{}-{}", name, ::getpid())), scenario(dir / "s.yaml") {
    fs::remove_all(dir);
    fs::create_directories(dir);
    std::ofstream(scenario) << kPlanScenario;
  }
  ~Workspace() { fs::remove_all(dir); }
  std::string path(const std::string& relative) const { return (dir / relative).string(); }
};

int run_convsim(const std::string& args, const fs::path& log) {
  const std::string command = fmt::format("{} {} > '{}' 2>&1", CONVSIM_BINARY, args, log.string());
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_CASE("plan prunes exactly the candidates the memory formula rejects, and its frontier is the brute-force one") {
  const Workspace w("plan");
  REQUIRE(run_convsim(fmt::format("plan '{}' -o '{}' --jobs 2", w.scenario.string(), w.path("out")), w.path("log")) ==
          0);
  const auto rows = convsim::test::csv_file_records(w.dir / "out" / "plan.csv");
  REQUIRE(rows.size() == 2 * 4 * 2);

  // Memory of the busiest GPU, as a lower bound: its share of the weights (BF16,
  // 2 bytes a parameter, split over tp), of one 200,000-token sequence's KV cache
  // (2 (K, V) * layers * kv_heads * head_dim * 2 bytes a token, split over tp), and
  // the 2 GB workspace; it fits in the GPU's HBM or the candidate is pruned.
  const convsim::ModelSpec& llama = convsim::test::catalog().models.at("llama-3.1-70b");
  const double weight_bytes = convsim::total_params(llama) * 2.0;
  const double kv_bytes = 2.0 * llama.layers * llama.kv_heads * llama.head_dim * 2.0 * 200'000;
  const std::map<std::string, double> hbm_bytes = {{"h100-sxm", 80e9}, {"h200", 141e9}};
  const std::map<std::string, double> hbm_bytes_per_s = {{"h100-sxm", 3.35e12}, {"h200", 4.8e12}};
  int pruned = 0;
  for (const auto& row : rows) {
    INFO(row.at("candidate"));
    const double tp = std::stod(row.at("tp"));
    const double need = weight_bytes / tp + kv_bytes / tp + 2e9;
    const bool rejected = need > hbm_bytes.at(row.at("gpu"));
    CHECK((row.at("status") == "pruned") == rejected);
    if (rejected) CHECK(row.at("reason").rfind("memory:", 0) == 0);
    pruned += rejected ? 1 : 0;
    CHECK(std::stoi(row.at("dp")) == 8 / static_cast<int>(tp));  // replicas fill the node
    if (row.at("status") != "evaluated") continue;
    // The roofline floor (every weight read once per token over tp GPUs) is below
    // what the simulation measured.
    const double floor_s = weight_bytes / (tp * hbm_bytes_per_s.at(row.at("gpu")));
    CHECK(std::stod(row.at("latency_floor_s")) == Approx(floor_s).epsilon(1e-8));
    CHECK(std::stod(row.at("ttft_p99_s")) >= floor_s);
    CHECK(std::stod(row.at("tpot_p99_s")) >= floor_s);
  }
  // H100: TP1 (141 GB of weights) and TP2 (70.6 + 32.8 + 2 GB); H200: TP1.
  CHECK(pruned == 3 * 2);

  // The frontier by brute force over plan.csv: evaluated candidates that served every
  // reply and that no other beats on both TTFT p99 and energy per reply.
  std::vector<std::map<std::string, std::string>> eligible;
  for (const auto& row : rows) {
    if (row.at("status") == "evaluated" && row.at("failed_replies") == "0") eligible.push_back(row);
  }
  REQUIRE(eligible.size() >= 4);
  std::vector<std::string> frontier;
  for (const auto& a : eligible) {
    bool beaten = false;
    for (const auto& b : eligible) {
      const double la = std::stod(a.at("ttft_p99_s")), lb = std::stod(b.at("ttft_p99_s"));
      const double ea = std::stod(a.at("energy_per_reply_j")), eb = std::stod(b.at("energy_per_reply_j"));
      beaten = beaten || (lb <= la && eb <= ea && (lb < la || eb < ea));
    }
    if (!beaten) frontier.push_back(a.at("candidate"));
  }
  std::vector<std::string> pareto;
  for (const auto& row : convsim::test::csv_file_records(w.dir / "out" / "pareto.csv")) pareto.push_back(row.at("candidate"));
  std::sort(frontier.begin(), frontier.end());
  std::sort(pareto.begin(), pareto.end());
  CHECK(pareto == frontier);
  CHECK_FALSE(pareto.empty());

  // Dollars per million output tokens, from each candidate's own summary.json: its
  // GPUs for the simulated time at the GPU's price and its facility energy at the
  // scenario's price per kWh, over the tokens it produced.
  const std::map<std::string, double> usd_per_gpu_hour = {{"h100-sxm", 2.5}, {"h200", 3.5}};
  for (const auto& row : eligible) {
    INFO(row.at("candidate"));
    std::ifstream in(w.dir / "out" / "candidates" / row.at("candidate") / "summary.json");
    const auto summary = nlohmann::json::parse(in);
    const double simulated_s = summary["run"]["simulated_s"].get<double>();
    const double gpus = summary["run"]["gpus"].get<double>();
    CHECK(gpus == std::stod(row.at("gpus")));
    const double energy_usd = summary["energy_j"]["facility"].get<double>() / 3.6e6 *
                              summary["cost_usd"]["usd_per_kwh"].get<double>();
    CHECK(energy_usd > 0);
    const double usd = gpus * simulated_s / 3600.0 * usd_per_gpu_hour.at(row.at("gpu")) + energy_usd;
    const double tokens = summary["output_tokens_per_s"].get<double>() * simulated_s;
    CHECK(std::stod(row.at("usd_per_m_output_tokens")) == Approx(usd / (tokens / 1e6)).epsilon(1e-8));
  }

  // The dollar frontier by brute force: the same, on TTFT p99 and dollars per
  // million output tokens; each of its rows gives energy per reply beside.
  std::vector<std::string> usd_frontier;
  for (const auto& a : eligible) {
    bool beaten = false;
    for (const auto& b : eligible) {
      const double la = std::stod(a.at("ttft_p99_s")), lb = std::stod(b.at("ttft_p99_s"));
      const double ua = std::stod(a.at("usd_per_m_output_tokens")), ub = std::stod(b.at("usd_per_m_output_tokens"));
      beaten = beaten || (lb <= la && ub <= ua && (lb < la || ub < ua));
    }
    if (!beaten) usd_frontier.push_back(a.at("candidate"));
  }
  std::vector<std::string> pareto_usd;
  for (const auto& row : convsim::test::csv_file_records(w.dir / "out" / "pareto_usd.csv")) {
    pareto_usd.push_back(row.at("candidate"));
    const auto same = std::find_if(eligible.begin(), eligible.end(),
                                   [&](const auto& e) { return e.at("candidate") == row.at("candidate"); });
    REQUIRE(same != eligible.end());
    CHECK(row.at("energy_per_reply_j") == same->at("energy_per_reply_j"));
    CHECK(row.at("usd_per_m_output_tokens") == same->at("usd_per_m_output_tokens"));
  }
  std::sort(usd_frontier.begin(), usd_frontier.end());
  std::sort(pareto_usd.begin(), pareto_usd.end());
  CHECK(pareto_usd == usd_frontier);
  CHECK_FALSE(pareto_usd.empty());

  // The top by energy: candidates that met both objectives, the least energy first.
  const auto top = convsim::test::csv_file_records(w.dir / "out" / "top.csv");
  REQUIRE_FALSE(top.empty());
  double least_j = 1e300;
  for (const auto& row : eligible) {
    if (row.at("objectives_met") == "1") least_j = std::min(least_j, std::stod(row.at("energy_per_reply_j")));
  }
  CHECK(std::stod(top.front().at("energy_per_reply_j")) == least_j);

  // A second run resumes: every candidate is already there, none runs again.
  REQUIRE(run_convsim(fmt::format("plan '{}' -o '{}'", w.scenario.string(), w.path("out")), w.path("again.log")) == 0);
  const std::string again = read_file(w.dir / "again.log");
  INFO(again);
  CHECK(again.find("this run evaluates 0 (10 already done)") != std::string::npos);
}

TEST_CASE("plan shards 1/2 and 2/2, merged, and a quiet plan equal the whole plan byte for byte") {
  const Workspace w("plan-shards");
  const std::string s = w.scenario.string();
  const std::string one_batch = "--set plan.max_batch_seqs=[32]";
  REQUIRE(run_convsim(fmt::format("plan '{}' {} -o '{}'", s, one_batch, w.path("all")), w.path("log")) == 0);
  REQUIRE(run_convsim(fmt::format("plan '{}' {} -o '{}' --shard 1/2", s, one_batch, w.path("one")), w.path("log")) == 0);
  REQUIRE(run_convsim(fmt::format("plan '{}' {} -o '{}' --shard 2/2", s, one_batch, w.path("two")), w.path("log")) == 0);
  CHECK_FALSE(fs::exists(w.dir / "one" / "plan.csv"));  // incomplete shards write no table
  REQUIRE(run_convsim(fmt::format("merge '{}' '{}' -o '{}'", w.path("one"), w.path("two"), w.path("merged")),
                      w.path("merge.log")) == 0);
  for (const char* file : {"plan.csv", "pareto.csv", "pareto_usd.csv", "top.csv"}) {
    INFO(file);
    const std::string whole = read_file(w.dir / "all" / file);
    CHECK(whole.size() > 100);
    CHECK(read_file(w.dir / "merged" / file) == whole);
  }
  // -q prints nothing on success and writes the same tables.
  REQUIRE(run_convsim(fmt::format("plan '{}' {} -q -o '{}'", s, one_batch, w.path("quiet")), w.path("quiet.log")) == 0);
  CHECK(convsim::test::without_sanitizer_warnings(read_file(w.dir / "quiet.log")).empty());
  CHECK(read_file(w.dir / "quiet" / "plan.csv") == read_file(w.dir / "all" / "plan.csv"));
  // One shard alone cannot be merged: the other's candidates are missing.
  CHECK(run_convsim(fmt::format("merge '{}' -o '{}'", w.path("one"), w.path("partial")), w.path("partial.log")) == 1);
  CHECK(read_file(w.dir / "partial.log").find("candidates missing") != std::string::npos);
}

TEST_CASE("a resumed plan keeps its finished candidates, and runs again those whose catalog presets changed") {
  const Workspace w("plan-resume");
  const std::string s = w.scenario.string();
  const std::string one_batch = "--set plan.max_batch_seqs=[32]";
  auto evaluated = [&](const std::string& env) {
    REQUIRE(convsim::test::shell(fmt::format("{}{} plan '{}' {} -o '{}' > '{}' 2>&1", env, CONVSIM_BINARY, s, one_batch, w.path("p"),
                              w.path("log"))) == 0);
    const std::string log = read_file(w.dir / "log");
    INFO(log);
    const auto at = log.find("this run evaluates ");
    REQUIRE(at != std::string::npos);
    return log.substr(at, log.find(')', at) - at + 1);
  };
  // "this run evaluates N (M already done)" -> {N, M}
  auto counts = [](const std::string& text) {
    long n = -1, m = -1;
    std::sscanf(text.c_str(), "this run evaluates %ld (%ld already done)", &n, &m);
    return std::make_pair(n, m);
  };
  const auto first = counts(evaluated(""));
  REQUIRE(first.first > 0);
  CHECK(first.second == 0);
  const std::string table = read_file(w.dir / "p" / "plan.csv");
  // Again: every candidate is kept.
  CHECK(counts(evaluated("")) == std::make_pair(0L, first.first));
  // With the H100's idle power changed in a copy of the catalog: the candidates on
  // an H100 run again, those on an H200 (whose presets did not change) are kept,
  // and the table changes.
  const fs::path changed =
      convsim::test::catalog_copy_with(w.dir, "gpus/h100-sxm.yaml", "power_idle_w: 100", "power_idle_w: 110");
  const auto after = counts(evaluated(fmt::format("CONVSIM_CATALOG='{}' ", changed.string())));
  CHECK(after.first > 0);
  CHECK(after.second > 0);
  CHECK(after.first + after.second == first.first);
  CHECK(read_file(w.dir / "p" / "plan.csv") != table);
}

TEST_CASE("a plan whose every candidate is pruned says so and why for the nearest three") {
  // TPOT p99 < 1 ms: one step of Llama-3.1-70B reads its 141 GB of weights at most at
  // 4.8 TB/s over the 8 GPUs of a node (3.7 ms), so no candidate can meet it.
  const Workspace w("plan-all-pruned");
  REQUIRE(run_convsim(fmt::format("plan '{}' --set slo.tpot_p99_s=0.001 --set 'plan.max_batch_seqs=[8]' -o '{}'",
                                  w.scenario.string(), w.path("out")),
                      w.path("log")) == 0);
  const std::string log = read_file(w.dir / "log");
  INFO(log);
  const auto at = log.find("every candidate was pruned or is invalid; the nearest:\n");
  REQUIRE(at != std::string::npos);
  const auto rows = convsim::test::csv_file_records(w.dir / "out" / "plan.csv");
  REQUIRE(rows.size() == 8);
  std::map<std::string, std::string> reason_of;
  for (const auto& r : rows) {
    CHECK(r.at("status") == "pruned");
    reason_of[r.at("candidate")] = r.at("reason");
  }
  // The three lines after the heading: "  CANDIDATE: REASON", each as plan.csv has it.
  std::size_t line_start = log.find('\n', at) + 1;
  for (int i = 0; i < 3; ++i) {
    const std::size_t end = log.find('\n', line_start);
    REQUIRE(end != std::string::npos);
    const std::string line = log.substr(line_start, end - line_start);
    REQUIRE(line.rfind("  ", 0) == 0);
    const std::size_t colon = line.find(": ");
    REQUIRE(colon != std::string::npos);
    const std::string candidate = line.substr(2, colon - 2);
    REQUIRE(reason_of.count(candidate) == 1);
    CHECK(line.substr(colon + 2) == reason_of.at(candidate));
    line_start = end + 1;
  }
  CHECK(log.find("no candidate served every reply and met every objective") != std::string::npos);
}

TEST_CASE("plan rejects a goal, strategy or space it cannot use, naming what is allowed") {
  const Workspace w("plan-errors");
  const std::string s = w.scenario.string();
  CHECK(run_convsim(fmt::format("plan '{}' --set plan.goal=cheapest", s), w.path("goal.log")) == 1);
  CHECK(read_file(w.dir / "goal.log").find("plan.goal: unknown value 'cheapest'; allowed: energy, gpus, usd, "
                                           "throughput_per_gpu") != std::string::npos);
  CHECK(run_convsim(fmt::format("plan '{}' --set plan.strategy=annealing", s), w.path("strategy.log")) == 1);
  CHECK(read_file(w.dir / "strategy.log").find("plan.strategy: unknown search strategy 'annealing'; allowed: grid") !=
        std::string::npos);
  // The H20 has no price in plan.gpu_hour_usd, and no system preset cites one.
  CHECK(run_convsim(fmt::format("plan '{}' --goal usd --set plan.gpus=[h100-sxm,h20]", s), w.path("usd.log")) == 1);
  CHECK(read_file(w.dir / "usd.log").find("needs a price for every GPU of plan.gpus; none for 'h20' in "
                                          "plan.gpu_hour_usd, and no system preset carrying it cites one") !=
        std::string::npos);
  // TP 16 on 8-GPU nodes: no candidate fits the cluster.
  CHECK(run_convsim(fmt::format("plan '{}' --set plan.tp=[16] --set plan.nodes=[1]", s), w.path("none.log")) == 1);
  const std::string none = read_file(w.dir / "none.log");
  INFO(none);
  CHECK(none.find("plan: no candidate fits the cluster") != std::string::npos);
  // An engine without a profile, at its place in the file, with the allowed ones.
  CHECK(run_convsim(fmt::format("plan '{}' --set plan.engine=[vllm,tgi]", s), w.path("engine.log")) == 1);
  CHECK(read_file(w.dir / "engine.log").find("plan.engine[1]: unknown serving engine 'tgi'; available: sglang, "
                                             "trtllm, vllm") != std::string::npos);
  // A scenario with a prefill pool: candidates without one cannot be made from it.
  CHECK(run_convsim(fmt::format("plan '{}' --set parallelism.tp=4 --set parallelism.dp=1 "
                                "--set 'parallelism.prefill={{replicas: 1, tp: 4}}' --set plan.prefill_replicas=[0,1]",
                                s),
                    w.path("pool.log")) == 1);
  const std::string pool = read_file(w.dir / "pool.log");
  INFO(pool);
  CHECK(pool.find("plan.prefill_replicas: 0 cannot remove the prefill pool of parallelism.prefill (1 replicas)") !=
        std::string::npos);
}

TEST_CASE("plan tries each serving engine and each prefill pool layout, and runs each candidate with them") {
  // Llama-3.1-8B on one node of 8 H100s: one TP2 decode replica, and no prefill pool
  // or a pool of 1 replica at TP1 or TP2; with vLLM and TensorRT-LLM.
  const Workspace w("plan-axes");
  std::ofstream(w.scenario) << R"(
name: plan-axes
seed: 3
requests: {count: 20, input_tokens: {fixed: 300}, output_tokens: {fixed: 20}, arrival: {rate_per_s: 4}}
model: {preset: llama-3.1-8b}
cluster: {gpu: h100-sxm, nodes: 1, gpus_per_node: 8}
serving: {max_batch_seqs: 16, prefill_chunk_tokens: 2048}
slo: {ttft_p99_s: 2.0}
plan:
  engine: [vllm, trtllm]
  tp: [2]
  pp: [1]
  dp: [1]
  prefill_replicas: [0, 1]
  prefill_tp: [1, 2]
)";
  REQUIRE(run_convsim(fmt::format("plan '{}' -o '{}' --jobs 2", w.scenario.string(), w.path("out")), w.path("log")) ==
          0);
  const auto rows = convsim::test::csv_file_records(w.dir / "out" / "plan.csv");
  // Per engine: one candidate without a pool, two with one (not one per pool TP
  // without a pool).
  REQUIRE(rows.size() == 2 * (1 + 2));
  std::map<std::string, int> per_engine;
  for (const auto& row : rows) {
    INFO(row.at("candidate"));
    REQUIRE(row.at("status") == "evaluated");
    ++per_engine[row.at("engine")];
    const int pool_tp = row.at("prefill_replicas") == "1" ? std::stoi(row.at("prefill_tp")) : 0;
    CHECK(std::stoi(row.at("gpus")) == 2 + pool_tp);  // the TP2 replica and the pool's GPUs
    const YAML::Node resolved = YAML::LoadFile((w.dir / "out" / "candidates" / row.at("candidate") /
                                                "scenario.resolved.yaml").string());
    CHECK(resolved["serving"]["engine"].as<std::string>() == row.at("engine"));
    const YAML::Node pool = resolved["parallelism"]["prefill"];
    CHECK((pool.IsDefined() ? pool["replicas"].as<int>() : 0) == (pool_tp > 0 ? 1 : 0));
    if (pool_tp > 0) CHECK(pool["tp"].as<int>() == pool_tp);
  }
  CHECK(per_engine == std::map<std::string, int>{{"trtllm", 3}, {"vllm", 3}});
}
