#include "models/architecture.hpp"

namespace convsim {

double attention_width(const ModelSpec& model) {
  return static_cast<double>(model.heads) * model.head_dim;
}

double layer_linear_params(const ModelSpec& m) {
  const double d = m.d_model;
  const double q = attention_width(m);
  const double kv = static_cast<double>(m.kv_heads) * m.head_dim;
  const double attention = d * q + 2.0 * d * kv + q * d;
  const double mlp = (m.gated_mlp ? 3.0 : 2.0) * d * m.ffn_dim;
  return attention + mlp;
}

double layer_params(const ModelSpec& m) { return layer_linear_params(m) + 2.0 * m.d_model; }

double total_params(const ModelSpec& m) {
  const double embeddings = static_cast<double>(m.vocab_tokens) * m.d_model;
  const double lm_head = m.tied_embeddings ? 0.0 : embeddings;
  return m.layers * layer_params(m) + embeddings + lm_head + m.d_model;
}

double kv_bytes_per_token(const ModelSpec& m, double kv_element_bytes) {
  return 2.0 * m.layers * m.kv_heads * m.head_dim * kv_element_bytes;
}

}  // namespace convsim
