#include "models/sparse_attention.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace convsim {
namespace {

constexpr double kActivationBytes = 2.0;  // the indexer's inputs arrive in BF16
constexpr double kFp8Bytes = 1.0;

// Matrix parameters of one layer's indexer: wq_b, then wk and weights_proj (which
// vLLM fuses into one GEMM over the hidden state).
double query_matrix(const ModelSpec& m) {
  const SparseAttentionSpec& s = *m.sparse_attention;
  return static_cast<double>(m.mla->q_lora_rank) * s.indexer_heads * s.indexer_head_dim;
}
double key_and_weight_matrix(const ModelSpec& m) {
  const SparseAttentionSpec& s = *m.sparse_attention;
  return static_cast<double>(m.d_model) * (s.indexer_head_dim + s.indexer_heads);
}

}  // namespace

double indexer_params(const ModelSpec& m) {
  if (!m.sparse_attention || !m.mla) return 0.0;
  const double key_norm = 2.0 * m.sparse_attention->indexer_head_dim;  // LayerNorm weight and bias
  return query_matrix(m) + key_and_weight_matrix(m) + key_norm;
}

double indexer_key_bytes_per_token(const ModelSpec& m) {
  if (!m.sparse_attention) return 0.0;
  const double d = m.sparse_attention->indexer_head_dim;
  return d * kFp8Bytes + std::ceil(d / kIndexerQuantBlockValues) * kIndexerScaleBytes;
}

double sparse_rows_read(double new_tokens, double context_tokens, double top_k_tokens) {
  return std::min(context_tokens + new_tokens, new_tokens * top_k_tokens);
}

KernelWork indexer_work(const ModelSpec& m, double weight_bytes, double tokens, double pairs, double rows_read) {
  assert(m.sparse_attention && m.mla && "indexer_work needs sparse attention over MLA");
  const SparseAttentionSpec& s = *m.sparse_attention;
  const double heads = s.indexer_heads, d = s.indexer_head_dim;
  const double key_bytes = indexer_key_bytes_per_token(m);
  KernelWork work;
  // Projections: wq_b over the compressed query, wk + weights_proj over the hidden state.
  const double matrices = query_matrix(m) + key_and_weight_matrix(m);
  work.flops += 2.0 * matrices * tokens;
  work.hbm_bytes += matrices * weight_bytes +
                    tokens * (m.mla->q_lora_rank + static_cast<double>(m.d_model)) * kActivationBytes;
  // Scores over every visible token, from the cached FP8 keys; each new token's key
  // written, its FP8 queries and FP32 head weights read.
  work.flops += 2.0 * heads * (d + 1.0) * pairs;
  work.hbm_bytes += rows_read * key_bytes + tokens * key_bytes + tokens * heads * (d * kFp8Bytes + kIndexerScaleBytes);
  // The FP32 scores written, then read by the top-k selection.
  work.hbm_bytes += 2.0 * kIndexerLogitBytes * pairs;
  work.kernels += 4;  // wq_b GEMM, fused wk + weights_proj GEMM, FP8 logits, top-k selection
  return work;
}

}  // namespace convsim
