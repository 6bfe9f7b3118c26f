#pragma once
// The shape of a decoder-only transformer, as published in its config, and the
// quantities that follow from it (parameter counts, KV-cache bytes per token).

#include <string>
#include <vector>

namespace convsim {

struct ModelSpec {
  std::string name;
  std::string description;
  std::string architecture = "dense";  // dense (multi-head or grouped-query attention)
  int layers = 0;
  int d_model = 0;
  int heads = 0;
  int kv_heads = 0;
  int head_dim = 0;
  int ffn_dim = 0;
  bool gated_mlp = true;   // SwiGLU: gate, up and down matrices
  int vocab_tokens = 0;
  bool tied_embeddings = false;
  long max_context_tokens = 0;
  double params_published = 0;  // total parameters as published, for cross-checks
  std::vector<std::string> sources;
};

// Parameters of one decoder layer's matrices (attention projections and MLP).
double layer_linear_params(const ModelSpec& model);

// Parameters of one decoder layer including its two norms.
double layer_params(const ModelSpec& model);

// Total parameters: layers, embeddings, LM head (unless tied) and the final norm.
double total_params(const ModelSpec& model);

// Bytes of KV cache per token for the whole model:
// 2 (K and V) * layers * kv_heads * head_dim * bytes per element.
double kv_bytes_per_token(const ModelSpec& model, double kv_element_bytes);

// Attention width (heads * head_dim), the d_attn of the attention FLOP formula.
double attention_width(const ModelSpec& model);

}  // namespace convsim
