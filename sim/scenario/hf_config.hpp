#pragma once
// A model's architecture read from its Hugging Face config.json, for
// `model: {hf_config: FILE}` and `convsim catalog import FILE`.
//
// Supported model_type values: llama, qwen2, qwen3, qwen3_moe, mixtral,
// deepseek_v3 (and kimi_k2, which uses its code), gpt_oss, gemma3 (its
// text_config) and gemma3_text, nemotron_h, mamba2. Their fields map to the
// catalog's schema (models/catalog/models/*.yaml):
//   layer pattern   Qwen3-MoE decoder_sparse_step / mlp_only_layers, DeepSeek
//                   first_k_dense_replace, gpt-oss layer_types, Gemma 3
//                   sliding_window_pattern (or layer_types), Nemotron-H
//                   hybrid_override_pattern (M Mamba-2, * attention, - MLP)
//   experts         num_experts / num_local_experts / n_routed_experts,
//                   num_experts_per_tok, moe_intermediate_size, n_shared_experts
//   MLA             q_lora_rank, kv_lora_rank, qk_nope_head_dim, qk_rope_head_dim,
//                   v_head_dim
//   windows         sliding_window
//   state           state_size / ssm_state_size, n_groups, head_dim /
//                   mamba_head_dim, num_heads / mamba_num_heads, conv_kernel
//   precision       quantization_config (fp8 -> fp8; mxfp4 -> mxfp4 experts)
// Fields that do not change the cost (token ids, norms' epsilon, rotary
// settings, dropout, ...) are accepted and ignored. Any other field is refused
// by name, as are values convsim cannot model (a sliding window in only some
// Qwen2 layers, DeepSeek moe_layer_freq other than 1, ...), and inconsistent
// dimensions. Errors are ConfigError "FILE:LINE:COLUMN: message", located at
// the field in the JSON text.

#include <string>

#include "models/architecture.hpp"

namespace convsim {

// The architecture of the model in config.json at `path`, validated like an
// inline model (`name` from _name_or_path, else the file's folder).
// Throws ConfigError.
ModelSpec read_hf_config(const std::string& path);

// The catalog preset (YAML text) for the config.json at `path`:
// params_published is the count computed from the shape, to be replaced by the
// published total, and sources names the file. Throws ConfigError.
std::string hf_config_preset_yaml(const std::string& path);

}  // namespace convsim
