#pragma once
// Small scenarios for tests, built from YAML text against the real catalog.

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "sim/scenario/catalog.hpp"
#include "sim/scenario/config_error.hpp"
#include "sim/scenario/loader.hpp"

namespace convsim::test {

inline const Catalog& catalog() {
  static const Catalog loaded = load_catalog(default_catalog_dir());
  return loaded;
}

// `nodes` DGX H100 nodes from the catalog: 8 H100s each on NVLink 4, InfiniBand NDR between.
inline ClusterSpec h100_cluster(int nodes) {
  ClusterSpec c;
  c.gpu = catalog().gpus.at("h100-sxm");
  c.nodes = nodes;
  c.gpus_per_node = 8;
  c.scale_up = catalog().fabrics.at("nvlink4");
  c.scale_out = catalog().fabrics.at("ib-ndr");
  return c;
}

inline Scenario scenario_from(const std::string& yaml, const std::vector<Override>& overrides = {}) {
  return load_scenario_text(yaml, "test.yaml", overrides, catalog());
}

// The whole text of a file ("" when it cannot be read).
inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Lines 1-5 of a scenario whose cluster section is left open: its further keys
// start on line 6, two spaces in.
inline const std::string kClusterHead =
    "name: x\n"
    "conversation: {duration_min: 10, speakers: [{name: a, turn_words: 5}]}\n"
    "model: {preset: llama-3.1-8b}\n"
    "cluster:\n"
    "  gpu: h100-sxm\n";

// The error that loading kClusterHead followed by `cluster_lines` gives, or "(no error)".
inline std::string cluster_error_of(const std::string& cluster_lines) {
  try {
    scenario_from(kClusterHead + cluster_lines);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

inline std::string source_path(const std::string& relative) { return std::string(CONVSIM_SOURCE_DIR) + "/" + relative; }

// The error that loading `yaml` gives, or "no error".
inline std::string load_error_of(const std::string& yaml) {
  try {
    scenario_from(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

// A copy of the shipped catalog in `dir`/catalog (for CONVSIM_CATALOG) whose preset
// `file` (e.g. "gpus/h100-sxm.yaml") has its first `from` replaced by `to`.
inline std::filesystem::path catalog_copy_with(const std::filesystem::path& dir, const std::string& file,
                                               const std::string& from, const std::string& to) {
  const std::filesystem::path copy = dir / "catalog";
  std::filesystem::copy(source_path("models/catalog"), copy, std::filesystem::copy_options::recursive);
  std::string text = read_file(copy / file);
  const auto at = text.find(from);
  if (at == std::string::npos) throw std::runtime_error(file + " holds no '" + from + "'");
  text.replace(at, from.size(), to);
  std::ofstream(copy / file) << text;
  return copy;
}

// One conversation on one H100 with Llama-3.1-8B: cheap to simulate.
inline const char* kSmallConversation = R"(
name: small-conversation
seed: 3
conversation:
  duration_min: 20
  speakers:
    - {name: alice, words_per_min: 150, turn_words: {median: 40, sigma: 0.5}}
    - {name: bob, words_per_min: 150, turn_words: {median: 40, sigma: 0.5}}
  pause_s: {median: 0.7, sigma: 0.3}
  tokens_per_word: 1.33
  model_replies: {after: every_turn, output_tokens: {fixed: 30}}
  probe_minutes: [1, 10]
model: {preset: llama-3.1-8b}
context: {policy: full, kv_between_turns: keep}
cluster: {gpu: h100-sxm, nodes: 1, gpus_per_node: 1, pue: 1.3, host_power_w_per_node: 500}
parallelism: {tp: 1, pp: 1}
serving: {max_batch_seqs: 16, prefill_chunk_tokens: 2048}
slo: {ttft_s: 0.5, tpot_s: 0.05}
)";

}  // namespace convsim::test
