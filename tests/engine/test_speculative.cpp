// Speculative decoding: the expected yield of a step, the simulated TPOT that
// follows from it, and the large batch where it costs more than it saves. Each
// TEST_CASE simulates at most once in its own process (or runs convsim children).

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sim/engine/iteration_cost.hpp"
#include "sim/engine/simulation.hpp"
#include "sim/engine/speculative.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;
namespace fs = std::filesystem;

TEST_CASE("with acceptance a and k draft tokens a step yields (1 - a^(k+1)) / (1 - a) tokens on average") {
  for (double a : {0.0, 0.3, 0.6, 0.85, 0.9}) {
    for (int k : {1, 2, 4, 7}) {
      double series = 0;  // 1 + a + ... + a^k: draft token i is kept only if all before it were
      for (int i = 0; i <= k; ++i) series += std::pow(a, i);
      INFO("a " << a << " k " << k);
      CHECK(expected_tokens_per_step(a, k) == Approx(series).epsilon(1e-12));
      CHECK(expected_tokens_per_step(a, k) == Approx((1 - std::pow(a, k + 1)) / (1 - a)).epsilon(1e-12));
    }
  }
  CHECK(expected_tokens_per_step(1.0, 4) == 5.0);
  CHECK(expected_tokens_per_step(0.0, 4) == 1.0);
  // DeepSeek-V3's MTP: one draft token accepted 85% of the time, 1.85 tokens per step
  // (the report's "1.8 times TPS").
  CHECK(expected_tokens_per_step(0.85, 1) == Approx(1.85));
}

TEST_CASE("a speculative reply's decode time is its steps of k + 1 tokens plus k draft passes, yielding E tokens each") {
  const Scenario s = test::scenario_from(test::kSmallConversation,
                                         {{"conversation.duration_min", "0.2"},
                                          {"conversation.probe_minutes", "[]"},
                                          {"conversation.model_replies.output_tokens", "{fixed: 201}"},
                                          {"model.preset", "llama-3.1-70b"},
                                          {"cluster.gpus_per_node", "4"},
                                          {"parallelism.tp", "4"},
                                          {"serving.speculative",
                                           "{method: draft_model, draft: llama-3.1-8b, tokens: 4, acceptance: 0.8}"}});
  const RunResult r = simulate(s);
  REQUIRE(r.replies.size() == 1);
  const ReplyRecord reply = *r.replies.begin();
  REQUIRE(reply.output_tokens == 201);
  const CostModel cost(s);
  const int k = 4;
  const double per_step = expected_tokens_per_step(0.8, k);
  // The yield per step is deterministic: E accumulated, whole tokens taken.
  double expected_decode_s = 0, credit = 0;
  long generated = 1, context = reply.context_tokens, steps = 0;
  while (generated < reply.output_tokens) {
    const std::vector<SequenceWork> step{SequenceWork{k + 1, context, true}};
    expected_decode_s += cost.iteration(step).uncontended_s + draft_cost(s, step, 1).time_s +
                         s.serving.engine.iteration_host_s + s.serving.engine.host_s_per_sequence;  // vLLM's host time
    credit += per_step;
    const long produced = std::min(static_cast<long>(credit + 1e-9), reply.output_tokens - generated);
    credit -= static_cast<double>(produced);
    generated += produced;
    context += produced;
    ++steps;
  }
  INFO("Expectation " << expected_decode_s << " s in " << steps << " steps, actual " << reply.e2e_s - reply.ttft_s);
  CHECK(reply.e2e_s - reply.ttft_s == Approx(expected_decode_s).epsilon(1e-9));
  // 200 tokens after the first at E = 3.36 per step: 60 steps (to within one).
  CHECK(std::abs(static_cast<double>(steps) - 200.0 / per_step) <= 1.0);
  CHECK(reply.tpot_s == Approx(expected_decode_s / 200.0).epsilon(1e-9));
}

namespace {

// output_tokens_per_s and TPOT p50 of a convsim child run of a request stream.
struct Served {
  double tokens_per_s = 0;
  double tpot_s = 0;
};

Served serve(const fs::path& dir, const std::string& name, int concurrency, const std::string& speculative) {
  const fs::path file = dir / (name + ".yaml");
  std::ofstream(file) << fmt::format(R"(name: {}
requests:
  count: {}
  input_tokens: {{fixed: 100}}
  output_tokens: {{fixed: 100}}
  arrival: {{concurrency: {}}}
model: {{preset: llama-3.1-8b}}
cluster: {{gpu: h100-sxm, nodes: 1, gpus_per_node: 1}}
parallelism: {{tp: 1}}
serving: {{max_batch_seqs: 256, prefill_chunk_tokens: 8192{}}}
)",
                                     name, 2 * concurrency, concurrency,
                                     speculative.empty() ? "" : ", speculative: " + speculative);
  const fs::path out = dir / name;
  const std::string command = fmt::format("{} run {} -q -o {}", CONVSIM_BINARY, file.string(), out.string());
  REQUIRE(std::system(command.c_str()) == 0);
  const auto summary = nlohmann::json::parse(test::read_file(out / "summary.json"));
  return Served{summary["output_tokens_per_s"].get<double>(), summary["tpot_s"]["p50"].get<double>()};
}

}  // namespace

TEST_CASE("speculative decoding cuts TPOT at batch 1 and costs throughput at a large compute-bound batch") {
  const fs::path dir = fs::temp_directory_path() / fmt::format("convsim-speculative-{}", ::getpid());
  fs::create_directories(dir);
  const std::string eagle_high = "{method: eagle, tokens: 4, acceptance: 0.8}";
  const std::string eagle_low = "{method: eagle, tokens: 4, acceptance: 0.3}";
  // Batch 1: a step reads the weights once for 1 or 5 tokens; E = 3.36 tokens per step.
  const Served one_plain = serve(dir, "one-plain", 1, "");
  const Served one_spec = serve(dir, "one-spec", 1, eagle_high);
  // Batch 256: 5 tokens per sequence make the step compute-bound; E = 1.43 only.
  const Served many_plain = serve(dir, "many-plain", 256, "");
  const Served many_spec = serve(dir, "many-spec", 256, eagle_low);
  fs::remove_all(dir);
  INFO("batch 1 TPOT: plain " << one_plain.tpot_s << " s, speculative " << one_spec.tpot_s << " s");
  CHECK(one_spec.tpot_s < one_plain.tpot_s);
  INFO("batch 256 tokens/s: plain " << many_plain.tokens_per_s << ", speculative " << many_spec.tokens_per_s);
  CHECK(many_spec.tokens_per_s < many_plain.tokens_per_s);
}
