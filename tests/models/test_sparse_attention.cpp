// DeepSeek Sparse Attention (models/sparse_attention.hpp) against formulas written
// here from the DeepSeek-V3.2-Exp report and config.json: the indexer's key cache,
// its FLOPs over every visible token, the main MLA attention bounded by top_k
// tokens per query, and bad input refused at its place.

#include <algorithm>
#include <string>

#include <catch2/catch.hpp>

#include "models/roofline.hpp"
#include "models/sparse_attention.hpp"
#include "models/transformer_cost.hpp"
#include "sim/scenario/config_error.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;

namespace {

// DeepSeek-V3.2-Exp's shape (config.json), written out here.
constexpr double kLayers = 61, kHeads = 128, kLatent = 512, kRope = 64, kNope = 128, kV = 128, kQLora = 1536;
constexpr double kDModel = 7168, kIndexerHeads = 64, kIndexerDim = 128, kTopK = 2048;
// Per token and layer: the BF16 latent, and the indexer's FP8 key + one FP32 scale.
constexpr double kLatentBytes = (kLatent + kRope) * 2.0;
constexpr double kIndexerKeyBytes = kIndexerDim * 1.0 + 4.0;
// Indexer matrices per layer: wq_b, then wk + weights_proj.
constexpr double kIndexerMatrices = kQLora * kIndexerHeads * kIndexerDim + kDModel * (kIndexerDim + kIndexerHeads);

const ModelSpec& dense() { return test::catalog().models.at("deepseek-v3"); }
const ModelSpec& sparse() { return test::catalog().models.at("deepseek-v3.2-exp"); }

// Whole-model indexer FLOPs for `tokens` new tokens and `pairs` (query, key) pairs
// per layer: its projections plus 2 H (d + 1) per pair.
double indexer_flops(double tokens, double pairs) {
  return kLayers * (2.0 * kIndexerMatrices * tokens + 2.0 * kIndexerHeads * (kIndexerDim + 1.0) * pairs);
}

StageWork one(const ModelSpec& m, long new_tokens, long context_tokens) {
  return stage_work(m, Precisions{Precision::fp8, Precision::bf16}, Sharding{},
                    {SequenceWork{new_tokens, context_tokens, true}});
}

}  // namespace

TEST_CASE("the indexer's key cache holds 128 FP8 values and one FP32 scale per token and layer: 132 bytes") {
  CHECK(indexer_key_bytes_per_token(sparse()) == kIndexerKeyBytes);
  CHECK(kv_bytes_per_token(sparse(), 2.0) == Approx(kLayers * (kLatentBytes + kIndexerKeyBytes)).epsilon(1e-12));
  // Whatever the KV cache's precision: in FP8 only the latent halves.
  CHECK(kv_bytes_per_token(sparse(), 1.0) == Approx(kLayers * (kLatentBytes / 2 + kIndexerKeyBytes)).epsilon(1e-12));
  CHECK(kv_bytes_for_context(sparse(), 2.0, 100000) ==
        Approx(100000 * kLayers * (kLatentBytes + kIndexerKeyBytes)).epsilon(1e-12));
  // Replicated on every tensor-parallel GPU, as the latent is.
  CHECK(stage_sequence_bytes(sparse(), Precision::bf16, Sharding{8}, 4096) ==
        Approx(4096 * kLayers * (kLatentBytes + kIndexerKeyBytes)).epsilon(1e-12));
  CHECK(kv_bytes_per_token(dense(), 2.0) == Approx(kLayers * kLatentBytes).epsilon(1e-12));
}

TEST_CASE("the indexer adds its weights to every layer, replicated over tensor parallelism") {
  const double per_layer = kIndexerMatrices + 2.0 * kIndexerDim;  // + the key's LayerNorm weight and bias
  CHECK(indexer_params(sparse()) == per_layer);
  CHECK(total_params(sparse()) - total_params(dense()) == Approx(kLayers * per_layer).epsilon(1e-12));
  // FP8 weights: one byte each, on every one of 8 GPUs (LayerNorm vectors included at 1 byte too).
  const double tp8_growth = stage_weight_bytes(sparse(), Precision::fp8, Sharding{8}) -
                            stage_weight_bytes(dense(), Precision::fp8, Sharding{8});
  CHECK(tp8_growth == Approx(kLayers * per_layer).epsilon(1e-12));
}

TEST_CASE("below top_k tokens DSA costs exactly dense MLA plus the indexer (decode and prefill)") {
  struct Case {
    long n, c;
    double pairs;  // n (c + n / 2)
  };
  for (const Case& k : {Case{1, 1000, 1000.5}, Case{1, 2046, 2046.5}, Case{1000, 0, 500000.0},
                        Case{500, 1500, 500 * (1500 + 250.0)}}) {
    INFO("n " << k.n << " c " << k.c);
    const StageWork d = one(dense(), k.n, k.c), s = one(sparse(), k.n, k.c);
    CHECK(s[KernelClass::attention].flops == Approx(d[KernelClass::attention].flops).epsilon(1e-12));
    CHECK(s[KernelClass::attention].hbm_bytes == Approx(d[KernelClass::attention].hbm_bytes).epsilon(1e-12));
    CHECK(d[KernelClass::indexer].flops == 0.0);
    CHECK(s[KernelClass::indexer].flops == Approx(indexer_flops(static_cast<double>(k.n), k.pairs)).epsilon(1e-12));
    const double rows = static_cast<double>(k.c + k.n);
    CHECK(s.kv_bytes_read - d.kv_bytes_read == Approx(kLayers * rows * kIndexerKeyBytes).epsilon(1e-12));
    CHECK(s.kv_bytes_written - d.kv_bytes_written == Approx(kLayers * static_cast<double>(k.n) * kIndexerKeyBytes).epsilon(1e-12));
  }
}

TEST_CASE("above top_k tokens each new token attends to 2048 tokens and decode reads 2048 latents") {
  // One decode token over 131,071 cached: absorbed MLA, 2 h (2 L + r) FLOPs per
  // pair, over top_k pairs; the indexer scores all 131,071.5 (n (c + n/2)) pairs
  // and reads every cached key.
  const double c = 131071;
  const StageWork s = one(sparse(), 1, static_cast<long>(c));
  CHECK(s[KernelClass::attention].flops == Approx(kLayers * 2 * kHeads * (2 * kLatent + kRope) * kTopK).epsilon(1e-12));
  CHECK(s[KernelClass::indexer].flops == Approx(indexer_flops(1, c + 0.5)).epsilon(1e-12));
  CHECK(s.kv_bytes_read == Approx(kLayers * (kTopK * kLatentBytes + (c + 1) * kIndexerKeyBytes)).epsilon(1e-12));
  // Each more cached token costs the indexer its 132-byte key read and its FP32
  // score written and read back by the top-k selection: 140 bytes per layer.
  const StageWork longer = one(sparse(), 1, static_cast<long>(c) + 1000);
  CHECK(longer[KernelClass::indexer].hbm_bytes - s[KernelClass::indexer].hbm_bytes ==
        Approx(kLayers * 1000 * (kIndexerKeyBytes + 2 * 4.0)).epsilon(1e-9));
  // A prefill of 4,096 tokens over none: token i attends to min(i, k) tokens,
  // k^2 / 2 + (n - k) k pairs (the continuous count of attention_pairs); it sees more
  // than k tokens, so it runs the absorbed (MQA) form over them.
  const double n = 4096, pairs = kTopK * kTopK / 2 + (n - kTopK) * kTopK;
  const StageWork p = one(sparse(), static_cast<long>(n), 0);
  CHECK(p[KernelClass::attention].flops == Approx(kLayers * 2 * kHeads * (2 * kLatent + kRope) * pairs).epsilon(1e-12));
  CHECK(p[KernelClass::indexer].flops == Approx(indexer_flops(n, n * n / 2)).epsilon(1e-12));
  // Its FLOPs per key (a query tile's fixed work is counted in them) are the absorbed
  // form's for every one of its tokens; a prompt of 1,000 seeing at most k tokens runs
  // the un-absorbed form, as dense MLA does.
  CHECK(p[KernelClass::attention].flops_per_key ==
        Approx(kLayers * 2 * kHeads * (2 * kLatent + kRope) * n).epsilon(1e-12));
  CHECK(one(sparse(), 1000, 0)[KernelClass::attention].flops_per_key ==
        Approx(kLayers * 2 * kHeads * (kNope + kRope + kV) * 1000).epsilon(1e-12));
  // Dense MLA's un-absorbed prefill of the same prompt, for scale: n^2 / 2 pairs.
  const StageWork d = one(dense(), static_cast<long>(n), 0);
  CHECK(d[KernelClass::attention].flops == Approx(kLayers * 2 * kHeads * (kNope + kRope + kV) * n * n / 2).epsilon(1e-12));
}

TEST_CASE("with context parallelism each DSA rank does 1/cp of a long prefill's attention and indexing") {
  // A 16,384-token prompt over none on cp = 2 against cp = 1: each rank holds half
  // the queries, so half the top_k-bounded pairs (k^2/2 + (n - k) k in all) and half
  // the indexer's n^2/2 scored pairs.
  const double n = 16384;
  const Precisions p{Precision::fp8, Precision::bf16};
  const std::vector<SequenceWork> prompt{SequenceWork{static_cast<long>(n), 0, 1}};
  const StageWork one_rank = stage_work(sparse(), p, Sharding{1, 1, 0, 1, 1}, prompt);
  const StageWork half = stage_work(sparse(), p, Sharding{1, 1, 0, 1, 2}, prompt);
  const double pairs = kTopK * kTopK / 2 + (n - kTopK) * kTopK;
  CHECK(one_rank[KernelClass::attention].flops ==
        Approx(kLayers * 2 * kHeads * (2 * kLatent + kRope) * pairs).epsilon(1e-12));
  CHECK(half[KernelClass::attention].flops == Approx(one_rank[KernelClass::attention].flops / 2).epsilon(1e-12));
  // The indexer's projections follow the rank's tokens too: all of it halves.
  CHECK(half[KernelClass::indexer].flops == Approx(indexer_flops(n / 2, n * n / 4)).epsilon(1e-12));
  CHECK(one_rank[KernelClass::indexer].flops == Approx(indexer_flops(n, n * n / 2)).epsilon(1e-12));
}

TEST_CASE("DSA decode at 128K context costs well below dense MLA at the same context") {
  const GpuSpec& h100 = test::catalog().gpus.at("h100-sxm");
  const std::vector<SequenceWork> batch(8, SequenceWork{1, 131071, true});
  const Precisions p{Precision::fp8, Precision::bf16};
  const StageWork d = stage_work(dense(), p, Sharding{8}, batch);
  const StageWork s = stage_work(sparse(), p, Sharding{8}, batch);
  // Bytes of the attention side per GPU: every latent against 2048 latents and every 132-byte key.
  const double dense_kv = 8 * kLayers * 131072 * kLatentBytes;
  const double sparse_kv = 8 * kLayers * (kTopK * kLatentBytes + 131072 * kIndexerKeyBytes);
  CHECK(d.kv_bytes_read == Approx(dense_kv).epsilon(1e-12));
  CHECK(s.kv_bytes_read == Approx(sparse_kv).epsilon(1e-12));
  CHECK(sparse_kv / dense_kv < 0.15);  // (2048 x 1152 + 131072 x 132) / (131072 x 1152) = 0.13
  const StageTiming td = stage_time(h100, Precision::fp8, d), ts = stage_time(h100, Precision::fp8, s);
  const auto attention_side = [](const StageTiming& t) {
    return t.by_class[static_cast<int>(KernelClass::attention)].time_s +
           t.by_class[static_cast<int>(KernelClass::indexer)].time_s;
  };
  INFO("attention + indexer: dense " << attention_side(td) << " s, sparse " << attention_side(ts) << " s; step: dense "
                                     << td.compute_s << " s, sparse " << ts.compute_s << " s");
  // Only the attention side differs: every other kernel of the step (projections,
  // experts, norms) costs the same in both, so the step is shorter by exactly what
  // the attention side saves.
  CHECK(ts.compute_s - attention_side(ts) == Approx(td.compute_s - attention_side(td)).epsilon(1e-9));
  // The attention side reads 0.13 of the bytes plus the indexer's replicated weights
  // (61 x 14.0M at one byte, 0.85 GB against dense MLA's 73.7 GB of latents per GPU
  // group): whatever the kernels' efficiencies, it is the shorter one.
  const double indexer_weight_bytes = kLayers * 14.0e6;
  CHECK(sparse_kv + indexer_weight_bytes < 0.2 * dense_kv);
  CHECK(attention_side(ts) < attention_side(td));
}

namespace {

// A small MLA model inline; the sparse_attention line is line 18 (1-based), its
// value starting at column 23.
std::string inline_model(bool mla, const std::string& sparse_attention) {
  return std::string(R"(name: dsa
conversation: {duration_min: 1, speakers: [{name: a, turn_words: 5}]}
cluster: {gpu: h100-sxm, nodes: 1, gpus_per_node: 1}
parallelism: {tp: 1}
model:
  inline:
    layers: 2
    d_model: 256
    heads: 4
    kv_heads: 4
    head_dim: 32
    ffn_dim: 512
    gated_mlp: true
    vocab_tokens: 1000
    tied_embeddings: false
    max_context_tokens: 8192
)") + (mla ? "    mla: {kv_lora_rank: 64, q_lora_rank: 96, qk_nope_head_dim: 32, v_head_dim: 32}\n"
           : "    notes: no mla\n") +
         "    sparse_attention: " + sparse_attention + "\n";
}

std::string error_of(const std::string& yaml) {
  try {
    test::scenario_from(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("sparse attention without a positive top_k, an indexer field or MLA is refused at its place") {
  CHECK(error_of(inline_model(true, "{top_k_tokens: 64, indexer_heads: 4, indexer_head_dim: 32}")) == "(no error)");
  // "    sparse_attention: {top_k_tokens: " is 37 characters: the value is at column 38.
  const std::string zero = error_of(inline_model(true, "{top_k_tokens: 0, indexer_heads: 4, indexer_head_dim: 32}"));
  CHECK(zero.rfind("test.yaml:18:38: model.inline.sparse_attention.top_k_tokens", 0) == 0);
  CHECK(zero.find("0") != std::string::npos);
  const std::string negative =
      error_of(inline_model(true, "{top_k_tokens: -5, indexer_heads: 4, indexer_head_dim: 32}"));
  CHECK(negative.rfind("test.yaml:18:38: model.inline.sparse_attention.top_k_tokens", 0) == 0);
  CHECK(error_of(inline_model(true, "{top_k_tokens: 64, indexer_head_dim: 32}")) ==
        "test.yaml:18:23: model.inline.sparse_attention: missing required key 'indexer_heads'");
  CHECK(error_of(inline_model(true, "{top_k_tokens: 64, indexer_heads: 4}")) ==
        "test.yaml:18:23: model.inline.sparse_attention: missing required key 'indexer_head_dim'");
  CHECK(error_of(inline_model(false, "{top_k_tokens: 64, indexer_heads: 4, indexer_head_dim: 32}")) ==
        "test.yaml:18:23: model.inline.sparse_attention: sparse attention's indexer projects MLA's compressed query: "
        "it needs an mla: section with q_lora_rank > 0 (DeepSeek-V3.2-Exp: 1536)");
}
