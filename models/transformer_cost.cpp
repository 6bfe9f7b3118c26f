#include "models/transformer_cost.hpp"

#include <algorithm>

namespace convsim {
namespace {

constexpr double kActivationBytes = 2.0;  // activations and attention run in BF16

// Elementwise passes over the residual stream per layer, each reading and writing
// d_model values per token: two norms (read + write), rotary embedding of Q and K,
// the MLP activation and two residual adds (two reads + one write).
constexpr double kElementwisePassesPerLayer = 10.0;
constexpr int kElementwiseKernelsPerLayer = 6;

void add_matmul(KernelWork& work, double k, double n, double tokens, double weight_bytes) {
  work.flops += 2.0 * k * n * tokens;
  work.hbm_bytes += k * n * weight_bytes + tokens * (k + n) * kActivationBytes;
  work.kernels += 1;
}

}  // namespace

std::string_view kernel_class_name(KernelClass kernel_class) {
  switch (kernel_class) {
    case KernelClass::projections: return "projections";
    case KernelClass::attention: return "attention";
    case KernelClass::mlp: return "mlp";
    case KernelClass::elementwise: return "elementwise";
    case KernelClass::lm_head: return "lm_head";
  }
  return "?";
}

double StageWork::flops() const {
  double sum = 0;
  for (const auto& k : by_class) sum += k.flops;
  return sum;
}

double StageWork::hbm_bytes() const {
  double sum = 0;
  for (const auto& k : by_class) sum += k.hbm_bytes;
  return sum;
}

int stage_layers(int layers, int pp, int stage) {
  return layers / pp + (stage < layers % pp ? 1 : 0);
}

int kv_heads_per_gpu(const ModelSpec& model, int tp) { return std::max(1, model.kv_heads / tp); }

double stage_weight_bytes(const ModelSpec& m, Precision weights, Sharding s) {
  const double w = element_bytes(weights);
  const int layers = stage_layers(m.layers, s.pp, s.stage);
  const double d = m.d_model;
  const double q_cols = attention_width(m) / s.tp;
  const double kv_cols = static_cast<double>(kv_heads_per_gpu(m, s.tp)) * m.head_dim;
  const double per_layer = d * q_cols + 2.0 * d * kv_cols + q_cols * d +
                           (m.gated_mlp ? 3.0 : 2.0) * d * m.ffn_dim / s.tp;
  double bytes = layers * (per_layer * w + 2.0 * d * kActivationBytes);
  const double vocab_slice = static_cast<double>(m.vocab_tokens) * d / s.tp;
  if (s.stage == 0) bytes += vocab_slice * w;
  if (s.stage == s.pp - 1) bytes += (m.tied_embeddings && s.pp == 1 ? 0.0 : vocab_slice * w) + d * kActivationBytes;
  return bytes;
}

double stage_kv_bytes_per_token(const ModelSpec& m, Precision kv_cache, Sharding s) {
  return 2.0 * stage_layers(m.layers, s.pp, s.stage) * kv_heads_per_gpu(m, s.tp) * m.head_dim *
         element_bytes(kv_cache);
}

double activation_bytes(const ModelSpec& m, int tp, long tokens) {
  const double widest = (m.gated_mlp ? 2.0 : 1.0) * m.ffn_dim / tp + 2.0 * m.d_model;
  return static_cast<double>(tokens) * widest * kActivationBytes;
}

StageWork stage_work(const ModelSpec& m, Precisions p, Sharding s, const std::vector<SequenceWork>& batch) {
  StageWork work;
  const double w = element_bytes(p.weights);
  const double kv_elem = element_bytes(p.kv_cache);
  const int layers = stage_layers(m.layers, s.pp, s.stage);
  const double d = m.d_model;
  const double q_cols = attention_width(m) / s.tp;
  const double kv_cols = static_cast<double>(kv_heads_per_gpu(m, s.tp)) * m.head_dim;
  const double ffn_cols = static_cast<double>(m.ffn_dim) / s.tp;

  double tokens = 0, emitting = 0, attention_token_pairs = 0, kv_tokens_read = 0;
  for (const SequenceWork& seq : batch) {
    const double n = static_cast<double>(seq.new_tokens);
    const double c = static_cast<double>(seq.context_tokens);
    tokens += n;
    emitting += seq.emits_token ? 1.0 : 0.0;
    attention_token_pairs += n * (c + n / 2.0);
    kv_tokens_read += c + n;
  }
  work.tokens = static_cast<long>(tokens);

  for (int layer = 0; layer < layers; ++layer) {
    KernelWork& proj = work[KernelClass::projections];
    add_matmul(proj, d, q_cols + 2.0 * kv_cols, tokens, w);  // fused QKV
    add_matmul(proj, q_cols, d, tokens, w);                  // output projection
    KernelWork& mlp = work[KernelClass::mlp];
    add_matmul(mlp, d, (m.gated_mlp ? 2.0 : 1.0) * ffn_cols, tokens, w);  // fused gate+up
    add_matmul(mlp, ffn_cols, d, tokens, w);                               // down
  }
  work.weight_bytes = layers * (d * (q_cols + 2.0 * kv_cols) + q_cols * d +
                                (m.gated_mlp ? 3.0 : 2.0) * d * ffn_cols) * w;

  KernelWork& attn = work[KernelClass::attention];
  const double kv_row_bytes = 2.0 * kv_cols * kv_elem;  // K and V of one token, one layer
  work.kv_bytes_read = layers * kv_tokens_read * kv_row_bytes;
  work.kv_bytes_written = layers * tokens * kv_row_bytes;
  attn.flops = layers * 4.0 * q_cols * attention_token_pairs;
  attn.hbm_bytes = work.kv_bytes_read + work.kv_bytes_written + layers * tokens * 2.0 * q_cols * kActivationBytes;
  attn.kernels = layers;

  KernelWork& elementwise = work[KernelClass::elementwise];
  elementwise.hbm_bytes = layers * kElementwisePassesPerLayer * tokens * d * kActivationBytes;
  elementwise.flops = layers * kElementwisePassesPerLayer * tokens * d;
  elementwise.kernels = layers * kElementwiseKernelsPerLayer;

  if (s.stage == 0) {  // embedding lookup: one row per token
    elementwise.hbm_bytes += tokens * d * (w + kActivationBytes);
    elementwise.kernels += 1;
  }
  if (s.stage == s.pp - 1 && emitting > 0) {
    const double vocab_cols = static_cast<double>(m.vocab_tokens) / s.tp;
    add_matmul(work[KernelClass::lm_head], d, vocab_cols, emitting, w);
    work.weight_bytes += d * vocab_cols * w;
  }

  if (s.tp > 1) {
    work.allreduces = 2 * layers;
    work.allreduce_buffer_bytes = tokens * d * kActivationBytes;
  }
  if (s.stage < s.pp - 1) work.send_bytes = tokens * d * kActivationBytes;
  return work;
}

}  // namespace convsim
