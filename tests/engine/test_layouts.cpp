// Layouts on the simulated cluster: the pipeline bubble, context-parallel
// prefill scaling, the disaggregated KV handoff, and computed phases agreeing with
// SimGrid. Each TEST_CASE simulates once in-process, or runs the binary.

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sim/accounting/energy.hpp"
#include "sim/engine/iteration_cost.hpp"
#include "sim/engine/simulation.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;
namespace fs = std::filesystem;

namespace {

// One request of `input` prompt tokens and `output` reply tokens.
std::string one_request(const std::string& model, long input, long output, const std::string& cluster,
                        const std::string& parallelism, long chunk_tokens) {
  return fmt::format(R"(
name: one-request
requests: {{count: 1, input_tokens: {{fixed: {}}}, output_tokens: {{fixed: {}}}, arrival: {{concurrency: 1}}}}
model: {{preset: {}}}
cluster: {}
parallelism: {}
serving: {{max_batch_seqs: 8, prefill_chunk_tokens: {}}}
slo: {{ttft_s: 100, tpot_s: 10}}
)",
                     input, output, model, cluster, parallelism, chunk_tokens);
}

using ::convsim::test::read_file;

void check_conservation(const RunResult& r, const Scenario& s) {
  const EnergySplit e = energy_split(r, s);
  CHECK(e.gpu_active_j + e.gpu_idle_j == Approx(metered_gpu_energy_j(r)).epsilon(1e-9));
  CHECK(e.served_j + e.reserved_j + e.unattributed_j == Approx(e.it_j()).epsilon(1e-9));
}

// Runs the binary; returns the folder's summary.json.
nlohmann::json run_binary(const std::string& scenario_path, const std::string& args, const fs::path& dir) {
  fs::create_directories(dir.parent_path());
  const std::string command =
      fmt::format("{} run {} -q -o {} {} > {}.log 2>&1", CONVSIM_BINARY, scenario_path, dir.string(), args, dir.string());
  REQUIRE(std::system(command.c_str()) == 0);
  return nlohmann::json::parse(read_file(dir / "summary.json"));
}

}  // namespace

TEST_CASE("m micro-batches through p equal stages leave the GPUs idle (p-1)/(m+p-1) of the iteration") {
  // Eight 4,096-token prompts prefilled in one iteration, cut into eight equal
  // micro-batches (one prompt each), through Llama-3.1-8B's 32 layers as 4 stages
  // of 8. Prefill is compute-bound, so the stages take equal times but for the
  // last one's LM head (one token per prompt: its weights read, 1.5% of a stage).
  const int p = 4, m = 8;
  std::string yaml = one_request("llama-3.1-8b", 4096, 1, "{gpu: h100-sxm, nodes: 1, gpus_per_node: 4}",
                                 fmt::format("{{tp: 1, pp: {}, micro_batches: {}}}", p, m), 32768);
  yaml.replace(yaml.find("count: 1"), 8, "count: 8");
  yaml.replace(yaml.find("concurrency: 1"), 14, "concurrency: 8");
  const Scenario s = test::scenario_from(yaml);
  const RunResult r = simulate(s);
  REQUIRE(r.iterations == 1);
  REQUIRE(r.replies.size() == 8);
  const double span_s = r.replica_busy_s[0];
  double busy_s = 0;
  for (const GpuMeter& g : r.gpus) busy_s += g.active_time_s;
  const double idle_fraction = 1.0 - busy_s / (p * span_s);
  CHECK(idle_fraction == Approx((p - 1.0) / (m + p - 1.0)).margin(0.01));
  // Against the unsplit batch, whose stages run one after another: (m + p - 1) / (m p).
  const CostModel cost(s);
  const double unsplit_s = cost.iteration(std::vector<SequenceWork>(8, SequenceWork{4096, 0, true})).uncontended_s;
  CHECK(span_s / unsplit_s == Approx((m + p - 1.0) / (m * p)).epsilon(0.05));
  check_conservation(r, s);
}

TEST_CASE("context-parallel prefill of a long prompt scales close to 1/cp but a short one does not") {
  const fs::path dir = fs::temp_directory_path() / fmt::format("convsim-cp-{}", ::getpid());
  fs::create_directories(dir);
  auto ttft = [&](long prompt, int cp) {
    const fs::path file = dir / fmt::format("cp{}-{}.yaml", cp, prompt);
    std::ofstream(file) << one_request("llama-3.1-70b", prompt, 1,
                                       "{gpu: h100-sxm, nodes: 4, gpus_per_node: 8, scale_out: ib-ndr}",
                                       fmt::format("{{tp: 8, cp: {}}}", cp), 8192);
    const auto summary = run_binary(file.string(), "", dir / fmt::format("out-cp{}-{}", cp, prompt));
    return summary["ttft_s"]["p50"].get<double>();
  };
  const double long1 = ttft(65536, 1), long2 = ttft(65536, 2), long4 = ttft(65536, 4);
  INFO("64k prompt TTFT: cp1 " << long1 << " s, cp2 " << long2 << " s, cp4 " << long4 << " s");
  CHECK(long1 / long2 > 1.8);  // within 10% of 2
  CHECK(long1 / long2 <= 2.0 + 1e-9);
  CHECK(long1 / long4 > 3.4);  // within 15% of 4
  CHECK(long1 / long4 <= 4.0 + 1e-9);
  // 256 tokens: weights read by every rank and (cp - 1) ring steps per layer over
  // InfiniBand dominate; four ranks do not even halve the time.
  const double short1 = ttft(256, 1), short4 = ttft(256, 4);
  INFO("256-token prompt TTFT: cp1 " << short1 << " s, cp4 " << short4 << " s");
  CHECK(short1 / short4 < 2.0);
  fs::remove_all(dir);
}

TEST_CASE("a disaggregated prefill sends the context's KV cache in its bytes over the path bandwidth") {
  // Decode replica on node 0 (ranks 0-7), prefill replica on node 1 (ranks 8-15):
  // eight GPU-to-GPU flows, one per NIC, each 1/8 of the cache.
  const long prompt = 4096, output = 10;
  const Scenario s = test::scenario_from(one_request(
      "llama-3.1-70b", prompt, output, "{gpu: h100-sxm, nodes: 2, gpus_per_node: 8, scale_out: ib-ndr}",
      "{tp: 8, prefill: {replicas: 1, tp: 8}}", 8192));
  RunOptions options;
  options.trace = true;
  const RunResult r = simulate(s, options);
  REQUIRE(r.replies.size() == 1);
  const ModelSpec& m = s.model.spec;
  const double kv_bytes = static_cast<double>(prompt) * m.layers * 2.0 * m.kv_heads * m.head_dim * 2.0;
  CHECK(r.kv_handoff_bytes.value() == Approx(kv_bytes).epsilon(1e-12));
  const FabricSpec& ib = s.cluster.scale_out;
  const double expected_s = ib.latency_s + kv_bytes / 8 / ib.bandwidth_bytes_per_s;
  int handoffs = 0;
  for (const TraceSlice& slice : r.trace) {
    if (slice.name != "kv handoff") continue;
    ++handoffs;
    CHECK(slice.duration_s == Approx(expected_s).epsilon(1e-9));
  }
  CHECK(handoffs == 1);
  // The reply: first token from the prefill replica, the rest decoded after the handoff.
  const ReplyRecord reply = *r.replies.begin();
  CHECK(reply.served);
  CHECK(reply.replica == 0);
  CHECK(reply.e2e_s - reply.ttft_s > expected_s);
  check_conservation(r, s);
}

TEST_CASE("computed phases equal SimGrid's for every layout of the six-layout scenario") {
  const fs::path dir = fs::temp_directory_path() / fmt::format("convsim-fast-{}", ::getpid());
  const std::string scenario = test::source_path("scenarios/podcast-10h-layouts.yaml");
  const std::vector<std::string> layouts = {
      "",
      "--set parallelism.micro_batches=4",
      "--set parallelism.cp=2",
      "--set 'parallelism.prefill={replicas: 1, tp: 8, pp: 8}'",
      "--set model.preset=moe-1t --set parallelism.ep=64 --set parallelism.pp=1"};
  for (std::size_t k = 0; k < layouts.size(); ++k) {
    INFO("layout: " << layouts[k]);
    const std::string args = "--set conversation.duration_min=6 --set conversation.probe_minutes=[1,5] " + layouts[k];
    const auto computed = run_binary(scenario, args, dir / fmt::format("computed-{}", k));
    const auto simgrid = run_binary(scenario, args + " --simgrid-every-transfer", dir / fmt::format("simgrid-{}", k));
    REQUIRE(computed["replies"].get<long>() > 5);
    CHECK(computed["replies"] == simgrid["replies"]);
    for (const char* key : {"ttft_s", "tpot_s"}) {
      for (const char* stat : {"p50", "p99", "mean"}) {
        CHECK(computed[key][stat].get<double>() == Approx(simgrid[key][stat].get<double>()).epsilon(1e-9));
      }
    }
    CHECK(computed["energy_j"]["total"].get<double>() ==
          Approx(simgrid["energy_j"]["total"].get<double>()).epsilon(1e-9));
    // Every meter is charged to a row or left unattributed, whatever the layout.
    const auto& charged = computed["energy_attribution_j"];
    CHECK(charged["served"].get<double>() + charged["reserved"].get<double>() +
              charged["unattributed"].get<double>() ==
          Approx(computed["energy_j"]["it"].get<double>()).epsilon(1e-9));
    // Energy conserved: replies' attributed energy plus idle equals the GPUs' meters
    // (mean metered power times the span); and no board above its power limit.
    const double span_s = computed["run"]["simulated_s"].get<double>();
    const double gpus = computed["run"]["gpus"].get<double>();
    const double metered_j = computed["gpu_power_w_total"].get<double>() * span_s;
    CHECK(computed["energy_j"]["gpu_active"].get<double>() + computed["energy_j"]["gpu_idle"].get<double>() ==
          Approx(metered_j).epsilon(1e-9));
    CHECK(computed["gpu_power_w_mean"].get<double>() == Approx(computed["gpu_power_w_total"].get<double>() / gpus));
    CHECK(computed["gpu_power_w_mean"].get<double>() <= 700.0);  // per GPU: the H100 SXM board limit
  }
  fs::remove_all(dir);
}

namespace {

// turns.csv as rows of fields.
std::vector<std::vector<std::string>> csv_rows(const fs::path& path) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream text(read_file(path));
  std::string line;
  while (std::getline(text, line)) {
    std::vector<std::string> fields;
    std::istringstream cells(line);
    std::string cell;
    while (std::getline(cells, cell, ',')) fields.push_back(cell);
    rows.push_back(fields);
  }
  return rows;
}

}  // namespace

TEST_CASE("many replicas waiting on timers give every reply the times SimGrid gives it, shared links or not") {
  // bench-1000-conversations shrunk to 4 nodes: one TP8 replica per node (links of
  // their own: computed), the same routed by load (a router actor, replicas woken
  // by deliveries), and two TP4 replicas per node offloading KV caches to host
  // memory (transfers through SimGrid beside computed iterations).
  const fs::path dir = fs::temp_directory_path() / fmt::format("convsim-replicas-{}", ::getpid());
  const std::string scenario = test::source_path("scenarios/bench/bench-1000-conversations.yaml");
  const std::string shrunk =
      "--set cluster.nodes=4 --set parallelism.dp=4 --set conversation.sessions=24 "
      "--set conversation.duration_min=4 --set conversation.probe_minutes=[1,3] ";
  const std::vector<std::string> cases = {
      "", "--set serving.routing=least_loaded",
      "--set parallelism.tp=4 --set parallelism.dp=8 --set context.kv_between_turns=offload_cpu"};
  for (std::size_t k = 0; k < cases.size(); ++k) {
    INFO("case: " << cases[k]);
    const auto computed = run_binary(scenario, shrunk + cases[k], dir / fmt::format("computed-{}", k));
    run_binary(scenario, shrunk + cases[k] + " --simgrid-every-transfer", dir / fmt::format("simgrid-{}", k));
    const auto a = csv_rows(dir / fmt::format("computed-{}", k) / "turns.csv");
    const auto b = csv_rows(dir / fmt::format("simgrid-{}", k) / "turns.csv");
    REQUIRE(computed["replies"].get<long>() > 50);
    REQUIRE(a.size() == b.size());
    const std::vector<std::string>& header = a[0];
    int compared = 0;
    for (std::size_t row = 1; row < a.size(); ++row) {
      REQUIRE(a[row].size() == header.size());
      REQUIRE(b[row].size() == header.size());
      for (std::size_t c = 0; c < header.size(); ++c) {
        const std::string& column = header[c];
        if (column == "session" || column == "turn" || column == "replica" || column == "failure") {
          CHECK(a[row][c] == b[row][c]);
        } else if (column == "start_s" || column == "ttft_s" || column == "e2e_s" || column == "energy_j") {
          if (a[row][c].empty() || b[row][c].empty()) {
            CHECK(a[row][c] == b[row][c]);
            continue;
          }
          INFO("row " << row << " column " << column);
          // turns.csv prints 9 significant digits: two values within 1e-9 of each
          // other can still round to neighbouring last digits, one unit apart.
          const double v = std::stod(b[row][c]);
          const double last_digit = v == 0 ? 0.0 : std::pow(10.0, std::floor(std::log10(std::abs(v))) - 8);
          CHECK(std::stod(a[row][c]) == Approx(v).epsilon(1e-9).margin(last_digit));
          ++compared;
        }
      }
    }
    CHECK(compared > 200);
  }
  fs::remove_all(dir);
}

TEST_CASE("an explicit placement that splits a tensor-parallel group warns and all-reduces over the NICs") {
  const std::string cluster = "{gpu: h100-sxm, nodes: 2, gpus_per_node: 2, scale_out: ib-ndr}";
  const std::string split_yaml =
      one_request("llama-3.1-8b", 512, 64, cluster, "{tp: 2, placement: [1, 2]}", 8192);
  const Scenario split = test::scenario_from(split_yaml);
  REQUIRE(split.warnings.size() == 1);
  CHECK(split.warnings[0].find("warning: parallelism.placement puts a tensor-parallel group 0 (ranks 0..1) on more "
                               "than one node") != std::string::npos);
  CHECK(split.parallelism.gpu_of(0) == 1);
  CHECK(split.parallelism.gpu_of(1) == 2);
  // The same request with the group inside node 0, then split over nodes 0 and 1.
  const fs::path dir = fs::temp_directory_path() / fmt::format("convsim-placement-{}", ::getpid());
  fs::create_directories(dir);
  std::ofstream(dir / "split.yaml") << split_yaml;
  std::ofstream(dir / "inside.yaml") << one_request("llama-3.1-8b", 512, 64, cluster, "{tp: 2, placement: [0, 1]}",
                                                    8192);
  const auto inside = run_binary((dir / "inside.yaml").string(), "", dir / "inside");
  const auto across = run_binary((dir / "split.yaml").string(), "", dir / "split");
  // 2 all-reduces per layer, 32 layers: each pays InfiniBand's latency instead of NVLink's.
  const double inside_s = inside["tpot_s"]["p50"].get<double>(), across_s = across["tpot_s"]["p50"].get<double>();
  INFO("TPOT inside a node " << inside_s << " s, across nodes " << across_s << " s");
  CHECK(across_s > inside_s + 64 * (1.7e-5 - 2.6e-6));
  fs::remove_all(dir);
}

TEST_CASE("a disaggregated run through SimGrid gives byte-identical outputs run to run") {
  const fs::path dir = fs::temp_directory_path() / fmt::format("convsim-disagg-det-{}", ::getpid());
  const std::string scenario = test::source_path("scenarios/podcast-10h-layouts.yaml");
  const std::string args =
      "--set conversation.duration_min=6 --set conversation.probe_minutes=[1] "
      "--set 'parallelism.prefill={replicas: 1, tp: 8, pp: 8}' --simgrid-every-transfer";
  run_binary(scenario, args, dir / "first");
  run_binary(scenario, args, dir / "second");
  for (const char* file : {"turns.csv", "summary.json", "gpus.csv"}) {
    INFO(file);
    const std::string first = read_file(dir / "first" / file);
    CHECK(!first.empty());
    CHECK(first == read_file(dir / "second" / file));
  }
  fs::remove_all(dir);
}
