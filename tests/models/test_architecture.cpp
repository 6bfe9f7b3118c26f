#include <cmath>

#include <catch2/catch.hpp>

#include "models/architecture.hpp"
#include "models/transformer_cost.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;

TEST_CASE("every catalog model's parameter count is within 2% of its published total") {
  for (const auto& [name, model] : test::catalog().models) {
    INFO(name << ": computed " << total_params(model) << ", published " << model.params_published);
    CHECK(total_params(model) == Approx(model.params_published).epsilon(0.02));
  }
}

TEST_CASE("KV bytes per token are 2 * layers * kv_heads * head_dim * element bytes") {
  const ModelSpec& m = test::catalog().models.at("llama-3.1-8b");
  // Llama-3.1-8B: 32 layers, 8 KV heads of 128: 2 * 32 * 8 * 128 * 2 bytes = 131072.
  CHECK(kv_bytes_per_token(m, 2.0) == 131072.0);
  CHECK(kv_bytes_per_token(m, 1.0) == 65536.0);
}

TEST_CASE("a stage's layers and KV heads split evenly, the first stages taking the remainder") {
  CHECK(stage_layers(126, 8, 0) == 16);  // 126 = 6 * 16 + 2 * 15
  CHECK(stage_layers(126, 8, 5) == 16);
  CHECK(stage_layers(126, 8, 6) == 15);
  int sum = 0;
  for (int s = 0; s < 8; ++s) sum += stage_layers(126, 8, s);
  CHECK(sum == 126);
  const ModelSpec& m = test::catalog().models.at("llama-3.1-70b");
  CHECK(kv_heads_per_gpu(m, 4) == 2);
  CHECK(kv_heads_per_gpu(m, 16) == 1);  // fewer KV heads than GPUs: replicated
}

TEST_CASE("the weights held by all GPUs of a sharding add up to the model's weight bytes") {
  for (const auto& [name, model] : test::catalog().models) {
    for (int pp : {1, 2, 4}) {
      double sum = 0;
      for (int s = 0; s < pp; ++s) sum += stage_weight_bytes(model, Precision::bf16, Sharding{1, pp, s});
      // Tied embeddings split over stages: the last stage holds its own copy for the LM head.
      const double copy = model.tied_embeddings && pp > 1 ? static_cast<double>(model.vocab_tokens) * model.d_model : 0;
      INFO(name << " pp " << pp);
      CHECK(sum == Approx(2.0 * (total_params(model) + copy)).epsilon(1e-9));
    }
  }
}

// ---- Architectures beyond dense GQA, on small hand-built models ----

namespace {

ModelSpec small_dense() {
  ModelSpec m;
  m.name = "small";
  m.layers = 4;
  m.d_model = 1024;
  m.heads = 8;
  m.kv_heads = 2;
  m.head_dim = 128;
  m.ffn_dim = 4096;
  m.vocab_tokens = 32000;
  m.max_context_tokens = 1 << 20;
  return m;
}

ModelSpec small_moe() {
  ModelSpec m = small_dense();
  m.ffn_pattern = "E";
  m.moe = MoeSpec{64, 4, 1, 512, 1024, 0, 1.0};
  return m;
}

double mlp_weight_bytes(const StageWork& w) { return w.weight_bytes_read; }

}  // namespace

TEST_CASE("a MoE decode at batch 1 reads the weights of top_k routed and the shared experts only") {
  const ModelSpec m = small_moe();
  const StageWork w = stage_work(m, {}, Sharding{1, 1, 0}, {SequenceWork{1, 100, true}});
  const double d = 1024;
  const double attention = d * 1024 + 2 * d * 256 + 1024 * d;
  const double router = d * 64;
  const double routed = 4 * 3 * d * 512;   // top_k experts: one token touches exactly 4
  const double shared = 1 * 3 * d * 1024;
  const double lm_head = d * 32000;
  CHECK(mlp_weight_bytes(w) == Approx(2.0 * (4 * (attention + router + routed + shared) + lm_head)).epsilon(1e-12));
}

TEST_CASE("a MoE decode at batch 64 reads the expected number of distinct experts") {
  const ModelSpec m = small_moe();
  const std::vector<SequenceWork> batch(64, SequenceWork{1, 100, true});
  const StageWork w = stage_work(m, {}, Sharding{1, 1, 0}, batch);
  // 64 tokens each choosing 4 of 64 experts: 64 * (1 - (1 - 4/64)^64) = 63.0 distinct.
  const double distinct = 64.0 * (1.0 - std::pow(1.0 - 4.0 / 64.0, 64.0));
  CHECK(expected_distinct_experts(64, 4, 64) == Approx(distinct));
  CHECK(distinct == Approx(63.0).margin(0.2));
  const StageWork one = stage_work(m, {}, Sharding{1, 1, 0}, {SequenceWork{1, 100, true}});
  const double expert_bytes = 2.0 * 3 * 1024 * 512;
  CHECK(w.weight_bytes_read - one.weight_bytes_read == Approx(4 * (distinct - 4) * expert_bytes).epsilon(1e-9));
  // FLOPs grow with the tokens, not with the experts touched: 64 tokens * top_k.
  CHECK(w[KernelClass::mlp].flops == Approx(64 * one[KernelClass::mlp].flops).epsilon(1e-9));
}

TEST_CASE("a MoE model's active parameters count top_k routed experts, its total all of them") {
  const ModelSpec m = small_moe();
  const double d = 1024;
  const double per_layer_common = d * 1024 + 2 * d * 256 + 1024 * d + d * 64 + 3 * d * 1024 + 2 * d;
  const double common = 4 * per_layer_common + 2 * 32000 * d + d;
  CHECK(total_params(m) == Approx(common + 4 * 64 * 3 * d * 512));
  CHECK(active_params(m) == Approx(common + 4 * 4 * 3 * d * 512));
}

TEST_CASE("MLA stores a latent of kv_lora_rank + rope dim per token and layer, on every TP GPU") {
  ModelSpec m = small_dense();
  m.heads = 16;
  m.kv_heads = 16;
  m.mla = MlaSpec{512, 1536, 128, 64, 128};
  CHECK(kv_bytes_per_token(m, 2.0) == 4 * (512 + 64) * 2.0);
  // Replicated across tensor parallelism, unlike GQA's heads.
  CHECK(stage_sequence_bytes(m, Precision::bf16, Sharding{8, 1, 0}, 1000) == 1000 * 4 * (512 + 64) * 2.0);
  const ModelSpec gqa = small_dense();
  CHECK(stage_sequence_bytes(gqa, Precision::bf16, Sharding{2, 1, 0}, 1000) == 1000 * 4 * 2 * 1 * 128 * 2.0);
}

TEST_CASE("sliding-window attention stops costing more once the context passes the window") {
  ModelSpec m = small_dense();
  m.mixer_pattern = "W";
  m.window_tokens = 4096;
  auto attention = [&](long context) {
    return stage_work(m, {}, Sharding{1, 1, 0}, {SequenceWork{1, context, true}})[KernelClass::attention];
  };
  CHECK(attention(8000).flops == attention(100000).flops);
  CHECK(attention(8000).hbm_bytes == attention(100000).hbm_bytes);
  CHECK(attention(1000).flops < attention(3000).flops);  // still growing below the window
  // KV memory stops at the window too.
  CHECK(kv_bytes_for_context(m, 2.0, 100000) == kv_bytes_for_context(m, 2.0, 4096));
  // The pair count by hand: 10 new tokens over 4090 cached with a window of 4096:
  // the first 6 see 4091..4096 tokens, the other 4 see 4096.
  CHECK(attention_pairs(10, 4090, 4096) == Approx(6 * (4090 + 3.0) + 4 * 4096.0));
}

TEST_CASE("a state-space layer's cost per token does not depend on the context") {
  ModelSpec m = small_dense();
  m.mixer_pattern = "S";
  m.ffn_pattern = "N";
  m.heads = m.kv_heads = m.head_dim = 0;
  SsmSpec ssm;
  ssm.d_state = 128;
  ssm.expand = 2;
  ssm.head_dim = 64;
  ssm.n_groups = 1;
  ssm.conv_kernel = 4;
  m.ssm = ssm;
  auto work = [&](long context) { return stage_work(m, {}, Sharding{1, 1, 0}, {SequenceWork{1, context, true}}); };
  CHECK(work(10).flops() == work(1'000'000).flops());
  CHECK(work(10).hbm_bytes() == work(1'000'000).hbm_bytes());
  CHECK(kv_bytes_per_token(m, 2.0) == 0.0);
  // The state: d_inner * d_state + (conv_kernel - 1) * conv_dim per layer, conv_dim =
  // d_inner + 2 * n_groups * d_state; d_inner = 2 * 1024.
  const double state = 2048.0 * 128 + 3.0 * (2048 + 2 * 128);
  CHECK(state_bytes_per_sequence(m, 2.0) == Approx(4 * state * 2.0));
  CHECK(work(10).state_bytes == Approx(2 * 4 * state * 2.0));  // read and written once

  // Kept in FP32 apart from a BF16 KV cache: 4 bytes an element, read and written,
  // and 4 bytes an element held per sequence.
  const Precisions fp32_state{Precision::bf16, Precision::bf16, 4.0};
  const StageWork in_fp32 = stage_work(m, fp32_state, Sharding{1, 1, 0}, {SequenceWork{1, 10, true}});
  CHECK(in_fp32.state_bytes == Approx(2 * 4 * state * 4.0));
  CHECK(stage_sequence_bytes(m, Precision::bf16, Sharding{1, 1, 0}, 10, 4.0) == Approx(4 * state * 4.0));
  CHECK(stage_sequence_bytes(m, Precision::bf16, Sharding{1, 1, 0}, 10) == Approx(4 * state * 2.0));
}

TEST_CASE("INT4 weights are a quarter of BF16 bytes, FP8 a half") {
  for (const auto& [name, preset] : test::catalog().models) {
    // Every part quantised, the embeddings and LM head included (the default keeps
    // them in BF16, checked below; partial presets in tests/models/test_precision.cpp).
    ModelSpec model = preset;
    model.quantized_parts = QuantizedParts{true, true, true, true, true};
    const double bf16 = stage_weight_bytes(model, Precision::bf16, Sharding{1, 1, 0});
    const double int4 = stage_weight_bytes(model, Precision::int4, Sharding{1, 1, 0});
    const double fp8 = stage_weight_bytes(model, Precision::fp8, Sharding{1, 1, 0});
    // Norm vectors stay in BF16: at most a few parts in 10^4 of the total.
    INFO(name);
    CHECK(int4 == Approx(bf16 / 4).epsilon(1e-3));
    CHECK(fp8 == Approx(bf16 / 2).epsilon(1e-3));
  }
}

TEST_CASE("by default an FP8 checkpoint keeps its embeddings and LM head in BF16") {
  const ModelSpec& model = test::catalog().models.at("llama-3.1-8b");
  REQUIRE(!model.quantized_parts.has(WeightPart::embeddings));
  const double vocab_rows = static_cast<double>(model.vocab_tokens) * model.d_model;
  const double embeddings = vocab_rows * (model.tied_embeddings ? 1.0 : 2.0);  // input embedding + LM head
  const double bf16 = stage_weight_bytes(model, Precision::bf16, Sharding{1, 1, 0});
  const double fp8 = stage_weight_bytes(model, Precision::fp8, Sharding{1, 1, 0});
  // RMSNorm vectors, BF16 in both: one per mixer and one per FFN in each layer, and the
  // final one. BF16 bytes = 2 (matrices + embeddings + norms); FP8 halves only the
  // layers' matrices.
  const double norms = 2.0 * model.layers * model.d_model + model.d_model;
  const double matrices_bf16 = bf16 - 2.0 * embeddings - 2.0 * norms;
  CHECK(fp8 == Approx(matrices_bf16 / 2 + 2.0 * embeddings + 2.0 * norms).epsilon(1e-12));
}

TEST_CASE("every catalog MoE model's active parameter count is within 2% of its published figure") {
  for (const auto& [name, model] : test::catalog().models) {
    if (model.active_params_published <= 0) continue;
    INFO(name << ": computed " << active_params(model) << ", published " << model.active_params_published);
    CHECK(active_params(model) == Approx(model.active_params_published).epsilon(0.02));
  }
}

TEST_CASE("with experts spread over the TP group, a GPU holds and reads whole experts, the busiest computing imbalance times its share") {
  ModelSpec m = small_moe();  // 64 experts, top 4, expert FFN 512, one shared expert of 1024
  const std::vector<SequenceWork> batch(64, SequenceWork{1, 100, true});
  const double d = 1024, w = 2.0;
  // Each of the 4 GPUs holds 16 whole experts instead of a quarter of all 64: the
  // same bytes per GPU, held differently.
  CHECK(stage_weight_bytes(m, Precision::bf16, Sharding{4, 1, 0, 4}) ==
        Approx(stage_weight_bytes(m, Precision::bf16, Sharding{4, 1, 0, 1})));
  const StageWork tp_only = stage_work(m, {}, Sharding{4, 1, 0, 1}, batch);
  const StageWork uniform = stage_work(m, {}, Sharding{4, 1, 0, 4}, batch);
  m.moe->imbalance = 2.0;
  const StageWork skewed = stage_work(m, {}, Sharding{4, 1, 0, 4}, batch);
  // Expert FLOPs: 64 tokens x top 4 = 256 assignments over 4 GPUs, 64 each on
  // average; the iteration waits for the busiest: 64 + z4 sqrt(256 x 1/4 x 3/4),
  // z4 = 1.0491 the expected largest of 4 standard normals (Blom's quantile
  // (4 - 0.375) / 4.25 of the normal table) = 71.27; with imbalance 2, 142.54.
  // Each assignment costs 2 * 3 * d * 512 FLOPs.
  const double per_assignment = 2.0 * 3 * d * 512;
  const double router_and_shared = 2.0 * d * 64 * 64 + 2.0 * 64 * 3 * d * 1024 / 4;
  for (const StageWork* work : {&tp_only, &uniform, &skewed}) CHECK((*work)[KernelClass::mlp].flops == Approx(4 * router_and_shared));
  CHECK(tp_only[KernelClass::experts].flops == Approx(4 * 256 * per_assignment / 4));
  CHECK(uniform[KernelClass::experts].flops == Approx(4 * 71.2686 * per_assignment).epsilon(1e-5));
  CHECK(skewed[KernelClass::experts].flops == Approx(4 * 142.5372 * per_assignment).epsilon(1e-5));
  // Weights read: an expert is touched with q = 1 - (1 - 4/64)^64 = 0.98392. With TP
  // only, each GPU reads a quarter of the 64 q touched experts (15.74 experts' bytes);
  // with whole experts the busiest GPU touches 16 q + z4 sqrt(16 q (1 - q)) = 16.27
  // of its 16: all 16, imbalance or not.
  const double expert_bytes = 3.0 * d * 512 * w;
  const double q = 1.0 - std::pow(1.0 - 4.0 / 64, 64);
  CHECK(uniform.weight_bytes_read ==
        Approx(tp_only.weight_bytes_read - 4 * (64 * q * expert_bytes / 4 - 16 * expert_bytes)).epsilon(1e-9));
  CHECK(uniform.weight_bytes_read == Approx(skewed.weight_bytes_read));
}

// ---- Today's models against their published totals ----

TEST_CASE("today's open models' parameter counts are within 2% of their published totals") {
  struct Published {
    const char* preset;
    double total;
    double active;
    bool active_without_input_embedding;  // the model card leaves the embedding lookup out
    const char* source;
  };
  const Published models[] = {
      {"gpt-oss-120b", 116.83e9, 5.13e9, true, "OpenAI, gpt-oss-120b & gpt-oss-20b Model Card (Aug 2025), Table 1"},
      {"gpt-oss-20b", 20.91e9, 3.61e9, true, "OpenAI, gpt-oss-120b & gpt-oss-20b Model Card (Aug 2025), Table 1"},
      {"llama-4-maverick", 400e9, 17e9, false, "Meta Llama 4 model card: Maverick 17B active, 400B total"},
      {"qwen3-coder-480b-a35b", 480e9, 35e9, false, "Qwen3-Coder model card: 480B total, 35B activated"},
      {"kimi-k2", 1.04e12, 32.6e9, false, "Kimi Team, Kimi K2: Open Agentic Intelligence, arXiv:2507.20534"},
  };
  for (const Published& p : models) {
    const ModelSpec& m = test::catalog().models.at(p.preset);
    const double input_embedding = static_cast<double>(m.vocab_tokens) * m.d_model;
    const double active = active_params(m) - (p.active_without_input_embedding ? input_embedding : 0.0);
    INFO(p.preset << " (" << p.source << "): total " << total_params(m) << " vs " << p.total << ", active " << active
                  << " vs " << p.active);
    CHECK(total_params(m) == Approx(p.total).epsilon(0.02));
    CHECK(active == Approx(p.active).epsilon(0.02));
    CHECK(m.params_published == p.total);
  }
}

TEST_CASE("kimi-k2 is the catalog's Kimi-K2-shaped moe-1t under its own name") {
  const ModelSpec& kimi = test::catalog().models.at("kimi-k2");
  const ModelSpec& shaped = test::catalog().models.at("moe-1t");
  CHECK(total_params(kimi) == total_params(shaped));
  CHECK(active_params(kimi) == active_params(shaped));
  CHECK(kv_bytes_per_token(kimi, 1.0) == 61 * (512 + 64));  // MLA latent per layer (config.json)
}
