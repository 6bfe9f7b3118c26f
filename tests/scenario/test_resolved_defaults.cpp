// scenario.resolved.yaml holds every default the loader filled in, so that running
// it reads the very values of the first run and no default of the code: loading it
// fills nothing, and writes the same text again.

#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <yaml-cpp/yaml.h>

#include "sim/scenario/config_error.hpp"
#include "tests/support/scenario_fixture.hpp"

namespace fs = std::filesystem;
using namespace ::convsim;
using namespace ::convsim::test;

namespace {

// The node at a dotted key path ("serving.max_batch_seqs"), or an undefined node.
YAML::Node at_path(YAML::Node node, const std::string& path) {
  std::size_t begin = 0;
  while (begin <= path.size()) {
    const std::size_t dot = path.find('.', begin);
    const std::string key = path.substr(begin, dot == std::string::npos ? std::string::npos : dot - begin);
    if (!node.IsMap() || !node[key]) return YAML::Node(YAML::NodeType::Undefined);
    node.reset(node[key]);  // not node = ...: YAML::Node's operator= would overwrite the tree
    if (dot == std::string::npos) break;
    begin = dot + 1;
  }
  return node;
}

}  // namespace

TEST_CASE("a scenario that leaves sections out gets their defaults written into its resolved scenario") {
  // Only what is required: no context, parallelism, serving or slo, no pause_s or
  // model_replies, no fabrics.
  const Scenario s = scenario_from(R"(
name: bare
conversation:
  duration_min: 5
  speakers:
    - {name: alice, turn_words: {fixed: 20}}
model: {preset: llama-3.1-8b}
cluster: {gpu: h100-sxm}
)");
  const YAML::Node resolved = YAML::Load(s.resolved_yaml);
  // Each expected value is the scenario's own (as read), so the file pins it.
  struct Case {
    std::string path;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"seed", std::to_string(s.seed)},
      {"serving.max_batch_seqs", std::to_string(s.serving.max_batch_seqs)},
      {"serving.prefill_chunk_tokens", std::to_string(s.serving.prefill_chunk_tokens)},
      {"serving.engine", "vllm"},
      {"context.policy", "full"},
      {"context.kv_between_turns", "keep"},
      {"cluster.scale_up", s.cluster.scale_up.name},
      {"cluster.scale_out", s.cluster.scale_out.name},
      {"cluster.host_link", s.cluster.host_link.name},
      {"cluster.nodes", std::to_string(s.cluster.nodes)},
      {"parallelism.tp", "1"},
      {"parallelism.dp", "1"},
      {"model.kv_cache", "bf16"},
      {"conversation.speakers.0.words_per_min", "150"},
      {"conversation.model_replies.output_tokens.fixed", "50"},
      {"conversation.pause_s.fixed", "0.7"},
  };
  for (const Case& c : cases) {
    INFO(c.path << "\n" << s.resolved_yaml);
    YAML::Node node = c.path.rfind("conversation.speakers.0.", 0) == 0
                          ? at_path(resolved["conversation"]["speakers"][0], c.path.substr(24))
                          : at_path(resolved, c.path);
    REQUIRE(node.IsScalar());
    CHECK(node.Scalar() == c.expected);
  }
  CHECK(!s.filled_defaults.empty());
}

TEST_CASE("every shipped scenario's resolved scenario fills no default when loaded, and resolves to itself") {
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(source_path("scenarios"))) {
    if (entry.path().extension() == ".yaml") files.push_back(entry.path());
  }
  REQUIRE(files.size() > 10);
  for (const fs::path& file : files) {
    INFO(file.string());
    Scenario first;
    try {
      first = load_scenario(file.string(), {}, catalog(), VariantCheck::skip);
    } catch (const ConfigError& e) {
      FAIL(e.what());
    }
    // Written beside the original, so that paths relative to it (traces,
    // transcripts, Hugging Face configs) still resolve.
    const Scenario again =
        load_scenario_text(first.resolved_yaml, file.string(), {}, catalog(), VariantCheck::skip);
    INFO(first.resolved_yaml);
    CHECK(again.filled_defaults == std::vector<std::string>{});
    CHECK(again.resolved_yaml == first.resolved_yaml);
    CHECK(again.resolved_hash == first.resolved_hash);
  }
}
