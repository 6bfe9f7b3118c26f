// Extreme but valid scenarios complete, or fail with a reason in summary.json; they
// never crash or hang. Each case runs the convsim binary under `timeout` (SimGrid
// allows one simulation per process) and reads what it wrote.

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct RunOutcome {
  int exit_code = -1;  // 124: killed by `timeout`
  double wall_s = 0;
  std::string stderr_text;
  bool has_summary = false;
  json summary;
};

// ASan reserves terabytes of address space: an address-space limit cannot apply to it.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif
#else
constexpr bool kAddressSanitizer = false;
#endif

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes `yaml` to a scenario file, runs `convsim run FILE -q -o DIR` under
// `timeout timeout_s` (and an address-space limit, when given and not under ASan),
// and reads summary.json if it was written.
RunOutcome run_convsim(const std::string& name, const std::string& yaml, int timeout_s,
                       long address_space_limit_kib = 0) {
  const fs::path dir = fs::temp_directory_path() / fmt::format("convsim-extremes-{}-{}", name, ::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path scenario = dir / (name + ".yaml");
  std::ofstream(scenario) << yaml;
  const fs::path out = dir / "out";
  const fs::path err = dir / "stderr.txt";
  const std::string limit = address_space_limit_kib > 0 && !kAddressSanitizer
                                ? fmt::format("ulimit -v {}; ", address_space_limit_kib)
                                : std::string();
  const std::string command = fmt::format("{}timeout {} {} run {} -q -o {} 2>{}", limit, timeout_s, CONVSIM_BINARY,
                                          scenario.string(), out.string(), err.string());
  const auto start = std::chrono::steady_clock::now();
  const int status = std::system(command.c_str());
  RunOutcome outcome;
  outcome.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  outcome.stderr_text = read_text(err);
  outcome.has_summary = fs::exists(out / "summary.json");
  if (outcome.has_summary) outcome.summary = json::parse(read_text(out / "summary.json"));
  fs::remove_all(dir);
  return outcome;
}

// The contract of every case: exit code 0, a summary, and each failure named with its cause.
void require_completed_or_reported(const RunOutcome& r) {
  INFO("exit code " << r.exit_code << " after " << r.wall_s << " s; stderr: " << r.stderr_text);
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.has_summary);
  for (const json& failure : r.summary["failures"]) {
    INFO("failure " << failure.dump());
    CHECK(!failure["kind"].get<std::string>().empty());
    CHECK(!failure["cause"].get<std::string>().empty());
  }
}

// One conversation with Llama-3.1-8B on one H100; {} is the duration, {} the turn
// words, {} the reply's output tokens.
constexpr const char* kOneGpuConversation = R"(
name: extreme-conversation
seed: 11
conversation:
  duration_min: {}
  speakers:
    - {{name: alice, words_per_min: 150, turn_words: {}}}
    - {{name: bob, words_per_min: 150, turn_words: {}}}
  pause_s: {{median: 0.7, sigma: 0.5}}
  tokens_per_word: 1.33
  model_replies: {{after: every_turn, output_tokens: {}}}
  probe_minutes: [1]
model: {{preset: llama-3.1-8b}}
context: {{policy: full, kv_between_turns: keep}}
cluster: {{gpu: h100-sxm, nodes: 1, gpus_per_node: 1, scale_up: nvlink4, scale_out: ib-ndr, pue: 1.2}}
parallelism: {{tp: 1, pp: 1}}
serving: {{max_batch_seqs: 16, prefill_chunk_tokens: 8192}}
slo: {{ttft_s: 1.0, tpot_s: 0.1}}
)";

}  // namespace

TEST_CASE("a 1,000,000-token prompt to a 10M-context model is served or reported as a memory failure") {
  // Llama 4 Scout (10M-token context) on 8 H100 at TP8: one request, one prompt of
  // a million tokens, prefilled in chunks of 8,192.
  const RunOutcome r = run_convsim("context-1m", R"(
name: extreme-context-1m
seed: 1
requests:
  count: 1
  input_tokens: {fixed: 1000000}
  output_tokens: {fixed: 16}
  arrival: {all_at_once: true}
model: {preset: llama-4-scout}
cluster: {gpu: h100-sxm, nodes: 1, gpus_per_node: 8, scale_up: nvlink4, scale_out: ib-ndr, pue: 1.2}
parallelism: {tp: 8, pp: 1}
serving: {max_batch_seqs: 8, prefill_chunk_tokens: 8192}
slo: {ttft_s: 1000, tpot_s: 1}
)",
                                   600);
  require_completed_or_reported(r);
  const json& s = r.summary;
  REQUIRE(s["replies"] == 1);
  if (s["failed_replies"] == 0) {
    // Served: the first token comes after at least one iteration per prefill chunk.
    CHECK(s["ttft_s"]["p50"].get<double>() > 0);
  } else {
    REQUIRE(!s["failures"].empty());
    CHECK(s["failures"][0]["kind"] == "memory");
  }
}

TEST_CASE("the shortest allowed turns and replies (one word, one output token) are served") {
  // A human turn has at least one word (turn_words >= 1); a reply at least one token.
  const RunOutcome r = run_convsim(
      "one-token", fmt::format(kOneGpuConversation, 10, "{fixed: 1}", "{fixed: 1}", "{fixed: 1}"), 300);
  require_completed_or_reported(r);
  const json& s = r.summary;
  CHECK(s["replies"].get<long>() > 10);
  CHECK(s["failed_replies"] == 0);
  // A one-token reply has no time per output token; its TTFT is its whole latency.
  CHECK(s["ttft_s"]["p50"].get<double>() > 0);
  CHECK(s["ttft_s"]["p50"].get<double>() == Approx(s["e2e_s"]["p50"].get<double>()));
}

TEST_CASE("a 24-hour conversation completes, the turns past the model's context failing with context_limit") {
  // One exchange: a human turn of ~72 words (lognormal, median 60, sigma 0.6: mean
  // 60 e^(0.18)) spoken at 150 words/min (0.48 min), a 50-token reply spoken at 150
  // words/min (50 / 1.33 words: 0.25 min), a pause (~0.7 s): ~0.74 min, adding ~96 + 50
  // tokens. 1,440 min hold ~1,950 exchanges, and Llama-3.1-8B's 131,072 tokens are
  // reached after ~131,072 / 146 * 0.74 = ~660 min; every later turn must fail.
  const RunOutcome r = run_convsim(
      "24h", fmt::format(kOneGpuConversation, 1440, "{median: 60, sigma: 0.6}", "{median: 60, sigma: 0.6}",
                         "{fixed: 50}"),
      600);
  require_completed_or_reported(r);
  const json& s = r.summary;
  CHECK(s["run"]["simulated_s"].get<double>() >= 1440 * 60.0);
  const long turns = s["replies"].get<long>() + s["failed_replies"].get<long>();
  const long expected_turns = 1950;
  CHECK(turns > expected_turns * 4 / 5);
  CHECK(turns < expected_turns * 6 / 5);
  REQUIRE(!s["failures"].empty());
  CHECK(s["failures"][0]["kind"] == "context_limit");
  CHECK(s["failures"][0]["minute"].get<double>() == Approx(660).epsilon(0.2));
}

TEST_CASE("10,000 GPUs (1,250 replicas of Llama-3.1-8B at TP8) complete within 120 s or fail with a reason",
          "[.slow]") {
  // Hidden by default (run with: convsim_tests "[.slow]"). A 24 GiB address-space limit
  // (the machine's memory) keeps a runaway platform from taking the machine down; the
  // 1,250 replica actors reserve 8 MiB of stack each (10 GiB) on top of the platform.
  const std::string yaml = R"(
name: extreme-10000-gpus
seed: 1
conversation:
  duration_min: 5
  sessions: 1250
  session_stagger_s: 0.1
  speakers:
    - {name: alice, words_per_min: 150, turn_words: {median: 60, sigma: 0.6}}
    - {name: bob, words_per_min: 150, turn_words: {median: 60, sigma: 0.6}}
  tokens_per_word: 1.33
  model_replies: {after: every_turn, output_tokens: {fixed: 50}}
  probe_minutes: [1]
model: {preset: llama-3.1-8b}
context: {policy: full, kv_between_turns: keep}
cluster: {gpu: h100-sxm, nodes: 1250, gpus_per_node: 8, scale_up: nvlink4, scale_out: ib-ndr, pue: 1.2}
parallelism: {tp: 8, pp: 1, dp: 1250}
serving: {max_batch_seqs: 64, prefill_chunk_tokens: 8192}
slo: {ttft_s: 1.0, tpot_s: 0.1}
)";
  const RunOutcome r = run_convsim("10000-gpus", yaml, 120, 24L * 1024 * 1024);
  INFO("10,000 GPUs: exit code " << r.exit_code << " after " << r.wall_s << " s");
  require_completed_or_reported(r);
  CHECK(r.summary["run"]["gpus"] == 10000);
  CHECK(r.summary["replies"].get<long>() >= 1250);
}
