// serving.speculative read and checked: methods, drafts, acceptance rates. Line and
// column are counted by hand in the YAML below (1-based).

#include <catch2/catch.hpp>

#include <string>

#include "sim/scenario/config_error.hpp"
#include "sim/scenario/speculative_reader.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;

namespace {

// The serving line is line 10.
std::string scenario(const std::string& model, const std::string& speculative) {
  return std::string(R"(
name: spec
conversation:
  duration_min: 1
  speakers:
    - {name: alice, words_per_min: 150, turn_words: {fixed: 20}}
  model_replies: {after: every_turn, output_tokens: {fixed: 10}}
  probe_minutes: [0.5]
model: {preset: )") + model + "}\nserving: {speculative: " + speculative +
         "}\ncluster: {gpu: h100-sxm, nodes: 1, gpus_per_node: 8}\nparallelism: {tp: 8}\n";
}

std::string error_of(const std::string& yaml) {
  try {
    test::scenario_from(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("serving.speculative reads each method, with DeepSeek-V3's 85% as mtp's default acceptance") {
  const Scenario mtp = test::scenario_from(scenario("deepseek-v3", "{method: mtp, tokens: 1}"));
  REQUIRE(mtp.serving.speculative);
  CHECK(mtp.serving.speculative->method == SpeculativeSpec::Method::mtp);
  CHECK(mtp.serving.speculative->acceptance == kMtpAcceptance);
  const Scenario draft =
      test::scenario_from(scenario("llama-3.1-70b", "{method: draft_model, draft: llama-3.1-8b, tokens: 4, acceptance: 0.7}"));
  CHECK(draft.serving.speculative->draft.name == "llama-3.1-8b");
  CHECK(draft.serving.speculative->tokens == 4);
  const Scenario eagle = test::scenario_from(scenario("kimi-k2", "{method: eagle, draft: heads, tokens: 3, acceptance: 0.75}"));
  CHECK(eagle.serving.speculative->method == SpeculativeSpec::Method::eagle);
}

TEST_CASE("bad speculative settings are located and name what is allowed") {
  CHECK(error_of(scenario("llama-3.1-70b", "{method: medusa, tokens: 2, acceptance: 0.7}")) ==
        "test.yaml:10:33: serving.speculative.method: unknown value 'medusa'; allowed: draft_model, eagle, mtp");
  CHECK(error_of(scenario("llama-3.1-70b", "{method: eagle, tokens: 2, acceptance: 1.2}")) ==
        "test.yaml:10:63: serving.speculative.acceptance must be in [0, 1], got 1.2");
  CHECK(error_of(scenario("llama-3.1-70b", "{method: eagle, tokens: 2}")) ==
        "test.yaml:10:24: serving.speculative: missing required key 'acceptance' (the probability that each draft "
        "token is accepted, in [0, 1]) for method eagle: it depends on the draft and the text, so there is no "
        "default");
  CHECK(error_of(scenario("llama-3.1-8b", "{method: draft_model, draft: llama-3.1-70b, tokens: 2, acceptance: 0.7}")) ==
        "test.yaml:10:53: serving.speculative.draft: llama-3.1-70b (70.6B parameters) is not smaller than the target "
        "llama-3.1-8b (8.0B): a draft must cost less than the model it drafts for");
  CHECK(error_of(scenario("llama-3.1-70b", "{method: draft_model, draft: qwen3-8b, tokens: 2, acceptance: 0.7}")) ==
        "test.yaml:10:53: serving.speculative.draft: qwen3-8b has a vocabulary of 151936 tokens and llama-3.1-70b of "
        "128256: a draft model must share the target's tokenizer");
  CHECK(error_of(scenario("kimi-k2", "{method: mtp, tokens: 1}")) ==
        "test.yaml:10:33: serving.speculative.method: mtp needs the model's multi-token-prediction layers, and kimi-k2 "
        "has none (mtp_layers 0); allowed for kimi-k2: draft_model, eagle");
  CHECK(error_of(scenario("deepseek-v3", "{method: mtp, tokens: 0}")) ==
        "test.yaml:10:46: serving.speculative.tokens must be in [1, 16], got 0");
}
