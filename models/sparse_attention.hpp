#pragma once
// DeepSeek Sparse Attention (DSA): the lightning indexer's parameters, key cache and
// cost, and the bound it puts on the main attention. Sources: DeepSeek-AI,
// "DeepSeek-V3.2-Exp: Boosting Long-Context Efficiency with DeepSeek Sparse
// Attention" (technical report, 2025), section 2.1; its reference inference code
// (huggingface.co/deepseek-ai/DeepSeek-V3.2-Exp, inference/model.py, class Indexer);
// vLLM's (vllm/model_executor/models/deepseek_v2.py, class Indexer).
//
// With H heads of d values (SparseAttentionSpec::indexer_heads, indexer_head_dim),
// per full-attention layer:
// - weights: wq_b (q_lora_rank x H d, from MLA's compressed query), wk (d_model x d),
//   weights_proj (d_model x H) and the key's LayerNorm (2 d). vLLM replicates them
//   on every tensor-parallel GPU ("no tensor parallel, just replicated"): neither
//   the indexer's weights nor its FLOPs shrink with tp;
// - the index score I(t, s) = sum_j w(t, j) ReLU(q(t, j) . k(s)) of every new token
//   t over every token s it can see: 2 H (d + 1) FLOPs per pair (H dot products of d,
//   then the weighted sum), in FP8, at the GPU's FP8 peak where it has one
//   (KernelClass::indexer);
// - the key cache: d FP8 values and one FP32 scale per 128 values per token
//   (132 bytes for d = 128: vLLM's indexer cache, head_dim + head_dim /
//   quant_block_size * 4), whatever the KV cache's precision; replicated on every
//   tensor-parallel GPU like the MLA latent; written once, read whole every step;
// - the scores, one FP32 value per pair, written by the scoring kernel and read by
//   the top-k selection: 8 bytes per pair.
// The main attention then attends to at most top_k tokens per query:
// attention_pairs(n, c, top_k) pairs for n new tokens over c cached ones, reading at
// most min(c + n, n * top_k) latent rows (each query's selection, never more than the
// context). The report implements DSA "based on the MQA mode of MLA" (the absorbed
// form) and runs short prefills in "a masked MHA mode to simulate DSA": a prefill
// chunk seeing at most top_k tokens keeps dense MLA's un-absorbed form, a longer
// one runs the absorbed form over its sparse pairs. Below top_k tokens DSA costs
// exactly dense MLA plus the indexer.

#include "models/architecture.hpp"
#include "models/transformer_cost.hpp"

namespace convsim {

// Values per FP32 scale in the indexer's FP8 keys (vLLM: quant_block_size = 128).
inline constexpr double kIndexerQuantBlockValues = 128.0;
inline constexpr double kIndexerScaleBytes = 4.0;
// The index scores are FP32 (DeepGEMM's fp8_mqa_logits and fp8_paged_mqa_logits
// return float32 [queries, keys]); the top-k selection reads them back.
inline constexpr double kIndexerLogitBytes = 4.0;

// Parameters of one layer's indexer; 0 without sparse attention.
double indexer_params(const ModelSpec& model);

// Bytes of the indexer's key cache per token and layer: indexer_head_dim FP8 values
// plus ceil(indexer_head_dim / 128) FP32 scales; 0 without sparse attention.
double indexer_key_bytes_per_token(const ModelSpec& model);

// Cached latent rows the sparse attention reads for n new tokens over c cached
// ones: min(c + n, n * top_k).
double sparse_rows_read(double new_tokens, double context_tokens, double top_k_tokens);

// One attention layer's indexer on one GPU: `tokens` new tokens, `pairs` (query,
// key) pairs over every visible token, `rows_read` cached keys read; its weights at
// `weight_bytes` each. The key bytes read and written are included in hbm_bytes.
// REQUIRES: model.sparse_attention and model.mla.
KernelWork indexer_work(const ModelSpec& model, double weight_bytes, double tokens, double pairs, double rows_read);

}  // namespace convsim
