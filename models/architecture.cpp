#include "models/architecture.hpp"

#include <algorithm>

#include "models/sparse_attention.hpp"

namespace convsim {
namespace {

double ssm_inner(const ModelSpec& m) { return ssm_inner_dim(m); }
double ssm_heads(const ModelSpec& m) { return ssm_inner(m) / m.ssm->head_dim; }
double ssm_conv_dim(const ModelSpec& m) { return ssm_inner(m) + 2.0 * m.ssm->n_groups * m.ssm->d_state; }

}  // namespace

double ssm_inner_dim(const ModelSpec& m) {
  if (!m.ssm) return 0.0;
  return m.ssm->d_inner > 0 ? m.ssm->d_inner : static_cast<double>(m.ssm->expand) * m.d_model;
}

bool QuantizedParts::has(WeightPart part) const {
  switch (part) {
    case WeightPart::attention: return attention;
    case WeightPart::dense_ffn: return dense_ffn;
    case WeightPart::experts: return experts;
    case WeightPart::shared_experts: return shared_experts;
    case WeightPart::embeddings: return embeddings;
  }
  return true;
}

const char* weight_part_name(WeightPart part) {
  switch (part) {
    case WeightPart::attention: return "attention";
    case WeightPart::dense_ffn: return "dense_ffn";
    case WeightPart::experts: return "experts";
    case WeightPart::shared_experts: return "shared_experts";
    case WeightPart::embeddings: return "embeddings";
  }
  return "?";
}

std::optional<WeightPart> parse_weight_part(const std::string& name) {
  for (WeightPart part : {WeightPart::attention, WeightPart::dense_ffn, WeightPart::experts, WeightPart::shared_experts,
                          WeightPart::embeddings}) {
    if (name == weight_part_name(part)) return part;
  }
  return std::nullopt;
}

std::string weight_part_names() { return "attention, dense_ffn, experts, shared_experts, embeddings"; }

Mixer ModelSpec::mixer(int layer) const {
  switch (mixer_pattern[static_cast<std::size_t>(layer) % mixer_pattern.size()]) {
    case 'W': return Mixer::sliding_attention;
    case 'S': return Mixer::state_space;
    case 'N': return Mixer::none;
    default: return Mixer::attention;
  }
}

Ffn ModelSpec::ffn(int layer) const {
  const char letter = ffn_pattern[static_cast<std::size_t>(layer) % ffn_pattern.size()];
  if (letter == 'E') return moe && layer < moe->first_dense_layers ? Ffn::dense : Ffn::experts;
  return letter == 'N' ? Ffn::none : Ffn::dense;
}

double attention_width(const ModelSpec& model) {
  return static_cast<double>(model.heads) * model.head_dim;
}

double kv_row_elements(const ModelSpec& m) {
  if (m.mla) return static_cast<double>(m.mla->kv_lora_rank) + m.mla->qk_rope_head_dim;
  return 2.0 * m.kv_heads * m.head_dim;
}

double ssm_state_elements(const ModelSpec& m) {
  if (!m.ssm) return 0.0;
  return ssm_inner(m) * m.ssm->d_state + (m.ssm->conv_kernel - 1.0) * ssm_conv_dim(m);
}

double mixer_params(const ModelSpec& m, Mixer mixer) {
  const double d = m.d_model;
  switch (mixer) {
    case Mixer::none: return 0.0;
    case Mixer::state_space: {
      const double inner = ssm_inner(m), heads = ssm_heads(m), conv = ssm_conv_dim(m);
      const double in_proj = d * (2.0 * inner + 2.0 * m.ssm->n_groups * m.ssm->d_state + heads);
      return in_proj + conv * m.ssm->conv_kernel + conv + 3.0 * heads + inner + inner * d;
    }
    case Mixer::attention:
    case Mixer::sliding_attention:
      if (m.mla) {
        const MlaSpec& a = *m.mla;
        const double h = m.heads, qk = a.qk_nope_head_dim + a.qk_rope_head_dim;
        const double q = a.q_lora_rank > 0 ? d * a.q_lora_rank + a.q_lora_rank + a.q_lora_rank * h * qk : d * h * qk;
        const double kv = d * (a.kv_lora_rank + a.qk_rope_head_dim) + a.kv_lora_rank +
                          a.kv_lora_rank * h * (a.qk_nope_head_dim + a.v_head_dim);
        const double indexer = mixer == Mixer::attention ? indexer_params(m) : 0.0;  // sparse attention
        return q + kv + h * a.v_head_dim * d + indexer;
      }
      return d * attention_width(m) + 2.0 * d * m.kv_heads * m.head_dim + attention_width(m) * d;
  }
  return 0.0;
}

double ffn_params(const ModelSpec& m, Ffn ffn, bool active_only) {
  const double d = m.d_model;
  switch (ffn) {
    case Ffn::none: return 0.0;
    case Ffn::dense: return (m.gated_mlp ? 3.0 : 2.0) * d * m.ffn_dim;
    case Ffn::experts: {
      const MoeSpec& e = *m.moe;
      const double routed = active_only ? e.top_k : e.experts;
      return d * e.experts + routed * 3.0 * d * e.expert_ffn_dim + e.shared_experts * 3.0 * d * e.shared_expert_ffn_dim;
    }
  }
  return 0.0;
}

double shared_expert_params(const ModelSpec& m) {
  if (!m.moe) return 0.0;
  return m.moe->shared_experts * 3.0 * m.d_model * m.moe->shared_expert_ffn_dim;
}

double layer_linear_params(const ModelSpec& m) {
  return mixer_params(m, Mixer::attention) + ffn_params(m, Ffn::dense, false);
}

double layer_params(const ModelSpec& m, int layer, bool active_only) {
  const Mixer mixer = m.mixer(layer);
  const Ffn ffn = m.ffn(layer);
  const double norms = (mixer != Mixer::none ? 1.0 : 0.0) + (ffn != Ffn::none ? 1.0 : 0.0);
  return mixer_params(m, mixer) + ffn_params(m, ffn, active_only) + norms * m.d_model;
}

namespace {

double model_params(const ModelSpec& m, bool active_only) {
  const double embeddings = static_cast<double>(m.vocab_tokens) * m.d_model;
  double sum = embeddings + (m.tied_embeddings ? 0.0 : embeddings) + m.d_model;
  for (int layer = 0; layer < m.layers; ++layer) sum += layer_params(m, layer, active_only);
  return sum;
}

}  // namespace

double total_params(const ModelSpec& m) { return model_params(m, false); }

double active_params(const ModelSpec& m) { return model_params(m, true); }

double weight_element_bytes(const ModelSpec& m, Precision weights, WeightPart part) {
  return m.quantized_parts.has(part) ? element_bytes(weights) : element_bytes(Precision::bf16);
}

double weight_bytes(const ModelSpec& m, Precision weights) {
  const double norm_bytes = element_bytes(Precision::bf16);
  const double embeddings = static_cast<double>(m.vocab_tokens) * m.d_model * (m.tied_embeddings ? 1.0 : 2.0);
  double sum = embeddings * weight_element_bytes(m, weights, WeightPart::embeddings) + m.d_model * norm_bytes;
  for (int layer = 0; layer < m.layers; ++layer) {
    const Mixer mixer = m.mixer(layer);
    const Ffn ffn = m.ffn(layer);
    const WeightPart ffn_part = ffn == Ffn::experts ? WeightPart::experts : WeightPart::dense_ffn;
    const double norms = (mixer != Mixer::none ? 1.0 : 0.0) + (ffn != Ffn::none ? 1.0 : 0.0);
    const double shared = ffn == Ffn::experts ? shared_expert_params(m) : 0.0;  // a part of its own
    sum += mixer_params(m, mixer) * weight_element_bytes(m, weights, WeightPart::attention) +
           (ffn_params(m, ffn, false) - shared) * weight_element_bytes(m, weights, ffn_part) +
           shared * weight_element_bytes(m, weights, WeightPart::shared_experts) + norms * m.d_model * norm_bytes;
  }
  return sum;
}

double kv_bytes_per_token(const ModelSpec& m, double kv_element_bytes) {
  double layers = 0, full_layers = 0;
  for (int layer = 0; layer < m.layers; ++layer) {
    const Mixer mixer = m.mixer(layer);
    layers += mixer == Mixer::attention || mixer == Mixer::sliding_attention ? 1.0 : 0.0;
    full_layers += mixer == Mixer::attention ? 1.0 : 0.0;
  }
  return layers * kv_row_elements(m) * kv_element_bytes + full_layers * indexer_key_bytes_per_token(m);
}

double kv_bytes_for_context(const ModelSpec& m, double kv_element_bytes, double context_tokens) {
  double tokens = 0, full_tokens = 0;
  for (int layer = 0; layer < m.layers; ++layer) {
    const Mixer mixer = m.mixer(layer);
    if (mixer == Mixer::attention) full_tokens += context_tokens;
    if (mixer == Mixer::sliding_attention) tokens += std::min(context_tokens, static_cast<double>(m.window_tokens));
  }
  return (tokens + full_tokens) * kv_row_elements(m) * kv_element_bytes +
         full_tokens * indexer_key_bytes_per_token(m);
}

double state_bytes_per_sequence(const ModelSpec& m, double state_element_bytes) {
  double layers = 0;
  for (int layer = 0; layer < m.layers; ++layer) layers += m.mixer(layer) == Mixer::state_space ? 1.0 : 0.0;
  return layers * ssm_state_elements(m) * state_element_bytes;
}

}  // namespace convsim
