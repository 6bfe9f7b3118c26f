// Whole-run properties. Each TEST_CASE simulates once (its own process under ctest).

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "models/roofline.hpp"
#include "sim/accounting/energy.hpp"
#include "sim/engine/iteration_cost.hpp"
#include "sim/engine/simulation.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;
namespace fs = std::filesystem;

namespace {

using ::convsim::test::read_file;

void check_conservation(const RunResult& r, const Scenario& s) {
  const EnergySplit e = energy_split(r, s);
  double replies_network_j = 0, rows_j = 0;
  for (const ReplyRecord& reply : r.replies) {
    replies_network_j += reply.network_energy_j;
    rows_j += reply.energy_j + reply.network_energy_j + reply.host_energy_j + reply.reserved_energy_j;
  }
  const double metered_j = metered_gpu_energy_j(r);
  // The nodes' supplies lose 1 / efficiency - 1 per joule their GPUs and hosts draw.
  const double psu_loss_j = (1 / s.cluster.system.psu_efficiency - 1) * (metered_j + e.host_j);
  const double every_meter_j = metered_j + e.host_j + e.switch_j + e.optics_j + r.network_energy_j.value() + psu_loss_j;
  INFO("rows " << rows_j << " J + unattributed " << e.unattributed_j << " J vs meters " << every_meter_j << " J");
  CHECK(rows_j + e.unattributed_j == Approx(every_meter_j).epsilon(1e-9));
  CHECK(replies_network_j == Approx(r.network_energy_j.value()).epsilon(1e-9));
  CHECK(e.facility_j() == Approx(s.cluster.pue * every_meter_j).epsilon(1e-9));
}

}  // namespace

TEST_CASE("energy is conserved: replies plus idle equal the GPUs' metered energy (one GPU, keep)") {
  const Scenario s = test::scenario_from(test::kSmallConversation);
  const RunResult r = simulate(s);
  REQUIRE(r.replies.size() > 10);
  check_conservation(r, s);
}

TEST_CASE("with no system preset, host energy is cluster.host_power_w_per_node times the span") {
  const Scenario s = test::scenario_from(test::kSmallConversation, {{"cluster.system", "none"}});
  const RunResult r = simulate(s);
  check_conservation(r, s);
  CHECK(energy_split(r, s).host_j == Approx(500.0 * r.end_s).epsilon(1e-12));
}

TEST_CASE("energy is conserved with tensor and pipeline parallelism over two nodes, KV dropped") {
  const Scenario s = test::scenario_from(test::kSmallConversation,
                                         {{"model.preset", "llama-3.1-70b"},
                                          {"cluster.nodes", "2"},
                                          {"cluster.gpus_per_node", "4"},
                                          {"parallelism.tp", "4"},
                                          {"parallelism.pp", "2"},
                                          {"context.kv_between_turns", "drop"}});
  const RunResult r = simulate(s);
  REQUIRE(r.replies.size() > 10);
  check_conservation(r, s);
  CHECK(r.network_energy_j.value() > 0);
}

TEST_CASE("energy is conserved for every GPU preset, and mean power stays under the board limits") {
  // One simulation per process: each preset runs in a child convsim.
  const fs::path dir = fs::temp_directory_path() / fmt::format("convsim-presets-{}", ::getpid());
  for (const auto& [name, gpu] : test::catalog().gpus) {
    const fs::path out = dir / name;
    const std::string command = fmt::format(
        "{} run {} -q -o {} --set cluster.gpu={} --set conversation.sessions=6 --set conversation.session_stagger_s=5 "
        "--set conversation.duration_min=10 --set conversation.probe_minutes=[5] --set model.preset=llama-3.1-8b --set cluster.gpus_per_node=1 "
        "--set parallelism.tp=1 --set parallelism.pp=1 --set cluster.nodes=1",
        CONVSIM_BINARY, test::source_path("scenarios/podcast-10h.yaml"), out.string(), name);
    REQUIRE(std::system(command.c_str()) == 0);
    const auto summary = nlohmann::json::parse(read_file(out / "summary.json"));
    const double simulated_s = summary["run"]["simulated_s"];
    const double metered_j = summary["gpu_power_w_total"].get<double>() * simulated_s;
    const auto& e = summary["energy_j"];
    INFO(name);
    CHECK(e["gpu_active"].get<double>() + e["gpu_idle"].get<double>() == Approx(metered_j).epsilon(1e-9));
    CHECK(summary["gpu_power_w_mean"].get<double>() <= gpu.power_max_w);
    CHECK(summary["gpu_power_w_mean"].get<double>() >= gpu.power_idle_w);
  }
  fs::remove_all(dir);
}

TEST_CASE("no simulated decode is faster than its weights and KV cache crossing HBM, stages added up") {
  const Scenario s = test::scenario_from(test::kSmallConversation,
                                         {{"model.preset", "llama-3.1-70b"},
                                          {"cluster.nodes", "2"},
                                          {"cluster.gpus_per_node", "4"},
                                          {"parallelism.tp", "4"},
                                          {"parallelism.pp", "2"}});
  const RunResult r = simulate(s);
  const CostModel cost(s);
  double weight_bytes_all_stages = 0;
  for (int stage = 0; stage < 2; ++stage) {
    weight_bytes_all_stages += stage_weight_bytes(s.model.spec, s.model.weights, Sharding{4, 2, stage});
  }
  // One conversation: batch 1, so the two stages run one after the other.
  const double floor_s = weight_bytes_all_stages / s.cluster.gpu.hbm_bytes_per_s;
  for (const ReplyRecord& reply : r.replies) {
    REQUIRE(reply.served);
    CHECK(reply.tpot_s >= floor_s);
    CHECK(reply.ttft_s > 0);
  }
}

TEST_CASE("a batch-1 decode in the simulation takes exactly the cost model's uncontended time plus the engine's host time") {
  const Scenario s = test::scenario_from(test::kSmallConversation,
                                         {{"conversation.duration_min", "0.2"},
                                          {"conversation.probe_minutes", "[]"},
                                          {"model.preset", "llama-3.1-70b"},
                                          {"cluster.gpus_per_node", "4"},
                                          {"parallelism.tp", "4"}});
  const RunResult r = simulate(s);
  REQUIRE(r.replies.size() == 1);
  const ReplyRecord reply = *r.replies.begin();
  const CostModel cost(s);
  double expected_decode_s = 0;
  for (long k = 1; k < reply.output_tokens; ++k) {
    const IterationCost c = cost.iteration({SequenceWork{1, reply.context_tokens + k - 1, true}});
    // vLLM's host time precedes each step: its fixed part and one sequence's.
    const EngineProfile& engine = s.serving.engine;
    expected_decode_s += c.uncontended_s + engine.iteration_host_s + engine.host_s_per_sequence;
  }
  INFO("Expectation " << expected_decode_s << " s, actual " << reply.e2e_s - reply.ttft_s << " s");
  CHECK(reply.e2e_s - reply.ttft_s == Approx(expected_decode_s).epsilon(1e-9));
}

TEST_CASE("weights that do not fit are a reported memory failure, not a run") {
  const Scenario s = test::scenario_from(test::kSmallConversation, {{"model.preset", "llama-3.1-70b"}});
  const RunResult r = simulate(s);
  REQUIRE(r.failures.size() == 1);
  CHECK(r.failures[0].kind == "memory");
  CHECK(r.failures[0].time_s == 0.0);
  for (const ReplyRecord& reply : r.replies) {
    CHECK_FALSE(reply.served);
    CHECK(reply.failure == "memory");
  }
}

TEST_CASE("a KV cache outgrowing free memory is a memory failure at the turn it happens") {
  // Llama-3.1-70B on 2 x H100 at TP2: 70.6 GB of weights per GPU leave a few GB for
  // KV (160 kB per token per GPU): a few tens of thousands of tokens, which a long
  // fast conversation exceeds.
  const Scenario s = test::scenario_from(test::kSmallConversation,
                                         {{"model.preset", "llama-3.1-70b"},
                                          {"cluster.gpus_per_node", "2"},
                                          {"parallelism.tp", "2"},
                                          {"conversation.duration_min", "240"},
                                          {"conversation.speakers", "[{name: a, words_per_min: 400, turn_words: {fixed: 400}}]"}});
  const CostModel cost(s);
  REQUIRE(cost.weights_fit());
  // Free memory on each GPU over its KV bytes per token, computed by hand: what is
  // left of 80 GB after half of Llama-3.1-70B's weights, the 2 GB workspace and the
  // activations of a full iteration, over 80 layers * 2 * 4 KV heads * 128 * 2 bytes.
  const ModelSpec& m = s.model.spec;
  const long iteration_tokens = s.serving.prefill_chunk_tokens + s.serving.max_batch_seqs;
  const double free_bytes = 80e9 - 2.0 * total_params(m) / 2 - 2e9 - activation_bytes(m, 2, iteration_tokens);
  const double capacity_tokens = free_bytes / (80.0 * 2 * 4 * 128 * 2);
  const RunResult r = simulate(s);
  bool found = false;
  for (const FailureRecord& f : r.failures) found = found || f.kind == "memory";
  REQUIRE(found);
  for (const ReplyRecord& reply : r.replies) {
    const double needed = static_cast<double>(reply.context_tokens + reply.output_tokens);
    if (reply.failure == "memory") CHECK(needed > capacity_tokens * 0.999);
    if (reply.served) CHECK(needed <= capacity_tokens * 1.001);
  }
}

TEST_CASE("a context beyond the model's limit is a context_limit failure") {
  const Scenario s = test::scenario_from(test::kSmallConversation,
                                         {{"model.preset", "llama-2-7b"},  // 4,096-token context
                                          {"conversation.duration_min", "60"}});
  const RunResult r = simulate(s);
  const FailureRecord* failure = nullptr;
  for (const FailureRecord& f : r.failures) {
    if (f.kind == "context_limit") failure = &f;
  }
  REQUIRE(failure != nullptr);
  for (const ReplyRecord& reply : r.replies) {
    if (reply.start_s < failure->time_s) CHECK(reply.served);
    if (reply.failure == "context_limit") CHECK(reply.context_tokens + reply.output_tokens > 4096);
  }
}

TEST_CASE("the same scenario and seed give byte-identical outputs") {
  const fs::path dir = fs::temp_directory_path() / fmt::format("convsim-determinism-{}", ::getpid());
  const std::string scenario = test::source_path("scenarios/podcast-10h.yaml");
  for (const char* run : {"a", "b"}) {
    const std::string command = fmt::format(
        "{} run {} -q -o {} --set conversation.duration_min=30 --set conversation.probe_minutes=[5] "
        "--set conversation.sessions=3 --set conversation.session_stagger_s=20 --set parallelism.pp=2 "
        "--set cluster.nodes=2 --set model.preset=llama-3.1-70b",
        CONVSIM_BINARY, scenario, (dir / run).string());
    REQUIRE(std::system(command.c_str()) == 0);
  }
  for (const char* file : {"turns.csv", "summary.json"}) {
    const std::string a = read_file(dir / "a" / file), b = read_file(dir / "b" / file);
    CHECK(a.size() > 100);
    CHECK(a == b);
  }
  fs::remove_all(dir);
}

TEST_CASE("a cache offloaded to host memory comes back in its bytes over the PCIe bandwidth") {
  // The same conversation with the cache kept in HBM and offloaded to host memory:
  // the first turns arrive at the same time (nothing differs before the first
  // restore), and the second reply's TTFT grows by exactly the restore:
  // latency + KV bytes of its history / PCIe bandwidth (one GPU, one link).
  const fs::path dir = fs::temp_directory_path() / fmt::format("convsim-offload-{}", ::getpid());
  auto turns = [&](const std::string& policy) {
    const std::string command = fmt::format(
        "{} run {} -q -o {} --set context.kv_between_turns={} --set conversation.duration_min=3 "
        "--set conversation.probe_minutes=[1] --set model.preset=llama-3.1-8b --set cluster.nodes=1 "
        "--set cluster.gpus_per_node=1 --set parallelism.tp=1 --set parallelism.pp=1",
        CONVSIM_BINARY, test::source_path("scenarios/podcast-10h.yaml"), (dir / policy).string(), policy);
    REQUIRE(std::system(command.c_str()) == 0);
    std::ifstream in(dir / policy / "turns.csv");
    std::string line;
    std::getline(in, line);
    std::vector<std::vector<std::string>> rows;
    while (std::getline(in, line)) {
      std::vector<std::string> cells;
      std::stringstream ss(line);
      for (std::string cell; std::getline(ss, cell, ',');) cells.push_back(cell);
      rows.push_back(cells);
    }
    return rows;
  };
  const auto kept = turns("keep"), offloaded = turns("offload_cpu");
  REQUIRE(kept.size() >= 2);
  REQUIRE(offloaded.size() >= 2);
  // Columns: 3 start_s, 5 context_tokens, 6 prompt_tokens, 10 ttft_s.
  CHECK(kept[1][3] == offloaded[1][3]);
  const double history_tokens = std::stod(kept[1][5]) - std::stod(kept[1][6]);
  const FabricSpec& pcie = test::catalog().fabrics.at("pcie5");
  const double kv_bytes = history_tokens * 32 * 2 * 8 * 128 * 2.0;  // Llama-3.1-8B, BF16
  const double expected_s = pcie.latency_s + kv_bytes / pcie.bandwidth_bytes_per_s;
  const double actual_s = std::stod(offloaded[1][10]) - std::stod(kept[1][10]);
  INFO("Expectation " << expected_s << " s, actual " << actual_s << " s");
  CHECK(actual_s == Approx(expected_s).epsilon(1e-6));
  fs::remove_all(dir);
}

TEST_CASE("streaming ingestion lowers TTFT: only the last interval's words are left to prefill") {
  const fs::path dir = fs::temp_directory_path() / fmt::format("convsim-streaming-{}", ::getpid());
  auto median_ttft = [&](const std::string& ingestion) {
    const std::string command = fmt::format(
        "{} run {} -q -o {} --set context.ingestion={} --set conversation.duration_min=20 "
        "--set conversation.probe_minutes=[1] --set model.preset=llama-3.1-70b --set cluster.nodes=1 "
        "--set parallelism.pp=1 --set context.streaming_interval_s=1",
        CONVSIM_BINARY, test::source_path("scenarios/podcast-10h.yaml"), (dir / ingestion).string(), ingestion);
    REQUIRE(std::system(command.c_str()) == 0);
    return nlohmann::json::parse(read_file(dir / ingestion / "summary.json"))["ttft_s"]["p50"].get<double>();
  };
  const double at_end = median_ttft("at_turn_end"), streaming = median_ttft("streaming");
  INFO("TTFT p50 at turn end " << at_end << " s, streaming " << streaming << " s");
  CHECK(streaming < at_end);
  fs::remove_all(dir);
}

TEST_CASE("trace.json parses and holds one slice per GPU, all-reduce and send of every iteration") {
  // TP2 x PP2: each iteration puts, per stage, a compute and an all-reduce slice on
  // each of its 2 GPUs, and one send between the stages: 2 * (2 + 2) + 1 = 9.
  const fs::path dir = fs::temp_directory_path() / fmt::format("convsim-trace-{}", ::getpid());
  const std::string command = fmt::format(
      "{} run {} -q --trace -o {} --set conversation.duration_min=3 --set conversation.probe_minutes=[1] "
      "--set model.preset=llama-3.1-8b --set cluster.nodes=2 --set cluster.gpus_per_node=2 --set parallelism.tp=2 "
      "--set parallelism.pp=2",
      CONVSIM_BINARY, test::source_path("scenarios/podcast-10h.yaml"), dir.string());
  REQUIRE(std::system(command.c_str()) == 0);
  const auto trace = nlohmann::json::parse(read_file(dir / "trace.json"));
  const auto summary = nlohmann::json::parse(read_file(dir / "summary.json"));
  long slices = 0, conversation_spans = 0;
  for (const auto& event : trace["traceEvents"]) {
    if (event["ph"] == "X") {
      ++slices;
      CHECK(event["dur"].get<double>() > 0);
    }
    if (event["ph"] == "b") ++conversation_spans;
  }
  CHECK(conversation_spans == summary["replies"].get<long>());  // one span per reply on its conversation's track
  const long iterations = summary["run"]["iterations"].get<long>();
  REQUIRE(iterations > 10);
  CHECK(slices == 9 * iterations);
  CHECK(trace["otherData"]["truncated"] == false);
  fs::remove_all(dir);
}

TEST_CASE("a transcript replayed under the summary policy serves each summary before the reply it precedes") {
  const Scenario s = load_scenario(test::source_path("scenarios/meeting-transcript.yaml"),
                                   {{"context.policy", "summary"},
                                    {"context.summary_every_tokens", "3000"},
                                    {"context.summary_tokens", "200"}},
                                   test::catalog());
  const RunResult r = simulate(s);
  std::vector<ReplyRecord> summaries;
  for (const ReplyRecord& rec : r.replies) {
    if (rec.kind == "summary") summaries.push_back(rec);
  }
  REQUIRE(!summaries.empty());
  for (const ReplyRecord& summary : summaries) {
    const auto reply = std::find_if(r.replies.begin(), r.replies.end(), [&](const ReplyRecord& rec) {
      return rec.kind == "reply" && rec.session == summary.session && rec.turn == summary.turn;
    });
    REQUIRE(reply != r.replies.end());
    INFO("turn " << summary.turn);
    CHECK(reply->served);
    CHECK(reply->start_s == summary.start_s);  // both due when the person stops speaking
    CHECK(reply->start_s + reply->queue_s >= summary.start_s + summary.e2e_s);  // scheduled after the summary ends
    CHECK(reply->context_tokens - reply->prompt_tokens == 200);  // its history is the summary
  }
}
