#include "sim/scenario/hf_config.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "sim/scenario/catalog.hpp"
#include "sim/scenario/config_error.hpp"
#include "sim/scenario/text_util.hpp"
#include "sim/scenario/yaml_reader.hpp"

namespace convsim {
namespace {

using Json = nlohmann::json;

// Fields of every supported config that do not change what convsim computes.
const std::set<std::string> kIgnoredEverywhere = {
    "_name_or_path", "architectures", "model_type", "torch_dtype", "dtype", "transformers_version",
    "bos_token_id", "eos_token_id", "pad_token_id", "initializer_range", "rms_norm_eps", "layer_norm_eps",
    "layer_norm_epsilon", "norm_eps", "hidden_act", "hidden_activation", "rope_theta", "rope_scaling",
    "rope_parameters", "attention_dropout", "hidden_dropout", "use_cache", "pretraining_tp", "attention_bias",
    "mlp_bias", "output_router_logits", "router_aux_loss_coef", "router_jitter_noise", "norm_topk_prob",
    "partial_rotary_factor", "auto_map", "num_logits_to_keep", "tokenizer_class", "use_return_dict"};

// Byte offsets of the JSON text turned into file:line:column.
class JsonText {
 public:
  JsonText(std::string file, std::string text) : file_(std::move(file)), text_(std::move(text)) {}

  const std::string& file() const { return file_; }
  const std::string& text() const { return text_; }

  std::string where_offset(std::size_t offset) const {
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < offset && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    return fmt::format("{}:{}:{}", file_, line, column);
  }

  // Where the key path is written (each key searched after the previous one);
  // the file alone when a key is not found.
  std::string where(const std::vector<std::string>& keys) const {
    std::size_t from = 0, at = std::string::npos;
    for (const std::string& key : keys) {
      at = find_key(key, from);
      if (at == std::string::npos) return file_;
      from = at + 1;
    }
    return at == std::string::npos ? file_ : where_offset(at);
  }

 private:
  std::size_t find_key(const std::string& key, std::size_t from) const {
    const std::string quoted = "\"" + key + "\"";
    for (std::size_t at = text_.find(quoted, from); at != std::string::npos; at = text_.find(quoted, at + 1)) {
      std::size_t next = at + quoted.size();
      while (next < text_.size() && std::isspace(static_cast<unsigned char>(text_[next]))) ++next;
      if (next < text_.size() && text_[next] == ':') return at;
    }
    return std::string::npos;
  }

  std::string file_;
  std::string text_;
};

// One JSON object being read: typed reads with located messages, and a record of
// the fields read, so that any other field can be refused by name.
class Fields {
 public:
  Fields(const JsonText& text, const Json& object, std::vector<std::string> prefix, std::string model_type)
      : text_(text), object_(object), prefix_(std::move(prefix)), model_type_(std::move(model_type)) {}

  std::string where(const std::string& key) const {
    std::vector<std::string> keys = prefix_;
    keys.push_back(key);
    return text_.where(keys);
  }
  std::string where_object() const { return prefix_.empty() ? text_.file() : text_.where(prefix_); }
  std::string name(const std::string& key) const { return prefix_.empty() ? key : join(prefix_, ".") + "." + key; }

  [[noreturn]] void fail(const std::string& key, const std::string& message) const {
    throw ConfigError(fmt::format("{}: {}", where(key), message));
  }

  bool has(const std::string& key) const { return object_.contains(key) && !object_.at(key).is_null(); }
  void ignore(const std::vector<std::string>& keys) { used_.insert(keys.begin(), keys.end()); }

  long long integer(const std::string& key, long long minimum = 1) {
    used_.insert(key);
    if (!has(key)) {
      throw ConfigError(fmt::format("{}: {}: missing field '{}' (model_type {})", where_object(),
                                    prefix_.empty() ? "config.json" : join(prefix_, "."), key, model_type_));
    }
    const Json& v = object_.at(key);
    if (!v.is_number_integer() || v.get<long long>() < minimum) {
      fail(key, fmt::format("{} must be an integer >= {}, got {}", name(key), minimum, v.dump()));
    }
    return v.get<long long>();
  }
  long long integer_or(const std::string& key, long long fallback, long long minimum = 0) {
    used_.insert(key);
    return has(key) ? integer(key, minimum) : fallback;
  }
  bool boolean_or(const std::string& key, bool fallback) {
    used_.insert(key);
    if (!has(key)) return fallback;
    const Json& v = object_.at(key);
    if (!v.is_boolean()) fail(key, fmt::format("{} must be true or false, got {}", name(key), v.dump()));
    return v.get<bool>();
  }
  std::string string(const std::string& key) {
    used_.insert(key);
    if (!has(key) || !object_.at(key).is_string()) {
      fail(key, fmt::format("{} must be a string (model_type {})", name(key), model_type_));
    }
    return object_.at(key).get<std::string>();
  }
  std::vector<std::string> strings(const std::string& key) {
    used_.insert(key);
    std::vector<std::string> out;
    if (!has(key)) return out;
    const Json& v = object_.at(key);
    if (!v.is_array()) fail(key, fmt::format("{} must be a list, got {}", name(key), v.dump()));
    for (const Json& item : v) {
      if (!item.is_string()) fail(key, fmt::format("{}: expected strings, got {}", name(key), item.dump()));
      out.push_back(item.get<std::string>());
    }
    return out;
  }
  std::vector<long long> integers(const std::string& key) {
    used_.insert(key);
    std::vector<long long> out;
    if (!has(key)) return out;
    const Json& v = object_.at(key);
    if (!v.is_array()) fail(key, fmt::format("{} must be a list, got {}", name(key), v.dump()));
    for (const Json& item : v) {
      if (!item.is_number_integer()) fail(key, fmt::format("{}: expected integers, got {}", name(key), item.dump()));
      out.push_back(item.get<long long>());
    }
    return out;
  }
  const Json& object(const std::string& key) {
    used_.insert(key);
    if (!has(key) || !object_.at(key).is_object()) fail(key, fmt::format("{} must be an object", name(key)));
    return object_.at(key);
  }

  // REQUIRES: every field this model_type reads was read or ignored.
  void refuse_others() const {
    for (const auto& item : object_.items()) {
      if (used_.count(item.key()) > 0 || kIgnoredEverywhere.count(item.key()) > 0) continue;
      std::vector<std::string> known(used_.begin(), used_.end());
      fail(item.key(), fmt::format("unsupported field '{}' for model_type {}: convsim cannot tell what it changes; "
                                   "fields it reads: {}",
                                   name(item.key()), model_type_, join(known)));
    }
  }

 private:
  const JsonText& text_;
  const Json& object_;
  std::vector<std::string> prefix_;
  std::string model_type_;
  std::set<std::string> used_;
};

// The preset being built: a YAML map whose values are labelled with the place in
// config.json they came from, so that the catalog's own checks point there.
class Preset {
 public:
  explicit Preset(Locator& at) : at_(at), node_(YAML::NodeType::Map) {}

  template <typename T>
  void put(const std::string& key, const T& value, const std::string& where) {
    node_[key] = value;
    at_.label_tree(node_[key], where);
  }
  template <typename T>
  void put_in(const std::string& section, const std::string& key, const T& value, const std::string& where) {
    node_[section][key] = value;
    at_.label_tree(node_[section][key], where);
  }
  YAML::Node& node() { return node_; }

 private:
  Locator& at_;
  YAML::Node node_;
};

// The shortest prefix that repeats into `pattern` (the catalog repeats patterns).
std::string shortest_period(const std::string& pattern) {
  for (std::size_t p = 1; p < pattern.size(); ++p) {
    bool repeats = true;
    for (std::size_t i = p; i < pattern.size() && repeats; ++i) repeats = pattern[i] == pattern[i - p];
    if (repeats) return pattern.substr(0, p);
  }
  return pattern;
}

std::string basename_of(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

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

// quantization_config: fp8 (every part) or mxfp4 (the experts, as gpt-oss ships).
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

struct Reader {
  const char* model_type;
  void (*read)(Fields&, Preset&);
};

void read_llama(Fields& f, Preset& p) { read_llama_like(f, p, false); }
void read_qwen2(Fields& f, Preset& p) { read_llama_like(f, p, true); }

// model_type -> reader, one line each.
const Reader kReaders[] = {
    {"llama", &read_llama},           {"qwen2", &read_qwen2},           {"qwen3", &read_qwen2},
    {"qwen3_moe", &read_qwen3_moe},   {"mixtral", &read_mixtral},       {"deepseek_v3", &read_deepseek_v3},
    {"kimi_k2", &read_deepseek_v3},   {"gpt_oss", &read_gpt_oss},       {"gemma3_text", &read_gemma3_text},
    {"gemma3", &read_gemma3_text},    {"nemotron_h", &read_nemotron_h}, {"mamba2", &read_mamba2},
};

std::string reader_names() {
  std::vector<std::string> names;
  for (const Reader& r : kReaders) names.emplace_back(r.model_type);
  return join(names);
}

std::string architecture_of(const YAML::Node& preset) {
  const std::string mixers = preset["mixer_pattern"] ? preset["mixer_pattern"].as<std::string>() : "A";
  if (preset["moe"]) return "moe";
  const bool ssm = mixers.find('S') != std::string::npos;
  const bool attention = mixers.find_first_of("AW") != std::string::npos;
  return ssm ? (attention ? "hybrid" : "ssm") : "dense";
}

// Python's json module writes float('inf') and float('nan') as the bare words
// Infinity and NaN (Nemotron-H configs hold "time_step_limit": [0.0, Infinity]),
// which strict JSON refuses. They are replaced outside strings by numbers of the
// same length, so that offsets (and the located messages) stay where they were.
std::string python_json_to_strict(std::string text) {
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (text.compare(i, 8, "Infinity") == 0) {
      text.replace(i, 8, "1.0e308 ");
      i += 7;
    } else if (text.compare(i, 3, "NaN") == 0) {
      text.replace(i, 3, "0.0");
      i += 2;
    }
  }
  return text;
}

struct Imported {
  YAML::Node preset;
  ModelSpec spec;
};

Imported import_config(const std::string& path) {
  const JsonText text(path, read_text_file(path));
  Json root;
  try {
    root = Json::parse(python_json_to_strict(text.text()));
  } catch (const Json::parse_error& e) {
    throw ConfigError(fmt::format("{}: JSON syntax error: {}", text.where_offset(e.byte > 0 ? e.byte - 1 : 0),
                                  e.what()));
  }
  if (!root.is_object()) throw ConfigError(fmt::format("{}: config.json must hold a JSON object", path));
  if (!root.contains("model_type") || !root.at("model_type").is_string()) {
    throw ConfigError(fmt::format("{}: config.json has no model_type; supported: {}", path, reader_names()));
  }
  const std::string model_type = root.at("model_type").get<std::string>();
  const Reader* reader = nullptr;
  for (const Reader& r : kReaders) {
    if (model_type == r.model_type) reader = &r;
  }
  if (reader == nullptr) {
    throw ConfigError(fmt::format("{}: model_type '{}' is not supported; supported: {}", text.where({"model_type"}),
                                  model_type, reader_names()));
  }
  Locator at(path);
  Preset preset(at);
  std::string name = root.contains("_name_or_path") && root.at("_name_or_path").is_string()
                         ? basename_of(root.at("_name_or_path").get<std::string>())
                         : std::string();
  if (name.empty()) {
    const std::string folder = path.find('/') == std::string::npos ? "" : path.substr(0, path.find_last_of('/'));
    name = folder.empty() ? "imported" : basename_of(folder);
  }
  preset.put("name", lowercase(name), text.where({"model_type"}));
  preset.put("description", fmt::format("imported from {} (model_type {})", basename_of(path), model_type),
             text.where({"model_type"}));
  if (model_type == "gemma3") {  // the multimodal checkpoint: its language model
    Fields top(text, root, {}, model_type);
    const Json& language = top.object("text_config");
    top.ignore({"vision_config", "mm_tokens_per_image", "boi_token_index", "eoi_token_index", "image_token_index",
                "initializer_range"});
    top.refuse_others();
    Fields f(text, language, {"text_config"}, "gemma3_text");
    reader->read(f, preset);
    f.refuse_others();
  } else {
    Fields f(text, root, {}, model_type);
    reader->read(f, preset);
    f.refuse_others();
  }
  YAML::Node& node = preset.node();
  node["architecture"] = architecture_of(node);
  const MapReader map(at, node, "", "the config.json");
  Imported out{node, read_model_spec(map, true)};
  return out;
}

}  // namespace

ModelSpec read_hf_config(const std::string& path) { return import_config(path).spec; }

std::string hf_config_preset_yaml(const std::string& path) {
  const Imported imported = import_config(path);
  const ModelSpec& m = imported.spec;
  YAML::Node out(YAML::NodeType::Map);
  for (const char* key : {"name", "description", "architecture", "layers", "d_model", "heads", "kv_heads", "head_dim",
                          "ffn_dim", "gated_mlp", "vocab_tokens", "tied_embeddings", "max_context_tokens"}) {
    out[key] = imported.preset[key];
  }
  out["params_published"] = fmt::format("{:.4g}", total_params(m));
  if (m.moe) out["active_params_published"] = fmt::format("{:.4g}", active_params(m));
  for (const char* key : {"mixer_pattern", "ffn_pattern", "window_tokens", "default_weights", "quantized_parts",
                          "mtp_layers", "moe", "mla", "ssm"}) {
    if (imported.preset[key]) out[key] = imported.preset[key];
  }
  YAML::Node sources(YAML::NodeType::Sequence);
  sources.push_back(fmt::format("{} (Hugging Face config.json)", path));
  out["sources"] = sources;
  YAML::Emitter emitter;
  emitter << out;
  return fmt::format("# Imported by convsim catalog import from {}.\n"
                     "# params_published (and active_params_published) are the counts computed from this\n"
                     "# shape: replace them with the published totals, which the catalog checks within 2%.\n"
                     "{}\n",
                     path, emitter.c_str());
}

}  // namespace convsim
