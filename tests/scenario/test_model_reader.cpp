// Precisions and per-part quantisation read from a scenario's model section, and
// checked against the GPU: FP4 where the GPU has FP4 tensor cores, emulated
// (weights) or refused (KV cache) where it has not. Line and column are counted by
// hand in the YAML below (1-based).

#include <algorithm>
#include <catch2/catch.hpp>

#include <string>

#include "sim/scenario/config_error.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;

namespace {

// Line 1 is empty, the model line is line 9, the cluster line line 10.
std::string scenario(const std::string& model, const std::string& gpu) {
  return std::string(R"(
name: fp4
conversation:
  duration_min: 1
  speakers:
    - {name: alice, words_per_min: 150, turn_words: {fixed: 20}}
  model_replies: {after: every_turn, output_tokens: {fixed: 10}}
  probe_minutes: [0.5]
)") + "model: " + model + "\ncluster: {gpu: " + gpu + ", nodes: 1, gpus_per_node: 8}\nparallelism: {tp: 8}\n";
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

TEST_CASE("an FP4 KV cache on a GPU without FP4 tensor cores is refused, naming what that GPU allows") {
  CHECK(error_of(scenario("{preset: kimi-k2, kv_cache: nvfp4}", "h100-sxm")) ==
        "test.yaml:9:36: model.kv_cache: nvfp4 is not supported on h100-sxm, which has no nvfp4 tensor cores (its "
        "peaks: bf16, fp8, int8); allowed on h100-sxm: bf16, fp8, int8, int4");
  CHECK(error_of(scenario("{preset: kimi-k2, kv_cache: nvfp4}", "b200")).empty());
  CHECK(error_of(scenario("{preset: kimi-k2, kv_cache: fp8}", "h100-sxm")).empty());
}

TEST_CASE("FP4 weights on a GPU without FP4 tensor cores are accepted with a warning saying they are emulated") {
  const Scenario h100 = test::scenario_from(scenario("{preset: kimi-k2, weights: nvfp4}", "h100-sxm"));
  REQUIRE(h100.warnings.size() == 1);
  CHECK(h100.warnings[0] ==
        "test.yaml:9:35: warning: model.weights: nvfp4 on h100-sxm, which has no nvfp4 tensor cores (its peaks: "
        "bf16, fp8, int8): emulated: the weights are stored and read at 4.5 bits each and dequantised to BF16 for "
        "the matmuls, which run at the BF16 peak");
  CHECK(test::scenario_from(scenario("{preset: kimi-k2, weights: nvfp4}", "b200")).warnings.empty());
  // CDNA 4 runs MXFP4 natively, not NVFP4 (an MI355X also warns that no system
  // preset carries it: only the precision warnings are counted here).
  const auto emulated = [](const Scenario& s) {
    return std::count_if(s.warnings.begin(), s.warnings.end(),
                         [](const std::string& w) { return w.find("emulated") != std::string::npos; });
  };
  CHECK(emulated(test::scenario_from(scenario("{preset: kimi-k2, weights: mxfp4}", "mi355x"))) == 0);
  CHECK(emulated(test::scenario_from(scenario("{preset: kimi-k2, weights: nvfp4}", "mi355x"))) == 1);
}

TEST_CASE("gpt-oss defaults to its released precision: MXFP4 experts, everything else BF16") {
  const Scenario s = test::scenario_from(scenario("{preset: gpt-oss-120b}", "h100-sxm"));
  CHECK(s.model.weights == Precision::mxfp4);
  CHECK(s.model.spec.quantized_parts.experts);
  CHECK(!s.model.spec.quantized_parts.attention);
  CHECK(!s.model.spec.quantized_parts.embeddings);
  CHECK(s.warnings.size() == 1);  // MXFP4 on an H100: emulated
}

TEST_CASE("model.quantized_parts chooses the parts the weight precision applies to") {
  const Scenario s =
      test::scenario_from(scenario("{preset: kimi-k2, weights: nvfp4, quantized_parts: [experts, dense_ffn]}", "b200"));
  CHECK(s.model.spec.quantized_parts.experts);
  CHECK(s.model.spec.quantized_parts.dense_ffn);
  CHECK(!s.model.spec.quantized_parts.attention);
  CHECK(!s.model.spec.quantized_parts.embeddings);
  CHECK(error_of(scenario("{preset: kimi-k2, quantized_parts: [experts, mlp]}", "b200")) ==
        "test.yaml:9:53: model.quantized_parts: unknown part 'mlp'; allowed: attention, dense_ffn, experts, "
        "shared_experts, embeddings");
  CHECK(error_of(scenario("{preset: qwen3-235b-a22b, quantized_parts: [shared_experts]}", "b200")) ==
        "test.yaml:9:52: model.quantized_parts: qwen3-235b-a22b has no shared_experts to quantise "
        "(moe.shared_experts 0)");
  CHECK(error_of(scenario("{preset: llama-3.1-8b, quantized_parts: [experts]}", "b200")) ==
        "test.yaml:9:49: model.quantized_parts: llama-3.1-8b has no experts to quantise (ffn_pattern 'D')");
  CHECK(error_of(scenario("{preset: kimi-k2, quantized_parts: [experts, experts]}", "b200")) ==
        "test.yaml:9:53: model.quantized_parts: 'experts' is listed twice");
}

TEST_CASE("model.ssm_state keeps a state-space state apart from the KV cache, in bf16 or fp32") {
  CHECK(test::scenario_from(scenario("{preset: nemotron-nano-12b-v2, ssm_state: fp32}", "h100-sxm")).model.ssm_state_bytes ==
        4.0);
  CHECK(test::scenario_from(scenario("{preset: nemotron-nano-12b-v2, ssm_state: bf16}", "h100-sxm")).model.ssm_state_bytes ==
        2.0);
  CHECK(test::scenario_from(scenario("{preset: nemotron-nano-12b-v2}", "h100-sxm")).model.ssm_state_bytes == 0.0);
  // "model: {preset: nemotron-nano-12b-v2, ssm_state: fp16}" on line 9: the value at column 50.
  const std::string e = error_of(scenario("{preset: nemotron-nano-12b-v2, ssm_state: fp16}", "h100-sxm"));
  CHECK(e.find(":9:50:") != std::string::npos);
  CHECK(e.find("kv_cache") != std::string::npos);
  CHECK(e.find("fp32") != std::string::npos);
}
