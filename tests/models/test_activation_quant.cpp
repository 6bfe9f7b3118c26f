// FP8/FP4 matmuls take quantised inputs: an engine that quantises them in kernels of
// their own (activation_quantisation: separate) adds one elementwise pass per matmul
// input, elements x (2 + weight bytes) bytes. Expectations are written here from
// that definition (models/transformer_cost.hpp), not taken from the code.

#include <catch2/catch.hpp>

#include "models/power.hpp"
#include "models/transformer_cost.hpp"
#include "sim/engine/iteration_cost.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;

namespace {

constexpr double kBf16Bytes = 2.0;

std::vector<SequenceWork> decode_batch(long sequences, long context_tokens) {
  return std::vector<SequenceWork>(static_cast<std::size_t>(sequences), SequenceWork{1, context_tokens, 1});
}

// Every kernel class but the elementwise one, compared field by field.
void check_only_elementwise_differs(const StageWork& with, const StageWork& without) {
  for (int i = 0; i < kKernelClasses; ++i) {
    if (static_cast<KernelClass>(i) == KernelClass::elementwise) continue;
    INFO(kernel_class_name(static_cast<KernelClass>(i)));
    CHECK(with.by_class[i].flops == without.by_class[i].flops);
    CHECK(with.by_class[i].hbm_bytes == without.by_class[i].hbm_bytes);
    CHECK(with.by_class[i].kernels == without.by_class[i].kernels);
  }
}

}  // namespace

TEST_CASE("separate quantisation adds one pass per dense matmul input: QKV and output projection and gate+up and down") {
  const ModelSpec& m = test::catalog().models.at("llama-3.1-8b");
  const int tp = 2;
  const long sequences = 48;
  const Precisions fp8{Precision::fp8, Precision::bf16};
  Sharding plain{tp, 1, 0};
  Sharding quantised = plain;
  quantised.input_quant_bytes = 1.0;  // FP8: one byte an element (per-token scales not counted)
  const StageWork without = stage_work(m, fp8, plain, decode_batch(sequences, 3000));
  const StageWork with = stage_work(m, fp8, quantised, decode_batch(sequences, 3000));
  // Per layer and token: the QKV input (d_model), the output projection's (the query
  // width over tp), the MLP's gate+up input (d_model) and its down input (ffn / tp).
  const double per_token = m.d_model + static_cast<double>(m.heads) * m.head_dim / tp + m.d_model +
                           static_cast<double>(m.ffn_dim) / tp;
  const double elements = m.layers * sequences * per_token;
  const KernelWork& e_with = with[KernelClass::elementwise];
  const KernelWork& e_without = without[KernelClass::elementwise];
  CHECK(e_with.hbm_bytes - e_without.hbm_bytes == Approx(elements * (kBf16Bytes + 1.0)).epsilon(1e-12));
  CHECK(e_with.flops - e_without.flops == Approx(2.0 * elements).epsilon(1e-12));
  CHECK(e_with.kernels - e_without.kernels == 4 * m.layers);
  check_only_elementwise_differs(with, without);
}

TEST_CASE("only quantised parts take the passes: gpt-oss's MXFP4 experts but not its BF16 attention") {
  const ModelSpec& m = test::catalog().models.at("gpt-oss-120b");
  REQUIRE(m.moe);
  REQUIRE_FALSE(m.quantized_parts.has(WeightPart::attention));
  const MoeSpec& e = *m.moe;
  const long sequences = 16;
  const double q = element_bytes(Precision::mxfp4);  // 4 bits + one 8-bit scale per 32
  CHECK(q == Approx(0.53125));
  const Precisions p{Precision::mxfp4, Precision::bf16};
  Sharding plain{1, 1, 0};
  Sharding quantised = plain;
  quantised.input_quant_bytes = q;
  const StageWork without = stage_work(m, p, plain, decode_batch(sequences, 1000));
  const StageWork with = stage_work(m, p, quantised, decode_batch(sequences, 1000));
  int moe_layers = 0;
  for (int l = 0; l < m.layers; ++l) moe_layers += m.ffn(l) == Ffn::experts ? 1 : 0;
  REQUIRE(moe_layers == m.layers);
  REQUIRE(e.shared_experts == 0);
  // Per MoE layer on one GPU (ep = 1): the call's input, every token's d_model values,
  // and the inner activation between its grouped GEMMs, top_k rows of expert_ffn_dim
  // a token; the router stays in BF16.
  const double elements =
      moe_layers * (static_cast<double>(sequences) * m.d_model + static_cast<double>(sequences) * e.top_k * e.expert_ffn_dim);
  const KernelWork& e_with = with[KernelClass::elementwise];
  const KernelWork& e_without = without[KernelClass::elementwise];
  CHECK(e_with.hbm_bytes - e_without.hbm_bytes == Approx(elements * (kBf16Bytes + q)).epsilon(1e-12));
  CHECK(e_with.kernels - e_without.kernels == 2 * moe_layers);
  check_only_elementwise_differs(with, without);
}

TEST_CASE("Maverick's FP8 release takes passes for its routed experts only") {
  // Routed experts FP8, shared expert, attention and dense MLPs BF16 (see
  // tests/models/test_precision.cpp): two passes per MoE layer, none elsewhere.
  ModelSpec m = test::catalog().models.at("llama-4-maverick");
  m.quantized_parts = QuantizedParts{false, false, true, false, false};
  const Precisions p{Precision::fp8, Precision::bf16};
  Sharding plain{8, 1, 0, 8};
  Sharding quantised = plain;
  quantised.input_quant_bytes = 1.0;
  const StageWork without = stage_work(m, p, plain, decode_batch(8, 2000));
  const StageWork with = stage_work(m, p, quantised, decode_batch(8, 2000));
  int moe_layers = 0;
  for (int l = 0; l < m.layers; ++l) moe_layers += m.ffn(l) == Ffn::experts ? 1 : 0;
  CHECK(with[KernelClass::elementwise].kernels - without[KernelClass::elementwise].kernels == 2 * moe_layers);
  check_only_elementwise_differs(with, without);
}

TEST_CASE("the passes run where the weights have their own tensor cores and the engine quantises apart") {
  const Catalog& c = test::catalog();
  const EngineProfile& vllm = c.engines.at("vllm");
  const EngineProfile& trtllm = c.engines.at("trtllm");
  REQUIRE(vllm.separate_activation_quant);
  REQUIRE_FALSE(trtllm.separate_activation_quant);
  const GpuSpec& h100 = c.gpus.at("h100-sxm");
  const GpuSpec& a100 = c.gpus.at("a100-sxm");
  const GpuSpec& b200 = c.gpus.at("b200");
  CHECK(input_quant_bytes(vllm, tensor_core_paths(h100, Precision::fp8), Precision::fp8) == 1.0);
  CHECK(input_quant_bytes(trtllm, tensor_core_paths(h100, Precision::fp8), Precision::fp8) == 0.0);
  CHECK(input_quant_bytes(vllm, tensor_core_paths(h100, Precision::bf16), Precision::bf16) == 0.0);
  // The A100 has no FP8 tensor cores: FP8 weights are dequantised to BF16, inputs stay BF16.
  CHECK(input_quant_bytes(vllm, tensor_core_paths(a100, Precision::fp8), Precision::fp8) == 0.0);
  // INT4 is weight-only everywhere.
  CHECK(input_quant_bytes(vllm, tensor_core_paths(h100, Precision::int4), Precision::int4) == 0.0);
  // NVFP4 on the B200's FP4 tensor cores: 4 bits and one 8-bit scale per 16 elements.
  CHECK(input_quant_bytes(vllm, tensor_core_paths(b200, Precision::nvfp4), Precision::nvfp4) == Approx(0.5625));
}

TEST_CASE("an FP8 decode step under vLLM reads the passes' bytes more than under TensorRT-LLM") {
  // The same 8-sequence decode step (a captured graph size of both engines), FP8
  // weights on one H100: the engines' work differs only by the quantisation passes.
  const auto scenario_for = [](const std::string& engine) {
    return test::scenario_from(R"(
name: fp8-step
requests: {count: 8, input_tokens: {fixed: 100}, output_tokens: {fixed: 10}, arrival: {all_at_once: true}}
model: {preset: llama-3.1-8b, weights: fp8}
cluster: {gpu: h100-sxm, nodes: 1, gpus_per_node: 1}
parallelism: {tp: 1}
serving: {engine: )" + engine + R"(, max_batch_seqs: 8}
)");
  };
  const Scenario vllm = scenario_for("vllm");
  const Scenario trtllm = scenario_for("trtllm");
  const ModelSpec& m = vllm.model.spec;
  const auto batch = decode_batch(8, 500);
  const IterationCost a = CostModel(vllm).iteration(batch);
  const IterationCost b = CostModel(trtllm).iteration(batch);
  const double per_token = 2.0 * m.d_model + static_cast<double>(m.heads) * m.head_dim + m.ffn_dim;
  CHECK(a.hbm_bytes - b.hbm_bytes == Approx(m.layers * 8.0 * per_token * (kBf16Bytes + 1.0)).epsilon(1e-9));
  CHECK(a.stages[0].work[KernelClass::elementwise].kernels - b.stages[0].work[KernelClass::elementwise].kernels ==
        4 * m.layers);
  CHECK(a.flops - b.flops == Approx(2.0 * m.layers * 8.0 * per_token).epsilon(1e-9));
}
