// Hugging Face config.json files imported into convsim's architecture. The
// fixtures in tests/scenario/hf_configs/ are the published config.json files of
// each model (fields as released on the Hugging Face Hub; the Mamba-2 one is a
// transformers Mamba2Config holding the state-spaces/mamba2-2.7b dimensions), and
// each must import to the same architecture as the hand-written catalog preset.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "models/architecture.hpp"
#include "sim/scenario/config_error.hpp"
#include "sim/scenario/hf_config.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;
namespace fs = std::filesystem;

namespace {

std::string fixture(const std::string& name) { return test::source_path("tests/scenario/hf_configs/" + name); }

// Every field that sets FLOPs, bytes or memory, compared layer by layer.
void check_same_architecture(const ModelSpec& imported, const ModelSpec& preset) {
  CHECK(imported.layers == preset.layers);
  CHECK(imported.d_model == preset.d_model);
  CHECK(imported.heads == preset.heads);
  CHECK(imported.kv_heads == preset.kv_heads);
  CHECK(imported.head_dim == preset.head_dim);
  CHECK(imported.ffn_dim == preset.ffn_dim);
  CHECK(imported.gated_mlp == preset.gated_mlp);
  CHECK(imported.vocab_tokens == preset.vocab_tokens);
  CHECK(imported.tied_embeddings == preset.tied_embeddings);
  CHECK(imported.default_weights == preset.default_weights);
  for (WeightPart part : {WeightPart::attention, WeightPart::dense_ffn, WeightPart::experts,
                          WeightPart::shared_experts, WeightPart::embeddings}) {
    INFO(weight_part_name(part));
    CHECK(imported.quantized_parts.has(part) == preset.quantized_parts.has(part));
  }
  for (int layer = 0; layer < preset.layers; ++layer) {
    INFO("layer " << layer);
    CHECK(imported.mixer(layer) == preset.mixer(layer));
    CHECK(imported.ffn(layer) == preset.ffn(layer));
  }
  if (preset.mixer_pattern.find('W') != std::string::npos) CHECK(imported.window_tokens == preset.window_tokens);
  REQUIRE(imported.moe.has_value() == preset.moe.has_value());
  if (preset.moe) {
    CHECK(imported.moe->experts == preset.moe->experts);
    CHECK(imported.moe->top_k == preset.moe->top_k);
    CHECK(imported.moe->shared_experts == preset.moe->shared_experts);
    CHECK(imported.moe->expert_ffn_dim == preset.moe->expert_ffn_dim);
    if (preset.moe->shared_experts > 0) {
      CHECK(imported.moe->shared_expert_ffn_dim == preset.moe->shared_expert_ffn_dim);
    }
    CHECK(imported.moe->first_dense_layers == preset.moe->first_dense_layers);
  }
  REQUIRE(imported.mla.has_value() == preset.mla.has_value());
  if (preset.mla) {
    CHECK(imported.mla->kv_lora_rank == preset.mla->kv_lora_rank);
    CHECK(imported.mla->q_lora_rank == preset.mla->q_lora_rank);
    CHECK(imported.mla->qk_nope_head_dim == preset.mla->qk_nope_head_dim);
    CHECK(imported.mla->qk_rope_head_dim == preset.mla->qk_rope_head_dim);
    CHECK(imported.mla->v_head_dim == preset.mla->v_head_dim);
  }
  REQUIRE(imported.ssm.has_value() == preset.ssm.has_value());
  if (preset.ssm) {
    CHECK(imported.ssm->d_state == preset.ssm->d_state);
    CHECK(ssm_inner_dim(imported) == ssm_inner_dim(preset));
    CHECK(imported.ssm->head_dim == preset.ssm->head_dim);
    CHECK(imported.ssm->n_groups == preset.ssm->n_groups);
    CHECK(imported.ssm->conv_kernel == preset.ssm->conv_kernel);
  }
  CHECK(total_params(imported) == total_params(preset));
  CHECK(kv_bytes_per_token(imported, 2.0) == kv_bytes_per_token(preset, 2.0));
}

// A config.json written to a temporary folder, removed at the end of the test.
class TempJson {
 public:
  explicit TempJson(const std::string& text) {
    static int counter = 0;
    dir_ = fs::temp_directory_path() / ("convsim_hf_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(dir_);
    std::ofstream(dir_ / "config.json", std::ios::binary) << text;
  }
  ~TempJson() {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  TempJson(const TempJson&) = delete;
  TempJson& operator=(const TempJson&) = delete;
  std::string path() const { return (dir_ / "config.json").string(); }

 private:
  fs::path dir_;
};

// The error reading `text` as a config.json, its temporary path shown as "config.json".
std::string import_error(const std::string& text) {
  const TempJson json(text);
  try {
    read_hf_config(json.path());
  } catch (const ConfigError& e) {
    std::string message = e.what();
    if (message.rfind(json.path(), 0) == 0) message.replace(0, json.path().size(), "config.json");
    return message;
  }
  return "";
}

}  // namespace

TEST_CASE("each supported architecture's config.json imports to the hand-written preset's architecture") {
  struct Case {
    const char* file;
    const char* preset;
  };
  const Case cases[] = {
      {"llama-3.1-8b.json", "llama-3.1-8b"},        // llama
      {"qwen3-32b.json", "qwen3-32b"},              // qwen3
      {"qwen3-30b-a3b.json", "qwen3-30b-a3b"},      // qwen3_moe
      {"mixtral-8x7b.json", "mixtral-8x7b"},        // mixtral
      {"deepseek-v3.json", "deepseek-v3"},          // deepseek_v3 (MLA, MoE, first dense layers, FP8)
      {"kimi-k2.json", "kimi-k2"},                  // kimi_k2 (DeepSeek-V3 code)
      {"gpt-oss-120b.json", "gpt-oss-120b"},        // gpt_oss (layer_types, MXFP4 experts)
      {"gemma-3-27b-it.json", "gemma-3-27b"},       // gemma3 (text_config, 5:1 local:global)
      {"nemotron-nano-9b-v2.json", "nemotron-nano-9b-v2"},  // nemotron_h (Mamba-2 / attention / MLP blocks)
      {"mamba2-2.7b.json", "mamba2-2.7b"},          // mamba2
  };
  for (const Case& c : cases) {
    INFO(c.file << " against " << c.preset);
    check_same_architecture(read_hf_config(fixture(c.file)), test::catalog().models.at(c.preset));
  }
}

TEST_CASE("a deepseek_v32 config.json imports DeepSeek Sparse Attention from its index_ fields") {
  // DeepSeek-V3.2-Exp's config.json is DeepSeek-V3's shape with model_type
  // deepseek_v32 and index_topk 2048, index_n_heads 64, index_head_dim 128.
  nlohmann::json config = nlohmann::json::parse(test::read_file(fixture("deepseek-v3.json")));
  config["model_type"] = "deepseek_v32";
  config["architectures"] = {"DeepseekV32ForCausalLM"};
  config["index_topk"] = 2048;
  config["index_n_heads"] = 64;
  config["index_head_dim"] = 128;
  const TempJson json(config.dump(2));
  const ModelSpec m = read_hf_config(json.path());
  const ModelSpec& preset = test::catalog().models.at("deepseek-v3.2-exp");
  check_same_architecture(m, preset);
  REQUIRE(m.sparse_attention);
  CHECK(m.sparse_attention->top_k_tokens == 2048);
  CHECK(m.sparse_attention->indexer_heads == 64);
  CHECK(m.sparse_attention->indexer_head_dim == 128);
  CHECK(total_params(m) == Approx(total_params(preset)).epsilon(1e-12));
  CHECK(hf_config_preset_yaml(json.path()).find("sparse_attention:\n  top_k_tokens: 2048") != std::string::npos);
}

TEST_CASE("a Qwen2 config.json imports to Qwen2.5-7B's published shape and parameter count") {
  const ModelSpec m = read_hf_config(fixture("qwen2.5-7b.json"));
  CHECK(m.layers == 28);
  CHECK(m.heads == 28);
  CHECK(m.kv_heads == 4);
  CHECK(m.head_dim == 3584 / 28);  // no head_dim field: hidden_size / num_attention_heads
  CHECK(m.ffn_dim == 18944);
  // Qwen2.5-7B model card: 7.61B parameters (the q/k/v biases, 0.01%, are not counted).
  CHECK(total_params(m) == Approx(7.61e9).epsilon(0.02));
  CHECK(m.name == "hf_configs");  // no _name_or_path: the folder's name
}

TEST_CASE("catalog import prints a preset that loads back to the same architecture") {
  const std::string yaml = hf_config_preset_yaml(fixture("gpt-oss-120b.json"));
  CHECK(yaml.find("quantized_parts:") != std::string::npos);
  CHECK(yaml.find("default_weights: mxfp4") != std::string::npos);
  const fs::path dir = fs::temp_directory_path() / ("convsim_hf_catalog_" + std::to_string(::getpid()));
  fs::create_directories(dir / "models");
  const ModelSpec& preset = test::catalog().models.at("gpt-oss-120b");
  {
    // The file name must be the preset's name: the import names it after the folder.
    std::string text = yaml;
    const std::string from = "name: hf_configs", to = "name: gpt-oss-120b";
    REQUIRE(text.find(from) != std::string::npos);
    text.replace(text.find(from), from.size(), to);
    std::ofstream(dir / "models" / "gpt-oss-120b.yaml") << text;
  }
  const Catalog loaded = load_catalog(dir.string());
  fs::remove_all(dir);
  check_same_architecture(loaded.models.at("gpt-oss-120b"), preset);
  // params_published is the computed count, to be replaced by the published total.
  CHECK(loaded.models.at("gpt-oss-120b").params_published == Approx(total_params(preset)).epsilon(1e-3));
}

TEST_CASE("config.json problems are located at the field and name it") {
  CHECK(import_error(R"({"model_type": "llama", "hidden_size": 4096, "num_hidden_layers": 2,
 "num_attention_heads": 32, "num_key_value_heads": 8, "intermediate_size": 14336,
 "vocab_size": 1000, "max_position_embeddings": 4096, "sliding_window_size": 512})") ==
        "config.json:3:55: unsupported field 'sliding_window_size' for model_type llama: convsim "
        "cannot tell what it changes; fields it reads: head_dim, hidden_size, "
        "intermediate_size, max_position_embeddings, num_attention_heads, num_hidden_layers, "
        "num_key_value_heads, quantization_config, tie_word_embeddings, vocab_size");
  CHECK(import_error(R"({"model_type": "llama4", "hidden_size": 5120})") ==
        "config.json:1:2: model_type 'llama4' is not supported; supported: llama, qwen2, qwen3, qwen3_moe, mixtral, "
        "deepseek_v3, kimi_k2, deepseek_v32, gpt_oss, gemma3_text, gemma3, nemotron_h, mamba2");
  CHECK(import_error(R"({"model_type": "llama", "hidden_size": 4096, "num_hidden_layers": 2,
 "num_attention_heads": 32, "num_key_value_heads": 5, "vocab_size": 1000})") ==
        "config.json:2:29: num_attention_heads = 32 must be a multiple of num_key_value_heads = 5");
  CHECK(import_error(R"({"model_type": "llama", "hidden_size": 4000, "num_hidden_layers": 2,
 "num_attention_heads": 48, "vocab_size": 1000})") ==
        "config.json:2:2: hidden_size = 4000 is not a multiple of num_attention_heads = 48 and "
        "no head_dim is given");
  CHECK(import_error(R"({"model_type": "gpt_oss", "hidden_size": 2880, "num_hidden_layers": 3,
 "num_attention_heads": 64, "num_key_value_heads": 8, "head_dim": 64, "vocab_size": 1000,
 "num_local_experts": 32, "num_experts_per_tok": 4, "max_position_embeddings": 4096,
 "layer_types": ["sliding_attention", "full_attention"]})") ==
        "config.json:4:2: layer_types has 2 entries but num_hidden_layers = 3");
  CHECK(import_error(R"({"model_type": "qwen2", "hidden_size": 4096, "num_hidden_layers": 2,
 "num_attention_heads": 32, "intermediate_size": 11008, "vocab_size": 1000,
 "max_position_embeddings": 4096, "use_sliding_window": true})") ==
        "config.json:3:35: use_sliding_window: true (a window on the layers from max_window_layers "
        "on) is not modelled; allowed: false");
  CHECK(import_error(R"({"model_type": "llama", "hidden_size": 4096, "num_hidden_layers": 2,
 "num_attention_heads": 32, "intermediate_size": 11008, "vocab_size": 1000,
 "max_position_embeddings": 4096, "quantization_config": {"quant_method": "awq", "bits": 4}})") ==
        "config.json:3:35: quantization_config.quant_method 'awq' is not supported; allowed: fp8, "
        "mxfp4 (or no quantization_config: bf16)");
  CHECK(import_error(R"({"model_type": "llama", "hidden_size": 4096,
  "num_hidden_layers": 2.5})") ==
        "config.json:2:3: num_hidden_layers must be an integer >= 1, got 2.5");
  CHECK(import_error(R"({"model_type": "llama", "hidden_size": 4096,
  "num_hidden_layers": 1e3})") ==
        "config.json:2:3: num_hidden_layers must be an integer >= 1 written without a decimal point or exponent, got "
        "1000.0");
  CHECK(import_error("{\"model_type\": \"llama\",\n  \"hidden_size\": }").rfind("config.json:2:18: JSON syntax error", 0) == 0);
  // A number beyond a double is located at its text, not an uncaught parser error.
  CHECK(import_error("{\"model_type\": \"llama\",\n  \"hidden_size\": 1e400}") ==
        "config.json:2:18: the number 1e400 is too large for a double");
}

TEST_CASE("a scenario's model can be a config.json beside it") {
  const std::string dir = test::source_path("tests/scenario/hf_configs");
  const std::string yaml = std::string(R"(
name: from-config
requests: {count: 1, input_tokens: {fixed: 100}, output_tokens: {fixed: 10}}
model: {hf_config: mixtral-8x7b.json}
cluster: {gpu: h100-sxm, nodes: 1, gpus_per_node: 2}
parallelism: {tp: 2}
)");
  const Scenario s = load_scenario_text(yaml, dir + "/s.yaml", {}, test::catalog());
  check_same_architecture(s.model.spec, test::catalog().models.at("mixtral-8x7b"));
  try {
    load_scenario_text(R"(
name: missing
requests: {count: 1}
model: {hf_config: nowhere.json}
cluster: {gpu: h100-sxm}
)",
                       dir + "/s.yaml", {}, test::catalog());
    FAIL("a missing config.json was accepted");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()) == dir + "/s.yaml:4:20: model.hf_config: cannot read '" + dir + "/nowhere.json'");
  }
}
