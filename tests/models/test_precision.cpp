// Weight precisions, block scales included, and precision per part of a model.

#include <catch2/catch.hpp>

#include "models/architecture.hpp"
#include "models/power.hpp"
#include "models/precision.hpp"
#include "models/transformer_cost.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;

TEST_CASE("FP4 formats count their block scales: NVFP4 4.5 bits, MXFP4 4.25 bits per weight") {
  // NVFP4: 16 E2M1 values share one E4M3 scale; MXFP4: 32 share one E8M0 scale.
  CHECK(element_bits(Precision::nvfp4) == 4.0 + 8.0 / 16.0);
  CHECK(element_bits(Precision::mxfp4) == 4.0 + 8.0 / 32.0);
  CHECK(element_bytes(Precision::nvfp4) == 4.5 / 8.0);
  CHECK(element_bytes(Precision::mxfp4) == 4.25 / 8.0);
  CHECK(element_bytes(Precision::int4) == 0.5);
  CHECK(is_fp4(Precision::nvfp4));
  CHECK(!is_fp4(Precision::int4));
  for (const char* name : {"bf16", "fp8", "int8", "int4", "nvfp4", "mxfp4"}) {
    CHECK(precision_name(*parse_precision(name)) == name);
  }
  CHECK(!parse_precision("fp4"));
}

TEST_CASE("a model quantised everywhere weighs its matrix parameters x bits / 8 plus its BF16 norms") {
  for (const char* preset : {"kimi-k2", "llama-3.1-70b", "qwen3-coder-480b-a35b"}) {
    ModelSpec m = test::catalog().models.at(preset);
    m.quantized_parts = QuantizedParts{true, true, true, true, true};  // the embeddings too
    // RMSNorm vectors: one per mixer and one per FFN in each layer, and the final one.
    const double norms = 2.0 * m.layers * m.d_model + m.d_model;
    for (Precision p : {Precision::nvfp4, Precision::mxfp4, Precision::fp8}) {
      INFO(preset << " in " << precision_name(p));
      CHECK(weight_bytes(m, p) == Approx((total_params(m) - norms) * element_bits(p) / 8.0 + 2.0 * norms).epsilon(1e-12));
    }
  }
  // Kimi K2 in NVFP4: about 1.03e12 * 4.5 / 8 = 577 GB, against 2.05 TB in BF16.
  ModelSpec kimi = test::catalog().models.at("kimi-k2");
  kimi.quantized_parts = QuantizedParts{true, true, true, true, true};
  CHECK(weight_bytes(kimi, Precision::nvfp4) == Approx(577e9).epsilon(0.01));
}

TEST_CASE("gpt-oss as released (MXFP4 experts, BF16 elsewhere) has the published checkpoint sizes") {
  // OpenAI gpt-oss model card (Aug 2025), Table 1: checkpoint sizes 60.8 GiB (120b) and
  // 12.8 GiB (20b). Expected here: experts at 4.25 bits, every other weight at 16.
  struct Case {
    const char* preset;
    double checkpoint_gib;
  };
  for (const Case c : {Case{"gpt-oss-120b", 60.8}, Case{"gpt-oss-20b", 12.8}}) {
    const ModelSpec& m = test::catalog().models.at(c.preset);
    REQUIRE(m.default_weights == Precision::mxfp4);
    REQUIRE(!m.quantized_parts.attention);
    REQUIRE(m.quantized_parts.experts);
    const double d = m.d_model, experts = m.moe->experts, f = m.moe->expert_ffn_dim;
    const double expert_params = m.layers * (d * experts + experts * 3.0 * d * f);  // router counted with them
    const double expected = expert_params * 4.25 / 8.0 + (total_params(m) - expert_params) * 2.0;
    INFO(c.preset << ": " << weight_bytes(m, Precision::mxfp4) / (1024.0 * 1024 * 1024) << " GiB");
    CHECK(weight_bytes(m, Precision::mxfp4) == Approx(expected).epsilon(1e-12));
    CHECK(weight_bytes(m, Precision::mxfp4) / (1024.0 * 1024 * 1024) == Approx(c.checkpoint_gib).epsilon(0.01));
  }
}

TEST_CASE("shared experts are a part of their own: Maverick's FP8 release quantises only its routed experts") {
  // meta-llama/llama-models models/llama4/scripts/quantize.py (fp8_mixed): rowwise FP8
  // for the routed experts; attention, the shared expert, the dense MLPs and the
  // embeddings stay BF16. Expected: the routed experts (with their routers) at one
  // byte, every other weight at two.
  ModelSpec m = test::catalog().models.at("llama-4-maverick");
  m.quantized_parts = QuantizedParts{false, false, true, false, false};
  const double d = m.d_model, experts = m.moe->experts, f = m.moe->expert_ffn_dim;
  int moe_layers = 0;
  for (int l = 0; l < m.layers; ++l) moe_layers += m.ffn(l) == Ffn::experts ? 1 : 0;
  REQUIRE(moe_layers == 24);
  const double routed = moe_layers * (d * experts + experts * 3.0 * d * f);
  const double expected = routed * 1.0 + (total_params(m) - routed) * 2.0;
  CHECK(weight_bytes(m, Precision::fp8) == Approx(expected).epsilon(1e-12));
  // Quantising the shared experts as well saves one byte per shared parameter.
  const double shared = moe_layers * m.moe->shared_experts * 3.0 * d * m.moe->shared_expert_ffn_dim;
  m.quantized_parts.shared_experts = true;
  CHECK(weight_bytes(m, Precision::fp8) == Approx(expected - shared).epsilon(1e-12));
  // The stages' shards (no TP, whose GPUs replicate norms and routers) still add up.
  m.quantized_parts.shared_experts = false;
  double sum = 0;
  for (int s = 0; s < 3; ++s) sum += stage_weight_bytes(m, Precision::fp8, Sharding{1, 3, s});
  CHECK(sum == Approx(weight_bytes(m, Precision::fp8)).epsilon(1e-12));
}

TEST_CASE("the GPUs' weight shards add up to the model's weight bytes at mixed precision") {
  const ModelSpec& m = test::catalog().models.at("gpt-oss-120b");
  for (int pp : {1, 2, 4}) {
    double sum = 0;
    for (int s = 0; s < pp; ++s) sum += stage_weight_bytes(m, Precision::mxfp4, Sharding{1, pp, s});
    INFO("pp " << pp);
    CHECK(sum == Approx(weight_bytes(m, Precision::mxfp4)).epsilon(1e-12));
  }
}

TEST_CASE("a decode step reads the experts at their precision and attention at BF16 when only experts are quantised") {
  ModelSpec m = test::catalog().models.at("gpt-oss-120b");
  const std::vector<SequenceWork> one{SequenceWork{1, 1000, true}};
  const StageWork bf16 = stage_work(m, Precisions{Precision::bf16, Precision::bf16}, Sharding{1, 1, 0}, one);
  const StageWork mixed = stage_work(m, Precisions{Precision::mxfp4, Precision::bf16}, Sharding{1, 1, 0}, one);
  // One token touches top_k = 4 experts (and the router) per layer; only those bytes shrink.
  const double d = m.d_model;
  const double expert_bytes_bf16 = m.layers * (4 * 3.0 * d * m.moe->expert_ffn_dim + d * m.moe->experts) * 2.0;
  CHECK(bf16.weight_bytes_read - mixed.weight_bytes_read ==
        Approx(expert_bytes_bf16 * (1.0 - 4.25 / 16.0)).epsilon(1e-9));
  // Attention's matmuls and the LM head keep BF16 weights: they leave their own classes
  // for the BF16 tensor cores' (bf16_matmuls), with the same work.
  CHECK(mixed[KernelClass::projections].flops == 0.0);
  CHECK(mixed[KernelClass::lm_head].flops == 0.0);
  CHECK(mixed[KernelClass::bf16_matmuls].hbm_bytes ==
        Approx(bf16[KernelClass::projections].hbm_bytes + bf16[KernelClass::lm_head].hbm_bytes).epsilon(1e-12));
  CHECK(mixed[KernelClass::bf16_matmuls].flops ==
        Approx(bf16[KernelClass::projections].flops + bf16[KernelClass::lm_head].flops).epsilon(1e-12));
  CHECK(bf16[KernelClass::bf16_matmuls].flops == 0.0);
}

TEST_CASE("the matmuls an FP8 checkpoint keeps in BF16 are metered as BF16 FLOPs") {
  // llama-3.1-8b in FP8 on an H100: every layer matmul on the FP8 tensor cores, the
  // BF16 LM head (d x vocab per emitted token) on the BF16 ones.
  const ModelSpec& m = test::catalog().models.at("llama-3.1-8b");
  const GpuSpec& h100 = test::catalog().gpus.at("h100-sxm");
  const StageWork w = stage_work(m, {Precision::fp8, Precision::bf16}, Sharding{1, 1, 0}, {SequenceWork{1, 100, true}});
  const double head_flops = 2.0 * m.d_model * m.vocab_tokens;  // one emitted token
  const double layer_matmuls = w[KernelClass::projections].flops + w[KernelClass::mlp].flops;
  const double t_s = 0.01;
  const WorkRates rates = work_rates(h100, Precision::fp8, w, t_s);
  CHECK(w[KernelClass::bf16_matmuls].flops == Approx(head_flops).epsilon(1e-12));
  CHECK(rates.fp8_flops_per_s == Approx(layer_matmuls / t_s).epsilon(1e-12));
  CHECK(rates.bf16_flops_per_s == Approx((w.flops() - layer_matmuls) / t_s).epsilon(1e-12));
  CHECK(rates.bf16_flops_per_s * t_s >= head_flops);
}
