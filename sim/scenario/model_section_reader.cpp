#include "sim/scenario/model_section_reader.hpp"

#include <filesystem>
#include <string>
#include <system_error>

#include <fmt/format.h>

#include "sim/scenario/hf_config.hpp"
#include "sim/scenario/text_util.hpp"

namespace convsim {
namespace {

const ModelSpec& model_preset(const MapReader& m, const Catalog& catalog) {
  const std::string name = m.string("preset");
  const auto it = catalog.models.find(name);
  if (it == catalog.models.end()) {
    m.locator().fail(m.spot("preset"), unknown_name_message(m.child_path("preset"),
                                                            "model preset", name,
                                                            names_of(catalog.models)));
  }
  return it->second;
}

Precision precision_value(const MapReader& m, const std::string& key, Precision fallback) {
  if (!m.has(key)) {
    m.note_default(key, YAML::Node(std::string(precision_name(fallback))));
    return fallback;
  }
  const std::string name = m.string(key);
  const auto precision = parse_precision(name);
  if (!precision) {
    m.locator().fail(m.spot(key), fmt::format("{}: unknown precision '{}'; allowed: {}",
                                              m.child_path(key), name, precision_names()));
  }
  return *precision;
}

// model.hf_config: a path relative to the scenario file's folder (or absolute).
std::string hf_config_path(const MapReader& m) {
  namespace fs = std::filesystem;
  const fs::path given(m.string("hf_config"));
  const fs::path path = given.is_absolute() ? given : fs::path(m.locator().file()).parent_path() / given;
  std::error_code error;
  if (!fs::is_regular_file(path, error)) {
    m.locator().fail(m.spot("hf_config"), fmt::format("{}: cannot read '{}'", m.child_path("hf_config"), path.string()));
  }
  return path.string();
}

}  // namespace

ModelChoice read_model_section(const MapReader& m, const Catalog& catalog) {
  m.allow_only({"preset", "inline", "hf_config", "weights", "kv_cache", "ssm_state", "quantized_parts"});
  if (m.has("preset") + m.has("inline") + m.has("hf_config") != 1) {
    m.fail("model: give exactly one of 'preset' (a catalog model), 'inline' (an architecture) or 'hf_config' (a "
           "Hugging Face config.json)");
  }
  ModelChoice choice;
  if (m.has("preset")) {
    choice.spec = model_preset(m, catalog);
  } else if (m.has("hf_config")) {
    choice.spec = read_hf_config(hf_config_path(m));
  } else {
    choice.spec = read_model_spec(m.child("inline"), true);
  }
  // Weights default to the precision the model is meant for (a 4-bit checkpoint
  // stays 4-bit); the KV cache to BF16.
  choice.weights = precision_value(m, "weights", choice.spec.default_weights);
  choice.kv_cache = precision_value(m, "kv_cache", Precision::bf16);
  // A state-space layer's recurrent state: as the KV cache, or kept apart in BF16 or
  // FP32 (vLLM's --mamba-ssm-cache-dtype; the Nemotron-H family asks for float32).
  const std::string state = m.choice_or("ssm_state", "kv_cache", {"kv_cache", "bf16", "fp32"});
  choice.ssm_state_bytes = state == "fp32" ? 4.0 : state == "bf16" ? 2.0 : 0.0;
  if (m.has("quantized_parts")) {
    choice.spec.quantized_parts = read_quantized_parts(m, "quantized_parts", choice.spec);
  }
  return choice;
}

}  // namespace convsim
