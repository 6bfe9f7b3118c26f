#include "sim/scenario/hf_config.hpp"

#include <string>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "sim/scenario/catalog.hpp"
#include "sim/scenario/hf_config_fields.hpp"

namespace convsim {
namespace {

using namespace hf;

std::string reader_names() {
  std::vector<std::string> names;
  for (const Reader& r : readers()) names.emplace_back(r.model_type);
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
  } catch (const Json::out_of_range& e) {
    // A number too large for a double (1e400): the parser names its text, not its
    // place; the first occurrence of that text is its place.
    const std::string what = e.what();
    const auto open = what.find('\''), close = what.rfind('\'');
    const std::string literal = open != std::string::npos && close > open ? what.substr(open + 1, close - open - 1) : "";
    const std::size_t at = literal.empty() ? std::string::npos : text.text().find(literal);
    throw ConfigError(fmt::format("{}: the number {} is too large for a double",
                                  at == std::string::npos ? path : text.where_offset(at), literal));
  }
  if (!root.is_object()) throw ConfigError(fmt::format("{}: config.json must hold a JSON object", path));
  if (!root.contains("model_type") || !root.at("model_type").is_string()) {
    throw ConfigError(fmt::format("{}: config.json has no model_type; supported: {}", path, reader_names()));
  }
  const std::string model_type = root.at("model_type").get<std::string>();
  const Reader* reader = nullptr;
  for (const Reader& r : readers()) {
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
                          "mtp_layers", "moe", "mla", "sparse_attention", "ssm"}) {
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
