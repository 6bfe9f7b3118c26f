// The readers of hf_config.cpp, one per model_type, and their registry.

#include <string>
#include <vector>

#include <fmt/core.h>

#include "sim/scenario/hf_config_fields.hpp"

namespace convsim::hf {
namespace {

// Attention heads of a GQA model: num_attention_heads, num_key_value_heads (default:
// as many as heads) and head_dim (default hidden_size / heads, which must divide).
void read_attention(Fields& f, Preset& p, long long d_model, const std::string& head_dim_key = "head_dim") {
  const long long heads = f.integer("num_attention_heads");
  const long long kv_heads = f.integer_or("num_key_value_heads", heads, 1);
  if (heads % kv_heads != 0) {
    f.fail("num_key_value_heads", fmt::format("num_attention_heads = {} must be a multiple of num_key_value_heads = {}",
                                              heads, kv_heads));
  }
  long long head_dim = f.integer_or(head_dim_key, 0, 1);
  if (head_dim == 0) {
    if (d_model % heads != 0) {
      f.fail("num_attention_heads", fmt::format("hidden_size = {} is not a multiple of num_attention_heads = {} "
                                                "and no {} is given",
                                                d_model, heads, head_dim_key));
    }
    head_dim = d_model / heads;
  }
  p.put("heads", heads, f.where("num_attention_heads"));
  p.put("kv_heads", kv_heads, f.where(f.has("num_key_value_heads") ? "num_key_value_heads" : "num_attention_heads"));
  p.put("head_dim", head_dim, f.where(f.has(head_dim_key) ? head_dim_key : "num_attention_heads"));
}

// quantization_config: fp8 (every part but the embeddings, the default) or mxfp4 (the
// experts, as gpt-oss ships).
void read_quantization(Fields& f, Preset& p) {
  if (!f.has("quantization_config")) {
    f.ignore({"quantization_config"});
    return;
  }
  const Json& q = f.object("quantization_config");
  const std::string where = f.where("quantization_config");
  const std::string method = q.contains("quant_method") && q.at("quant_method").is_string()
                                 ? q.at("quant_method").get<std::string>()
                                 : std::string("(none)");
  if (method == "fp8") {
    p.put("default_weights", "fp8", where);
  } else if (method == "mxfp4") {
    p.put("default_weights", "mxfp4", where);
    YAML::Node parts(YAML::NodeType::Sequence);
    parts.push_back("experts");
    p.put("quantized_parts", parts, where);
  } else {
    throw ConfigError(fmt::format("{}: quantization_config.quant_method '{}' is not supported; allowed: fp8, mxfp4 "
                                  "(or no quantization_config: bf16)",
                                  where, method));
  }
}

struct Common {
  long long layers = 0;
  long long d_model = 0;
};

Common read_common(Fields& f, Preset& p, bool tied_default) {
  Common c;
  c.layers = f.integer("num_hidden_layers");
  c.d_model = f.integer("hidden_size");
  p.put("layers", c.layers, f.where("num_hidden_layers"));
  p.put("d_model", c.d_model, f.where("hidden_size"));
  p.put("vocab_tokens", f.integer("vocab_size"), f.where("vocab_size"));
  p.put("tied_embeddings", f.boolean_or("tie_word_embeddings", tied_default), f.where("tie_word_embeddings"));
  return c;
}

void put_context(Fields& f, Preset& p) {
  p.put("max_context_tokens", f.integer("max_position_embeddings"), f.where("max_position_embeddings"));
}

// ---- One reader per model_type ----

void read_llama_like(Fields& f, Preset& p, bool qwen2_window) {
  const Common c = read_common(f, p, false);
  read_attention(f, p, c.d_model);
  p.put("ffn_dim", f.integer("intermediate_size"), f.where("intermediate_size"));
  p.put("gated_mlp", true, f.where("intermediate_size"));
  put_context(f, p);
  if (qwen2_window) {
    if (f.boolean_or("use_sliding_window", false)) {
      f.fail("use_sliding_window", "use_sliding_window: true (a window on the layers from max_window_layers on) is "
                                   "not modelled; allowed: false");
    }
    f.ignore({"sliding_window", "max_window_layers", "layer_types"});
  }
  read_quantization(f, p);
}

void read_qwen3_moe(Fields& f, Preset& p) {
  const Common c = read_common(f, p, false);
  read_attention(f, p, c.d_model);
  const long long experts = f.integer("num_experts");
  const long long top_k = f.integer("num_experts_per_tok");
  if (top_k > experts) {
    f.fail("num_experts_per_tok", fmt::format("num_experts_per_tok = {} exceeds num_experts = {}", top_k, experts));
  }
  const long long step = f.integer_or("decoder_sparse_step", 1, 1);
  const std::vector<long long> dense_layers = f.integers("mlp_only_layers");
  std::string ffn(static_cast<std::size_t>(c.layers), 'E');
  for (long long layer = 0; layer < c.layers; ++layer) {
    if ((layer + 1) % step != 0) ffn[static_cast<std::size_t>(layer)] = 'D';
  }
  for (long long layer : dense_layers) {
    if (layer < 0 || layer >= c.layers) {
      f.fail("mlp_only_layers", fmt::format("mlp_only_layers: layer {} is outside 0..{}", layer, c.layers - 1));
    }
    ffn[static_cast<std::size_t>(layer)] = 'D';
  }
  const bool has_dense = ffn.find('D') != std::string::npos;
  p.put("ffn_dim", has_dense ? f.integer("intermediate_size") : 0LL, f.where("intermediate_size"));
  f.ignore({"intermediate_size"});
  p.put("gated_mlp", true, f.where("moe_intermediate_size"));
  put_context(f, p);
  p.put("ffn_pattern", shortest_period(ffn), f.where("num_experts"));
  p.put_in("moe", "experts", experts, f.where("num_experts"));
  p.put_in("moe", "top_k", top_k, f.where("num_experts_per_tok"));
  p.put_in("moe", "expert_ffn_dim", f.integer("moe_intermediate_size"), f.where("moe_intermediate_size"));
  f.ignore({"use_sliding_window", "sliding_window", "max_window_layers", "layer_types"});
  if (f.has("use_sliding_window") && f.boolean_or("use_sliding_window", false)) {
    f.fail("use_sliding_window", "use_sliding_window: true is not modelled for qwen3_moe; allowed: false");
  }
  read_quantization(f, p);
}

void read_mixtral(Fields& f, Preset& p) {
  const Common c = read_common(f, p, false);
  read_attention(f, p, c.d_model);
  const long long experts = f.integer("num_local_experts");
  const long long top_k = f.integer("num_experts_per_tok");
  if (top_k > experts) {
    f.fail("num_experts_per_tok",
           fmt::format("num_experts_per_tok = {} exceeds num_local_experts = {}", top_k, experts));
  }
  p.put("ffn_dim", 0LL, f.where("intermediate_size"));
  p.put("gated_mlp", true, f.where("intermediate_size"));
  put_context(f, p);
  p.put("ffn_pattern", "E", f.where("num_local_experts"));
  p.put_in("moe", "experts", experts, f.where("num_local_experts"));
  p.put_in("moe", "top_k", top_k, f.where("num_experts_per_tok"));
  p.put_in("moe", "expert_ffn_dim", f.integer("intermediate_size"), f.where("intermediate_size"));
  if (f.has("sliding_window")) {
    p.put("mixer_pattern", "W", f.where("sliding_window"));
    p.put("window_tokens", f.integer("sliding_window"), f.where("sliding_window"));
  }
  f.ignore({"sliding_window"});
  read_quantization(f, p);
}

void read_deepseek_v3(Fields& f, Preset& p) {
  const Common c = read_common(f, p, false);
  const long long heads = f.integer("num_attention_heads");
  p.put("heads", heads, f.where("num_attention_heads"));
  p.put("kv_heads", f.integer_or("num_key_value_heads", heads, 1), f.where("num_key_value_heads"));
  p.put("head_dim", f.integer("v_head_dim"), f.where("v_head_dim"));
  p.put("ffn_dim", f.integer("intermediate_size"), f.where("intermediate_size"));
  p.put("gated_mlp", true, f.where("intermediate_size"));
  put_context(f, p);
  const long long experts = f.integer("n_routed_experts");
  const long long top_k = f.integer("num_experts_per_tok");
  if (top_k > experts) {
    f.fail("num_experts_per_tok", fmt::format("num_experts_per_tok = {} exceeds n_routed_experts = {}", top_k, experts));
  }
  if (f.integer_or("moe_layer_freq", 1, 1) != 1) {
    f.fail("moe_layer_freq", "moe_layer_freq other than 1 is not modelled; allowed: 1 (every layer after "
                             "first_k_dense_replace is a MoE layer)");
  }
  const long long first_dense = f.integer_or("first_k_dense_replace", 0, 0);
  if (first_dense > c.layers) {
    f.fail("first_k_dense_replace",
           fmt::format("first_k_dense_replace = {} exceeds num_hidden_layers = {}", first_dense, c.layers));
  }
  p.put("ffn_pattern", "E", f.where("n_routed_experts"));
  const long long expert_dim = f.integer("moe_intermediate_size");
  p.put_in("moe", "experts", experts, f.where("n_routed_experts"));
  p.put_in("moe", "top_k", top_k, f.where("num_experts_per_tok"));
  p.put_in("moe", "shared_experts", f.integer_or("n_shared_experts", 0, 0), f.where("n_shared_experts"));
  p.put_in("moe", "expert_ffn_dim", expert_dim, f.where("moe_intermediate_size"));
  p.put_in("moe", "shared_expert_ffn_dim", expert_dim, f.where("moe_intermediate_size"));
  p.put_in("moe", "first_dense_layers", first_dense, f.where("first_k_dense_replace"));
  p.put_in("mla", "kv_lora_rank", f.integer("kv_lora_rank"), f.where("kv_lora_rank"));
  p.put_in("mla", "q_lora_rank", f.integer_or("q_lora_rank", 0, 0), f.where("q_lora_rank"));
  p.put_in("mla", "qk_nope_head_dim", f.integer("qk_nope_head_dim"), f.where("qk_nope_head_dim"));
  p.put_in("mla", "qk_rope_head_dim", f.integer("qk_rope_head_dim"), f.where("qk_rope_head_dim"));
  p.put_in("mla", "v_head_dim", f.integer("v_head_dim"), f.where("v_head_dim"));
  // Routing details that do not change the FLOPs or bytes. The MTP module is not
  // part of the main model: it becomes mtp_layers (a speculative-decoding draft).
  f.ignore({"topk_method", "n_group", "topk_group", "routed_scaling_factor", "scoring_func", "aux_loss_alpha",
            "seq_aux", "ep_size"});
  if (f.integer_or("num_nextn_predict_layers", 0, 0) > 0) {
    p.put("mtp_layers", f.integer("num_nextn_predict_layers"), f.where("num_nextn_predict_layers"));
  }
  read_quantization(f, p);
}

// DeepSeek-V3.2-Exp: DeepSeek-V3 with DeepSeek Sparse Attention (index_topk tokens
// per query chosen by an indexer of index_n_heads heads of index_head_dim).
void read_deepseek_v32(Fields& f, Preset& p) {
  read_deepseek_v3(f, p);
  p.put_in("sparse_attention", "top_k_tokens", f.integer("index_topk"), f.where("index_topk"));
  p.put_in("sparse_attention", "indexer_heads", f.integer("index_n_heads"), f.where("index_n_heads"));
  p.put_in("sparse_attention", "indexer_head_dim", f.integer("index_head_dim"), f.where("index_head_dim"));
}

void read_gpt_oss(Fields& f, Preset& p) {
  const Common c = read_common(f, p, false);
  read_attention(f, p, c.d_model);
  const long long experts = f.integer("num_local_experts");
  const long long top_k = f.has("num_experts_per_tok") ? f.integer("num_experts_per_tok")
                                                       : f.integer("experts_per_token");
  f.ignore({"num_experts_per_tok", "experts_per_token"});
  if (top_k > experts) {
    f.fail("num_local_experts", fmt::format("experts per token = {} exceeds num_local_experts = {}", top_k, experts));
  }
  p.put("ffn_dim", 0LL, f.where("intermediate_size"));
  p.put("gated_mlp", true, f.where("intermediate_size"));
  put_context(f, p);
  const std::vector<std::string> types = f.strings("layer_types");
  std::string mixers;
  for (const std::string& type : types) {
    if (type == "sliding_attention") {
      mixers += 'W';
    } else if (type == "full_attention") {
      mixers += 'A';
    } else {
      f.fail("layer_types", fmt::format("layer_types: unknown '{}'; allowed: sliding_attention, full_attention", type));
    }
  }
  if (static_cast<long long>(mixers.size()) != c.layers) {
    f.fail("layer_types", fmt::format("layer_types has {} entries but num_hidden_layers = {}", mixers.size(), c.layers));
  }
  p.put("mixer_pattern", shortest_period(mixers), f.where("layer_types"));
  p.put("ffn_pattern", "E", f.where("num_local_experts"));
  if (mixers.find('W') != std::string::npos) {
    p.put("window_tokens", f.integer("sliding_window"), f.where("sliding_window"));
  }
  f.ignore({"sliding_window"});
  p.put_in("moe", "experts", experts, f.where("num_local_experts"));
  p.put_in("moe", "top_k", top_k, f.where(f.has("num_experts_per_tok") ? "num_experts_per_tok" : "experts_per_token"));
  p.put_in("moe", "expert_ffn_dim", f.integer("intermediate_size"), f.where("intermediate_size"));
  f.ignore({"swiglu_limit", "initial_context_length"});
  read_quantization(f, p);
}

void read_gemma3_text(Fields& f, Preset& p) {
  const Common c = read_common(f, p, true);
  read_attention(f, p, c.d_model);
  p.put("ffn_dim", f.integer("intermediate_size"), f.where("intermediate_size"));
  p.put("gated_mlp", true, f.where("intermediate_size"));
  put_context(f, p);
  std::string mixers;
  const std::vector<std::string> types = f.strings("layer_types");
  if (!types.empty()) {
    for (const std::string& type : types) {
      if (type != "sliding_attention" && type != "full_attention") {
        f.fail("layer_types", fmt::format("layer_types: unknown '{}'; allowed: sliding_attention, full_attention", type));
      }
      mixers += type == "sliding_attention" ? 'W' : 'A';
    }
    if (static_cast<long long>(mixers.size()) != c.layers) {
      f.fail("layer_types", fmt::format("layer_types has {} entries but num_hidden_layers = {}", mixers.size(), c.layers));
    }
  } else {
    const long long every = f.integer("sliding_window_pattern");
    for (long long layer = 0; layer < c.layers; ++layer) mixers += (layer + 1) % every == 0 ? 'A' : 'W';
  }
  f.ignore({"sliding_window_pattern"});
  p.put("mixer_pattern", shortest_period(mixers), f.where(types.empty() ? "sliding_window_pattern" : "layer_types"));
  if (mixers.find('W') != std::string::npos) {
    p.put("window_tokens", f.integer("sliding_window"), f.where("sliding_window"));
  }
  f.ignore({"sliding_window", "query_pre_attn_scalar", "final_logit_softcapping", "attn_logit_softcapping",
            "rope_local_base_freq", "use_bidirectional_attention"});
  read_quantization(f, p);
}

void put_ssm(Fields& f, Preset& p, long long d_model, const std::string& state_key, const std::string& heads_key,
             const std::string& head_dim_key) {
  const long long head_dim = f.integer(head_dim_key);
  const long long ssm_heads = f.integer(heads_key);
  const long long expand = f.integer_or("expand", 2, 1);
  p.put_in("ssm", "d_state", f.integer(state_key), f.where(state_key));
  p.put_in("ssm", "expand", expand, f.where("expand"));
  if (ssm_heads * head_dim != expand * d_model) {
    p.put_in("ssm", "d_inner", ssm_heads * head_dim, f.where(heads_key));
  }
  p.put_in("ssm", "head_dim", head_dim, f.where(head_dim_key));
  p.put_in("ssm", "n_groups", f.integer_or("n_groups", 1, 1), f.where("n_groups"));
  p.put_in("ssm", "conv_kernel", f.integer_or("conv_kernel", 4, 1), f.where("conv_kernel"));
  f.ignore({"use_bias", "use_conv_bias", "chunk_size", "time_step_min", "time_step_max", "time_step_floor",
            "time_step_limit", "time_step_rank", "rescale_prenorm_residual", "residual_in_fp32", "norm_before_gate",
            "rms_norm", "mamba_hidden_act", "mamba_proj_bias", "mamba_chunk_size", "ssm_state_size", "state_size"});
}

void read_nemotron_h(Fields& f, Preset& p) {
  const Common c = read_common(f, p, false);
  read_attention(f, p, c.d_model, f.has("head_dim") ? "head_dim" : "attention_head_dim");
  f.ignore({"head_dim", "attention_head_dim"});
  p.put("ffn_dim", f.integer("intermediate_size"), f.where("intermediate_size"));
  p.put("gated_mlp", false, f.where("mlp_hidden_act"));  // relu2, one up and one down matrix
  f.ignore({"mlp_hidden_act"});
  put_context(f, p);
  const std::string blocks = f.string("hybrid_override_pattern");
  if (static_cast<long long>(blocks.size()) != c.layers) {
    f.fail("hybrid_override_pattern", fmt::format("hybrid_override_pattern has {} letters but num_hidden_layers = {}",
                                                  blocks.size(), c.layers));
  }
  std::string mixers, ffns;
  for (char b : blocks) {
    if (b != 'M' && b != '*' && b != '-') {
      f.fail("hybrid_override_pattern", fmt::format("hybrid_override_pattern: unknown block '{}'; allowed: M (Mamba-2), "
                                                    "* (attention), - (MLP)",
                                                    std::string(1, b)));
    }
    mixers += b == 'M' ? 'S' : b == '*' ? 'A' : 'N';
    ffns += b == '-' ? 'D' : 'N';
  }
  p.put("mixer_pattern", shortest_period(mixers), f.where("hybrid_override_pattern"));
  p.put("ffn_pattern", shortest_period(ffns), f.where("hybrid_override_pattern"));
  put_ssm(f, p, c.d_model, "ssm_state_size", "mamba_num_heads", "mamba_head_dim");
  read_quantization(f, p);
}

void read_mamba2(Fields& f, Preset& p) {
  const Common c = read_common(f, p, true);
  p.put("heads", 0LL, f.where("num_heads"));
  p.put("kv_heads", 0LL, f.where("num_heads"));
  p.put("head_dim", 0LL, f.where("num_heads"));
  p.put("ffn_dim", 0LL, f.where("hidden_size"));
  p.put("gated_mlp", false, f.where("hidden_size"));
  // A Mamba-2 model has no position limit; the preset needs one.
  p.put("max_context_tokens", f.integer_or("max_position_embeddings", 1048576, 1), f.where("max_position_embeddings"));
  p.put("mixer_pattern", "S", f.where("num_hidden_layers"));
  p.put("ffn_pattern", "N", f.where("num_hidden_layers"));
  put_ssm(f, p, c.d_model, "state_size", "num_heads", "head_dim");
  read_quantization(f, p);
}

void read_llama(Fields& f, Preset& p) { read_llama_like(f, p, false); }
void read_qwen2(Fields& f, Preset& p) { read_llama_like(f, p, true); }

}  // namespace

const std::vector<Reader>& readers() {
  // model_type -> reader, one line each.
  static const std::vector<Reader> all = {
      {"llama", &read_llama},
      {"qwen2", &read_qwen2},
      {"qwen3", &read_qwen2},
      {"qwen3_moe", &read_qwen3_moe},
      {"mixtral", &read_mixtral},
      {"deepseek_v3", &read_deepseek_v3},
      {"kimi_k2", &read_deepseek_v3},
      {"deepseek_v32", &read_deepseek_v32},
      {"gpt_oss", &read_gpt_oss},
      {"gemma3_text", &read_gemma3_text},
      {"gemma3", &read_gemma3_text},
      {"nemotron_h", &read_nemotron_h},
      {"mamba2", &read_mamba2},
  };
  return all;
}

}  // namespace convsim::hf
