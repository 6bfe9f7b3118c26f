#pragma once
// The shape of a decoder-only transformer, as published in its config, and the
// quantities that follow from it (parameter counts, KV-cache bytes per token).

#include <optional>
#include <string>
#include <vector>

#include "models/precision.hpp"

namespace convsim {

// What mixes tokens in a layer. YAML letters of `mixer_pattern`: A (full attention),
// W (sliding-window attention over the last window_tokens), S (state-space / linear
// attention with a fixed-size state, Mamba-2 style), N (none).
enum class Mixer { attention, sliding_attention, state_space, none };
// The feed-forward part of a layer. YAML letters of `ffn_pattern`: D (dense MLP),
// E (mixture of experts), N (none).
enum class Ffn { dense, experts, none };

struct MoeSpec {
  int experts = 0;               // routed experts per MoE layer
  int top_k = 0;                 // routed experts per token
  int shared_experts = 0;        // experts every token goes through
  int expert_ffn_dim = 0;        // intermediate size of one routed expert
  int shared_expert_ffn_dim = 0; // intermediate size of one shared expert
  int first_dense_layers = 0;    // leading layers whose FFN is dense (DeepSeek-V3: 3)
  // Busiest expert's tokens over the mean (>= 1): how unevenly the router spreads
  // tokens. 1 is uniform routing.
  double imbalance = 1.0;
};

// Multi-head latent attention (DeepSeek-V2/V3): keys and values are stored as one
// compressed latent of kv_lora_rank plus a shared rotary key of qk_rope_head_dim.
struct MlaSpec {
  int kv_lora_rank = 0;
  int q_lora_rank = 0;  // 0: queries are not compressed
  int qk_nope_head_dim = 0;
  int qk_rope_head_dim = 0;
  int v_head_dim = 0;
};

// DeepSeek Sparse Attention (DSA, DeepSeek-V3.2-Exp technical report, section 2.1):
// in every full-attention layer a lightning indexer of indexer_heads heads of
// indexer_head_dim scores every previous token from an FP8 key it caches per token,
// and the main MLA attention attends only to the top_k_tokens best-scored ones. See
// models/sparse_attention.hpp for its parameters, cache and cost.
struct SparseAttentionSpec {
  long top_k_tokens = 0;  // tokens each query attends to (DeepSeek-V3.2-Exp: 2048)
  int indexer_heads = 0;
  int indexer_head_dim = 0;
};

// A Mamba-2 mixer: d_inner = expand * d_model (or given), split into d_inner /
// head_dim heads, a state of d_state per head dimension, n_groups B/C groups, a
// causal convolution.
struct SsmSpec {
  int d_state = 0;
  int expand = 2;
  int d_inner = 0;  // 0: expand * d_model
  int head_dim = 64;
  int n_groups = 1;
  int conv_kernel = 4;
};

// The parts of a model a weight precision can apply to. YAML names of
// `quantized_parts`: attention (the mixers' projections: attention, MLA or
// state-space), dense_ffn (dense MLPs), experts (the routed experts and their
// routers), shared_experts (the experts every token of an MoE layer goes through),
// embeddings (the input embedding and the LM head).
enum class WeightPart { attention, dense_ffn, experts, shared_experts, embeddings };

// Which parts are stored in the chosen weight precision; the others stay in BF16.
// gpt-oss, for example, ships its experts in MXFP4 and everything else in BF16.
// By default every part but the embeddings: FP8 and FP4 checkpoints keep the input
// embedding and the LM head in BF16 (NVIDIA ModelOpt's quantisation configs disable
// "*lm_head*" and quantise only linear layers; llm-compressor's FP8 checkpoints
// quantise "only the linear operators within transformers blocks"; Meta's FP8
// Llama 4 and DeepSeek-V3's FP8 release hold both in BF16).
struct QuantizedParts {
  bool attention = true;
  bool dense_ffn = true;
  bool experts = true;
  bool shared_experts = true;
  bool embeddings = false;

  bool has(WeightPart part) const;
};

// "attention", "dense_ffn", "experts", "shared_experts", "embeddings"; the list for messages.
const char* weight_part_name(WeightPart part);
std::optional<WeightPart> parse_weight_part(const std::string& name);
std::string weight_part_names();

struct ModelSpec {
  std::string name;
  std::string description;
  std::string architecture = "dense";  // dense, moe, hybrid or ssm: what the model is, for people
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
  double params_published = 0;         // total parameters as published, for cross-checks
  double active_params_published = 0;  // per token, for MoE (0: same as total)
  std::string mixer_pattern = "A";     // one letter per layer, or a pattern repeated over the layers
  std::string ffn_pattern = "D";
  long window_tokens = 0;              // of sliding-window layers
  Precision default_weights = Precision::bf16;  // the precision the model is meant for
  QuantizedParts quantized_parts;  // where the weight precision applies (default: all but the embeddings)
  // Multi-token-prediction layers shipped with the model (DeepSeek-V3: 1), used only
  // as a speculative-decoding draft; not part of the counts above.
  int mtp_layers = 0;
  std::optional<MoeSpec> moe;
  std::optional<MlaSpec> mla;
  std::optional<SparseAttentionSpec> sparse_attention;  // REQUIRES: mla with q_lora_rank > 0
  std::optional<SsmSpec> ssm;
  std::vector<std::string> sources;

  Mixer mixer(int layer) const;
  Ffn ffn(int layer) const;
};

// Parameters of one layer's mixer and FFN matrices (no norms).
double mixer_params(const ModelSpec& model, Mixer mixer);
double ffn_params(const ModelSpec& model, Ffn ffn, bool active_only);
// The shared experts' matrix parameters of one MoE layer (0 without experts).
double shared_expert_params(const ModelSpec& model);

// Parameters of one decoder layer's matrices (attention projections and MLP) of a
// layer with full attention and a dense MLP: the classic dense layer.
double layer_linear_params(const ModelSpec& model);

// Parameters of layer `layer` including its norms; with active_only, a MoE layer
// counts only the experts one token uses (top_k routed + shared + router).
double layer_params(const ModelSpec& model, int layer, bool active_only = false);

// Total parameters: layers, embeddings, LM head (unless tied) and the final norm.
double total_params(const ModelSpec& model);

// Parameters one token goes through (equal to total_params for non-MoE models).
double active_params(const ModelSpec& model);

// Bytes per weight of `part` when the model's weights are in `weights`: the
// precision's element bytes (block scales included) where model.quantized_parts
// holds the part, BF16's 2 bytes elsewhere.
double weight_element_bytes(const ModelSpec& model, Precision weights, WeightPart part);

// Bytes of all the model's weights in `weights`: each part's parameters times its
// weight_element_bytes, norms in BF16. With every part quantised this is
// total_params * element_bits / 8 (up to the norms' BF16 vectors).
double weight_bytes(const ModelSpec& model, Precision weights);

// Bytes of KV cache per token for the whole model, over its attention layers:
// 2 (K and V) * kv_heads * head_dim per layer for MHA/GQA, kv_lora_rank + rope dim
// per layer for MLA, plus with sparse attention the indexer's FP8 key and its scale
// (indexer_key_bytes_per_token, whatever kv_element_bytes). Sliding-window layers hold at most window_tokens tokens and
// state-space layers none: see kv_bytes_for_context.
double kv_bytes_per_token(const ModelSpec& model, double kv_element_bytes);

// KV bytes of a sequence of `context_tokens` for the whole model: full-attention
// layers grow with the context, sliding-window layers stop at the window.
double kv_bytes_for_context(const ModelSpec& model, double kv_element_bytes, double context_tokens);

// Fixed-size recurrent state of one sequence in the state-space layers (SSM state
// and convolution window), whole model.
double state_bytes_per_sequence(const ModelSpec& model, double state_element_bytes);

// Attention width (heads * head_dim), the d_attn of the attention FLOP formula.
double attention_width(const ModelSpec& model);

// Per-layer K/V row of one token (bytes per element = 1): 2 * kv_heads * head_dim,
// or the MLA latent kv_lora_rank + qk_rope_head_dim.
double kv_row_elements(const ModelSpec& model);

// Width of the state-space mixers: ssm.d_inner, or expand * d_model.
double ssm_inner_dim(const ModelSpec& model);

// State elements of one sequence in one state-space layer: d_inner * d_state plus
// the convolution window (conv_kernel - 1) * conv_dim.
double ssm_state_elements(const ModelSpec& model);

}  // namespace convsim
