// What context parallelism, wide expert parallelism and micro-batching do to one
// GPU's work, checked against formulas written here from the definitions in
// models/transformer_cost.hpp (no simulation).

#include <algorithm>

#include <cmath>

#include <catch2/catch.hpp>

#include "models/transformer_cost.hpp"
#include "sim/engine/iteration_cost.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;

namespace {

constexpr double kBf16Bytes = 2.0;

int layers_with(const ModelSpec& m, Ffn ffn) {
  int count = 0;
  for (int l = 0; l < m.layers; ++l) count += m.ffn(l) == ffn ? 1 : 0;
  return count;
}

}  // namespace

TEST_CASE("wide EP moves 2 * top_k * d_model activations per token per MoE layer, (ep-1)/ep of them off the GPU") {
  const ModelSpec& m = test::catalog().models.at("moe-1t");
  const MoeSpec& e = *m.moe;
  const int tp = 8, ep = 64;
  const long tokens = 512;  // decode: 512 sequences of one token
  std::vector<SequenceWork> batch(static_cast<std::size_t>(tokens), SequenceWork{1, 4000, true});
  const StageWork w = stage_work(m, Precisions{}, Sharding{tp, 1, 0, ep, 1}, batch);
  const int moe_layers = layers_with(m, Ffn::experts);
  REQUIRE(moe_layers == m.layers - 1);  // the first layer is dense
  // Each GPU dispatches its T / ep tokens to top_k experts and gets them back.
  const double per_token_per_layer = 2.0 * e.top_k * m.d_model * kBf16Bytes * (ep - 1.0) / ep;
  CHECK(w.all_to_all_bytes == Approx(moe_layers * per_token_per_layer * tokens / ep).epsilon(1e-12));
  CHECK(w.all_to_alls == 2 * moe_layers);
  // Attention runs on ep / tp = 8 groups: the busiest holds 512 / 8 sequences.
  const double local = static_cast<double>(tokens) / (ep / tp);
  CHECK(w.tokens == Approx(local));
  // FFN FLOPs of the busiest GPU: experts see every group's tokens (imbalance times
  // its share of the assignments, whole experts); the router and the shared expert
  // run on its group's tokens, the shared expert split tp ways; layer 0 is dense.
  const double d = m.d_model;
  // The busiest GPU's assignments: mean + z_ep standard deviations of its
  // Binomial(T top_k, 1/ep) share (z_ep, the expected largest of ep standard
  // normals, is checked against the normal table in test_experts_and_mla.cpp).
  const double all = static_cast<double>(tokens) * e.top_k;
  const double assignments =
      std::min(all, e.imbalance * (all / ep + expected_max_standard_normal(ep) * std::sqrt(all / ep * (1 - 1.0 / ep))));
  const double shared_cols = static_cast<double>(e.shared_experts) * e.shared_expert_ffn_dim / tp;
  const double router_and_shared =
      2.0 * d * e.experts * local + 2.0 * local * d * 2.0 * shared_cols + 2.0 * local * shared_cols * d;
  const double routed = 2.0 * assignments * 3.0 * d * e.expert_ffn_dim;
  const double dense_layer = 2.0 * local * d * 2.0 * m.ffn_dim / tp + 2.0 * local * m.ffn_dim / tp * d;
  // The routed experts' grouped GEMMs are their own kernel class; the router and the
  // shared expert stay with the dense FFNs.
  CHECK(w[KernelClass::mlp].flops == Approx(moe_layers * router_and_shared + dense_layer).epsilon(1e-12));
  CHECK(w[KernelClass::experts].flops == Approx(moe_layers * routed).epsilon(1e-12));
  // Inside the TP group there is no all-to-all.
  const StageWork narrow = stage_work(m, Precisions{}, Sharding{tp, 1, 0, tp, 1}, batch);
  CHECK(narrow.all_to_all_bytes == 0);
  CHECK(narrow.all_to_alls == 0);
}

TEST_CASE("context parallelism splits a long prefill's tokens and attention pairs cp ways and passes KV around the ring") {
  const ModelSpec& m = test::catalog().models.at("llama-3.1-70b");
  const int tp = 8;
  const double n = 8192, c = 16384;  // a prefill chunk over cached context
  const std::vector<SequenceWork> chunk{SequenceWork{static_cast<long>(n), static_cast<long>(c), true}};
  const StageWork one = stage_work(m, Precisions{}, Sharding{tp, 1, 0, 1, 1}, chunk);
  for (int cp : {2, 4, 8}) {
    INFO("cp = " << cp);
    const StageWork w = stage_work(m, Precisions{}, Sharding{tp, 1, 0, 1, cp}, chunk);
    CHECK(w.tokens == Approx(n / cp));
    CHECK(w[KernelClass::attention].flops == Approx(one[KernelClass::attention].flops / cp).epsilon(1e-12));
    CHECK(w[KernelClass::projections].flops == Approx(one[KernelClass::projections].flops / cp).epsilon(1e-12));
    // Per layer: pass KV ((c + n) / cp rows of 2 * kv_heads/tp * head_dim BF16) or
    // queries (2 * n / cp rows of heads/tp * head_dim), cp - 1 times, the cheaper.
    const double kv_row = 2.0 * (m.kv_heads / tp) * m.head_dim * kBf16Bytes;
    const double q_row = static_cast<double>(m.heads) / tp * m.head_dim * kBf16Bytes;
    const double pass_kv = (c + n) / cp * kv_row, pass_q = 2.0 * n / cp * q_row;
    CHECK(w.ring_bytes == Approx(m.layers * (cp - 1) * std::min(pass_kv, pass_q)).epsilon(1e-12));
    CHECK(w.ring_steps == m.layers * (cp - 1));
    // Each of the rank's n / cp query rows meets the cp shards of the cache in one
    // attention kernel per ring step: its tiles' fixed work is paid cp times, 4 x query
    // width per key each time, and each layer runs cp attention kernels.
    const double query_width = static_cast<double>(m.heads) / tp * m.head_dim;
    CHECK(w[KernelClass::attention].flops_per_key ==
          Approx(m.layers * cp * 4.0 * query_width * (n / cp)).epsilon(1e-12));
    CHECK(w[KernelClass::attention].kernels == m.layers * cp);
    // Passing KV, each rank reads every cached row once.
    REQUIRE(pass_kv < pass_q);
    CHECK(w.kv_bytes_read == Approx(one.kv_bytes_read).epsilon(1e-12));
    // Each rank holds 1/cp of a sequence's KV cache.
    CHECK(stage_sequence_bytes(m, Precision::bf16, Sharding{tp, 1, 0, 1, cp}, c) ==
          Approx(stage_sequence_bytes(m, Precision::bf16, Sharding{tp, 1, 0, 1, 1}, c) / cp));
  }
}

TEST_CASE("context-parallel decode passes queries, and each rank reads only its 1/cp of the cache") {
  const ModelSpec& m = test::catalog().models.at("llama-3.1-70b");
  const int tp = 8, cp = 4;
  const double c = 100000;
  const std::vector<SequenceWork> batch(8, SequenceWork{1, static_cast<long>(c), true});
  const StageWork one = stage_work(m, Precisions{}, Sharding{tp, 1, 0, 1, 1}, batch);
  const StageWork w = stage_work(m, Precisions{}, Sharding{tp, 1, 0, 1, cp}, batch);
  const double q_row = static_cast<double>(m.heads) / tp * m.head_dim * kBf16Bytes;
  CHECK(w.ring_bytes == Approx(m.layers * (cp - 1) * 8 * 2.0 / cp * q_row).epsilon(1e-12));
  CHECK(w.kv_bytes_read == Approx(one.kv_bytes_read / cp).epsilon(1e-12));
  CHECK(w.tokens == 2);  // eight decode tokens dealt round-robin to four ranks
}

TEST_CASE("micro-batches split the tokens evenly, cut prefill chunks, and never cut a decode token") {
  const std::vector<SequenceWork> batch{{1, 100, true}, {1, 200, true}, {1000, 50, true}, {2, 10, false}};
  const auto micro = split_micro_batches(batch, 4);
  REQUIRE(micro.size() == 4);
  long total = 0;
  int emitting = 0;
  for (const auto& part : micro) {
    long tokens = 0;
    for (const SequenceWork& w : part) {
      tokens += w.new_tokens;
      emitting += static_cast<int>(w.logit_tokens);
    }
    CHECK(tokens <= (1004 + 3) / 4);  // the target: total over count, rounded up
    total += tokens;
  }
  CHECK(total == 1004);
  CHECK(emitting == 3);  // two decodes and the prefill's last part; the last chunk emits none
  // The prefill's later parts see the earlier ones as context.
  long seen = 50;
  for (const auto& part : micro) {
    for (const SequenceWork& w : part) {
      if (w.new_tokens < 2 || w.context_tokens < 50 || w.context_tokens == 10) continue;
      CHECK(w.context_tokens == seen);
      seen += w.new_tokens;
    }
  }
  CHECK(seen == 1050);
  // More micro-batches than tokens: one per token at most.
  CHECK(split_micro_batches({{1, 0, true}, {1, 0, true}}, 8).size() == 2);
}
