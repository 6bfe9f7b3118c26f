// Reads a model's architecture from a catalog preset or an inline `model.inline`
// map, and checks that its parts agree (a pattern with E needs `moe:`, S needs
// `ssm:`, W needs `window_tokens`, ...).

#include <fmt/core.h>

#include "sim/scenario/catalog.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/scenario/yaml_reader.hpp"

namespace convsim {
namespace {

const Limits kAtLeastOne = Limits::at_least(1);
const Limits kAtLeastZero = Limits::at_least(0);

std::string read_pattern(const MapReader& m, const std::string& key, const std::string& fallback,
                         const std::string& letters, const std::string& meaning, int layers) {
  const std::string pattern = m.string_or(key, fallback);
  for (char c : pattern) {
    if (letters.find(c) == std::string::npos) {
      m.locator().fail(m.spot(key), fmt::format("{}: unknown letter '{}' in '{}'; allowed: {}", m.child_path(key),
                                                std::string(1, c), pattern, meaning));
    }
  }
  if (static_cast<int>(pattern.size()) > layers) {
    m.locator().fail(m.spot(key), fmt::format("{}: '{}' has {} letters but the model has {} layers",
                                              m.child_path(key), pattern, pattern.size(), layers));
  }
  return pattern;
}

MoeSpec read_moe(const MapReader& m, int layers) {
  m.allow_only({"experts", "top_k", "shared_experts", "expert_ffn_dim", "shared_expert_ffn_dim",
                "first_dense_layers", "imbalance"});
  MoeSpec moe;
  moe.experts = m.int_value("experts", kAtLeastOne);
  moe.top_k = m.int_value("top_k", Limits::between(1, moe.experts));
  moe.shared_experts = m.int_or("shared_experts", 0, kAtLeastZero);
  moe.expert_ffn_dim = m.int_value("expert_ffn_dim", kAtLeastOne);
  moe.shared_expert_ffn_dim = m.int_or("shared_expert_ffn_dim", moe.expert_ffn_dim, kAtLeastOne);
  moe.first_dense_layers = m.int_or("first_dense_layers", 0, Limits::between(0, layers));
  moe.imbalance = m.number_or("imbalance", 1.0, Limits::at_least(1));
  return moe;
}

MlaSpec read_mla(const MapReader& m) {
  m.allow_only({"kv_lora_rank", "q_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim"});
  MlaSpec mla;
  mla.kv_lora_rank = m.int_value("kv_lora_rank", kAtLeastOne);
  mla.q_lora_rank = m.int_or("q_lora_rank", 0, kAtLeastZero);
  mla.qk_nope_head_dim = m.int_value("qk_nope_head_dim", kAtLeastOne);
  mla.qk_rope_head_dim = m.int_or("qk_rope_head_dim", 0, kAtLeastZero);
  mla.v_head_dim = m.int_value("v_head_dim", kAtLeastOne);
  return mla;
}

bool has(const std::string& pattern, char letter) { return pattern.find(letter) != std::string::npos; }

// sparse_attention: DeepSeek Sparse Attention over MLA (models/sparse_attention.hpp).
// Its indexer reads MLA's compressed query, so it needs mla with q_lora_rank > 0;
// the top-k bound applies to full-attention layers, so no sliding windows.
SparseAttentionSpec read_sparse_attention(const MapReader& m, const ModelSpec& model) {
  m.allow_only({"top_k_tokens", "indexer_heads", "indexer_head_dim"});
  const Locator& at = m.locator();
  if (!model.mla || model.mla->q_lora_rank == 0) {
    at.fail(m.node(), fmt::format("{}: sparse attention's indexer projects MLA's compressed query: it needs an mla: "
                                  "section with q_lora_rank > 0 (DeepSeek-V3.2-Exp: 1536)",
                                  m.path()));
  }
  if (has(model.mixer_pattern, 'W')) {
    at.fail(m.node(), fmt::format("{}: sparse attention over sliding-window layers (W in mixer_pattern '{}') is not "
                                  "modelled; allowed mixers with sparse_attention: A, S, N",
                                  m.path(), model.mixer_pattern));
  }
  SparseAttentionSpec spec;
  spec.top_k_tokens = m.integer("top_k_tokens", kAtLeastOne);
  spec.indexer_heads = m.int_value("indexer_heads", kAtLeastOne);
  spec.indexer_head_dim = m.int_value("indexer_head_dim", kAtLeastOne);
  return spec;
}

SsmSpec read_ssm(const MapReader& m, int d_model) {
  m.allow_only({"d_state", "expand", "d_inner", "head_dim", "n_groups", "conv_kernel"});
  SsmSpec ssm;
  ssm.d_state = m.int_value("d_state", kAtLeastOne);
  ssm.expand = m.int_or("expand", 2, kAtLeastOne);
  ssm.d_inner = m.int_or("d_inner", 0, kAtLeastZero);
  ssm.head_dim = m.int_or("head_dim", 64, kAtLeastOne);
  ssm.n_groups = m.int_or("n_groups", 1, kAtLeastOne);
  ssm.conv_kernel = m.int_or("conv_kernel", 4, kAtLeastOne);
  const int inner = ssm.d_inner > 0 ? ssm.d_inner : ssm.expand * d_model;
  if (inner % ssm.head_dim != 0) {
    m.locator().fail(m.spot("head_dim"), fmt::format("{} = {} must divide the mixer width (d_inner, or expand * "
                                                     "d_model) = {}",
                                                     m.child_path("head_dim"), ssm.head_dim, inner));
  }
  return ssm;
}

std::string peak_names(const GpuSpec& gpu) {
  std::vector<std::string> names;
  for (const auto& [precision, peak] : gpu.peak_flops_per_s) names.emplace_back(precision_name(precision));
  return join(names);
}

}  // namespace

QuantizedParts read_quantized_parts(const MapReader& m, const std::string& key, const ModelSpec& model) {
  const std::vector<std::string> names = m.string_list(key);
  QuantizedParts parts{false, false, false, false, false};
  const YAML::Node spot = m.spot(key);
  for (std::size_t i = 0; i < names.size(); ++i) {
    const YAML::Node item = spot.IsSequence() ? spot[i] : spot;
    const auto part = parse_weight_part(names[i]);
    if (!part) {
      m.locator().fail(item, fmt::format("{}: unknown part '{}'; allowed: {}", m.child_path(key), names[i],
                                         weight_part_names()));
    }
    if (parts.has(*part)) {
      m.locator().fail(item, fmt::format("{}: '{}' is listed twice", m.child_path(key), names[i]));
    }
    const bool present = *part == WeightPart::experts          ? model.moe.has_value()
                         : *part == WeightPart::shared_experts ? model.moe.has_value() && model.moe->shared_experts > 0
                         : *part == WeightPart::dense_ffn      ? has(model.ffn_pattern, 'D') ||
                                                                (model.moe && model.moe->first_dense_layers > 0)
                                                               : true;
    if (!present) {
      const std::string why = *part == WeightPart::shared_experts && model.moe
                                  ? std::string("moe.shared_experts 0")
                                  : fmt::format("ffn_pattern '{}'", model.ffn_pattern);
      m.locator().fail(item, fmt::format("{}: {} has no {} to quantise ({})", m.child_path(key), model.name,
                                         names[i], why));
    }
    switch (*part) {
      case WeightPart::attention: parts.attention = true; break;
      case WeightPart::dense_ffn: parts.dense_ffn = true; break;
      case WeightPart::experts: parts.experts = true; break;
      case WeightPart::shared_experts: parts.shared_experts = true; break;
      case WeightPart::embeddings: parts.embeddings = true; break;
    }
  }
  return parts;
}

void check_model_on_gpu(const MapReader& m, const ModelChoice& choice, const GpuSpec& gpu,
                        std::vector<std::string>& warnings) {
  if (is_fp4(choice.kv_cache) && gpu.peak_flops_per_s.count(choice.kv_cache) == 0) {
    std::vector<std::string> allowed;
    for (Precision p : {Precision::bf16, Precision::fp8, Precision::int8, Precision::int4, Precision::nvfp4,
                        Precision::mxfp4}) {
      if (!is_fp4(p) || gpu.peak_flops_per_s.count(p) > 0) allowed.emplace_back(precision_name(p));
    }
    m.locator().fail(m.spot("kv_cache"),
                     fmt::format("{}: {} is not supported on {}, which has no {} tensor cores (its peaks: {}); "
                                 "allowed on {}: {}",
                                 m.child_path("kv_cache"), precision_name(choice.kv_cache), gpu.name,
                                 precision_name(choice.kv_cache), peak_names(gpu), gpu.name, join(allowed)));
  }
  if (is_fp4(choice.weights) && gpu.peak_flops_per_s.count(choice.weights) == 0) {
    warnings.push_back(fmt::format("{}: warning: {}: {} on {}, which has no {} tensor cores (its peaks: {}): "
                                   "emulated: the weights are stored and read at {} bits each and dequantised to "
                                   "BF16 for the matmuls, which run at the BF16 peak",
                                   m.locator().where(m.spot("weights")), m.child_path("weights"),
                                   precision_name(choice.weights), gpu.name, precision_name(choice.weights),
                                   peak_names(gpu),
                                   format_number(element_bits(choice.weights))));
  }
}

ModelSpec read_model_spec(const MapReader& m, bool inline_model) {
  m.allow_only({"name", "description", "architecture", "layers", "d_model", "heads", "kv_heads", "head_dim",
                "ffn_dim", "gated_mlp", "vocab_tokens", "tied_embeddings", "max_context_tokens",
                "params_published", "active_params_published", "mixer_pattern", "ffn_pattern", "window_tokens",
                "default_weights", "quantized_parts", "mtp_layers", "moe", "mla", "sparse_attention", "ssm", "sources",
                "notes"});
  const Locator& at = m.locator();
  const std::vector<std::string> architectures = {"dense", "moe", "hybrid", "ssm"};
  ModelSpec model;
  if (inline_model) {
    model.name = m.string_or("name", "inline");
    model.description = m.string_or("description", "");
    model.architecture = m.choice_or("architecture", "dense", architectures);
  } else {
    model.name = m.string("name");
    model.description = m.string("description");
    model.architecture = m.choice("architecture", architectures);
  }
  // 10,000 layers: 80x the deepest published model; the cost model loops over them.
  model.layers = m.int_value("layers", Limits::between(1, 10000));
  model.d_model = m.int_value("d_model", kAtLeastOne);
  model.mixer_pattern = read_pattern(m, "mixer_pattern", "A", "AWSN",
                                     "A (attention), W (sliding window), S (state space), N (none)", model.layers);
  model.ffn_pattern =
      read_pattern(m, "ffn_pattern", "D", "DEN", "D (dense MLP), E (experts), N (none)", model.layers);
  const bool attention = has(model.mixer_pattern, 'A') || has(model.mixer_pattern, 'W');
  if (m.has("mla")) model.mla = read_mla(m.child("mla"));
  const Limits heads_limit = attention ? kAtLeastOne : kAtLeastZero;
  model.heads = m.int_value("heads", heads_limit);
  model.kv_heads = m.int_value("kv_heads", heads_limit);
  if (model.kv_heads > 0 && model.heads % model.kv_heads != 0) {
    at.fail(m.spot("kv_heads"), fmt::format("{} = {} must divide {} = {}", m.child_path("kv_heads"), model.kv_heads,
                                            m.child_path("heads"), model.heads));
  }
  model.head_dim = m.int_value("head_dim", model.mla ? kAtLeastZero : heads_limit);
  model.gated_mlp = m.boolean("gated_mlp");
  if (m.has("moe")) model.moe = read_moe(m.child("moe"), model.layers);
  const bool dense_ffn = has(model.ffn_pattern, 'D') || (model.moe && model.moe->first_dense_layers > 0);
  model.ffn_dim = m.int_value("ffn_dim", dense_ffn ? kAtLeastOne : kAtLeastZero);
  model.vocab_tokens = m.int_value("vocab_tokens", kAtLeastOne);
  model.tied_embeddings = m.boolean("tied_embeddings");
  model.max_context_tokens = m.integer("max_context_tokens", kAtLeastOne);
  if (has(model.ffn_pattern, 'E') != model.moe.has_value()) {
    at.fail(m.spot(model.moe ? "moe" : "ffn_pattern"),
            fmt::format("{}: a mixture-of-experts model needs both an E in ffn_pattern and a moe: section",
                        m.child_path(model.moe ? "moe" : "ffn_pattern")));
  }
  if (has(model.mixer_pattern, 'S')) {
    if (!m.has("ssm")) {
      at.fail(m.spot("mixer_pattern"), fmt::format("{}: state-space layers (S) need an ssm: section",
                                                   m.child_path("mixer_pattern")));
    }
    model.ssm = read_ssm(m.child("ssm"), model.d_model);
  } else if (m.has("ssm")) {
    at.fail(m.spot("ssm"), fmt::format("{}: no layer is a state-space layer (S in mixer_pattern)", m.child_path("ssm")));
  }
  if (has(model.mixer_pattern, 'W')) {
    if (!m.has("window_tokens")) {
      at.fail(m.spot("mixer_pattern"), fmt::format("{}: sliding-window layers (W) need window_tokens",
                                                   m.child_path("mixer_pattern")));
    }
    model.window_tokens = m.integer("window_tokens", kAtLeastOne);
  } else if (m.has("window_tokens")) {
    at.fail(m.spot("window_tokens"),
            fmt::format("{}: no layer uses a sliding window (W in mixer_pattern)", m.child_path("window_tokens")));
  }
  if (m.has("sparse_attention")) model.sparse_attention = read_sparse_attention(m.child("sparse_attention"), model);
  if (m.has("default_weights")) {
    const std::string name = m.string("default_weights");
    const auto precision = parse_precision(name);
    if (!precision) {
      at.fail(m.spot("default_weights"), fmt::format("{}: unknown precision '{}'; allowed: {}",
                                                     m.child_path("default_weights"), name, precision_names()));
    }
    model.default_weights = *precision;
  }
  if (m.has("quantized_parts")) model.quantized_parts = read_quantized_parts(m, "quantized_parts", model);
  model.mtp_layers = m.int_or("mtp_layers", 0, kAtLeastZero);
  if (inline_model) {
    model.params_published = m.number_or("params_published", 0, Limits::positive());
    if (m.has("sources")) model.sources = m.string_list("sources");
  } else {
    model.params_published = m.number("params_published", Limits::positive());
    model.sources = m.string_list("sources");
  }
  model.active_params_published = m.number_or("active_params_published", 0, Limits::positive());
  if (model.active_params_published > 0 && model.params_published > 0 &&
      model.active_params_published > model.params_published) {
    at.fail(m.spot("active_params_published"),
            fmt::format("{} = {} must be <= {} = {}: a token goes through at most every parameter",
                        m.child_path("active_params_published"), format_number(model.active_params_published),
                        m.child_path("params_published"), format_number(model.params_published)));
  }
  // The label people read (convsim catalog) agrees with the layers: experts for moe,
  // state-space layers for ssm and hybrid, neither for dense.
  const bool experts = model.moe.has_value(), state_space = has(model.mixer_pattern, 'S');
  const bool labelled = model.architecture == "moe"     ? experts
                        : model.architecture == "dense" ? !experts && !state_space
                                                        : state_space;
  if (!labelled && m.has("architecture")) {
    at.fail(m.spot("architecture"),
            fmt::format("{}: '{}' does not match the layers ({}{}): moe has experts, ssm and hybrid have state-space "
                        "layers (S), dense has neither",
                        m.child_path("architecture"), model.architecture, experts ? "experts" : "no experts",
                        state_space ? ", state-space layers" : ", no state-space layers"));
  }
  m.string_or("notes", "");
  return model;
}

}  // namespace convsim
