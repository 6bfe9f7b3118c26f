// A valid scenario file becomes the typed Scenario: every key lands in its field,
// absent keys take the defaults of sim/scenario/scenario.hpp, `--set` overrides
// and compare variants apply on top.

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/core.h>

#include "sim/scenario/loader.hpp"
#include "tests/support/scenario_fixture.hpp"

namespace convsim {
namespace {

ModelSpec fixture_model(const std::string& name, int layers, int heads, int kv_heads) {
  ModelSpec m;
  m.name = name;
  m.layers = layers;
  m.d_model = heads * 128;
  m.heads = heads;
  m.kv_heads = kv_heads;
  m.head_dim = 128;
  m.ffn_dim = 4 * m.d_model;
  m.vocab_tokens = 32000;
  m.max_context_tokens = 131072;
  return m;
}

FabricSpec fixture_fabric(const std::string& name, FabricKind kind, double bandwidth) {
  FabricSpec f;
  f.name = name;
  f.kind = kind;
  f.bandwidth_bytes_per_s = bandwidth;
  return f;
}

Catalog fixture_catalog() {
  Catalog c;
  c.models["dense-70b"] = fixture_model("dense-70b", 80, 64, 8);
  for (const auto& [name, hbm_bytes] : {std::pair{"a100-sxm", 80e9}, std::pair{"h100-sxm", 80e9},
                                        std::pair{"h200", 141e9}}) {
    GpuSpec g;
    g.name = name;
    g.peak_flops_per_s[Precision::bf16] = 1e15;
    g.hbm_bytes = hbm_bytes;
    g.hbm_bytes_per_s = 3e12;
    g.power_max_w = 700;
    c.gpus[name] = g;
  }
  c.fabrics["nvlink4"] = fixture_fabric("nvlink4", FabricKind::scale_up, 450e9);
  c.fabrics["pcie5"] = fixture_fabric("pcie5", FabricKind::scale_up, 64e9);
  c.fabrics["ib-ndr"] = fixture_fabric("ib-ndr", FabricKind::scale_out, 50e9);
  c.fabrics["roce-400g"] = fixture_fabric("roce-400g", FabricKind::scale_out, 50e9);
  return c;
}

// Every section given, most keys away from their defaults.
const std::string kFull = R"(name: podcast
seed: 7
conversation:
  duration_min: 510
  sessions: 2
  session_stagger_s: 30
  speakers:
    - {name: alice, words_per_min: 160, turn_words: {median: 60, sigma: 0.6}}
    - {name: bob, turn_words: 40}
  pause_s: {uniform: [0.2, 1.5]}
  tokens_per_word: 1.4
  system_prompt_tokens: 500
  model_replies: {after: every_turn, output_tokens: {fixed: 50}, words_per_min: 170}
  probe_minutes: [5, 55, 205, 305, 505]
model: {preset: dense-70b, weights: fp8, kv_cache: int8}
context: {policy: full, kv_between_turns: drop}
cluster: {gpu: h200, nodes: 2, gpus_per_node: 8, scale_up: pcie5, scale_out: roce-400g, pue: 1.3, host_power_w_per_node: 800}
parallelism: {tp: 8, pp: 2}
serving: {max_batch_seqs: 64, prefill_chunk_tokens: 4096, workspace_bytes_per_gpu: 1e9}
slo: {ttft_s: 2, tpot_s: 0.05, speech_realtime: false}
compare:
  - {name: tp4, set: {parallelism.tp: 4, parallelism.pp: 4}}
  - name: probes
    set: {conversation.probe_minutes: [1, 2]}
)";

// Only what is required.
const std::string kMinimal = R"(name: minimal
conversation:
  duration_min: 10
  speakers: [{name: a, turn_words: 5}]
model: {preset: dense-70b}
cluster: {gpu: h100-sxm}
)";

std::string fnv1a_64_hex(const std::string& text) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a offset basis
  for (const unsigned char c : text) {
    hash = (hash ^ c) * 0x100000001b3ULL;  // FNV prime
  }
  return fmt::format("{:016x}", hash);
}

}  // namespace

TEST_CASE("every key of a full scenario lands in its field", "[scenario][loader]") {
  const Scenario s = load_scenario_text(kFull, "full.yaml", {}, fixture_catalog());
  CHECK(s.name == "podcast");
  CHECK(s.seed == 7);
  CHECK(s.source_path == "full.yaml");
  REQUIRE(s.conversation.has_value());
  CHECK_FALSE(s.requests.has_value());

  const ConversationSpec& c = *s.conversation;
  CHECK(c.duration_min == 510);
  CHECK(c.sessions == 2);
  CHECK(c.session_stagger_s == 30);
  REQUIRE(c.speakers.size() == 2);
  CHECK(c.speakers[0].name == "alice");
  CHECK(c.speakers[0].words_per_min == 160);
  CHECK(c.speakers[0].turn_words.kind == Distribution::Kind::lognormal);
  CHECK(c.speakers[0].turn_words.median == 60);
  CHECK(c.speakers[0].turn_words.sigma == 0.6);
  CHECK(c.speakers[1].name == "bob");
  CHECK(c.speakers[1].words_per_min == 150);  // default
  CHECK(c.speakers[1].turn_words.kind == Distribution::Kind::fixed);  // plain number
  CHECK(c.speakers[1].turn_words.value == 40);
  CHECK(c.pause_s.kind == Distribution::Kind::uniform);
  CHECK(c.pause_s.low == 0.2);
  CHECK(c.pause_s.high == 1.5);
  CHECK(c.tokens_per_word == 1.4);
  CHECK(c.system_prompt_tokens == 500);
  CHECK(c.reply_output_tokens.kind == Distribution::Kind::fixed);
  CHECK(c.reply_output_tokens.value == 50);
  CHECK(c.reply_words_per_min == 170);
  CHECK(c.probe_minutes == std::vector<double>{5, 55, 205, 305, 505});

  CHECK(s.model.spec.name == "dense-70b");
  CHECK(s.model.spec.heads == 64);
  CHECK(s.model.weights == Precision::fp8);
  CHECK(s.model.kv_cache == Precision::int8);
  CHECK(s.context.policy == ContextSpec::Policy::full);
  CHECK(s.context.kv_between_turns == ContextSpec::KvBetweenTurns::drop);

  CHECK(s.cluster.gpu.name == "h200");
  CHECK(s.cluster.gpu.hbm_bytes == 141e9);
  CHECK(s.cluster.nodes == 2);
  CHECK(s.cluster.gpus_per_node == 8);
  CHECK(s.cluster.scale_up.name == "pcie5");
  CHECK(s.cluster.scale_out.name == "roce-400g");
  CHECK(s.cluster.pue == 1.3);
  CHECK(s.cluster.host_power_w_per_node == 800);

  CHECK(s.parallelism.tp == 8);
  CHECK(s.parallelism.pp == 2);
  CHECK(s.parallelism.dp == 1);
  CHECK(s.serving.max_batch_seqs == 64);
  CHECK(s.serving.prefill_chunk_tokens == 4096);
  CHECK(s.serving.workspace_bytes_per_gpu == 1e9);
  CHECK(s.slo.ttft_s == 2);
  CHECK(s.slo.tpot_s == 0.05);
  CHECK_FALSE(s.slo.speech_realtime);
}

TEST_CASE("absent keys take the defaults of scenario.hpp", "[scenario][loader]") {
  const Scenario s = load_scenario_text(kMinimal, "min.yaml", {}, fixture_catalog());
  const ConversationSpec defaults_conversation;
  const ClusterSpec defaults_cluster;
  const ServingSpec defaults_serving;
  const SloSpec defaults_slo;
  CHECK(s.seed == 1);
  REQUIRE(s.conversation.has_value());
  const ConversationSpec& c = *s.conversation;
  CHECK(c.sessions == defaults_conversation.sessions);
  CHECK(c.session_stagger_s == defaults_conversation.session_stagger_s);
  CHECK(c.speakers[0].words_per_min == 150);
  CHECK(c.pause_s.kind == Distribution::Kind::fixed);
  CHECK(c.pause_s.value == defaults_conversation.pause_s.value);
  CHECK(c.tokens_per_word == defaults_conversation.tokens_per_word);
  CHECK(c.system_prompt_tokens == 0);
  CHECK(c.reply_output_tokens.value == defaults_conversation.reply_output_tokens.value);
  CHECK(c.reply_words_per_min == 150);
  CHECK(c.probe_minutes.empty());
  CHECK(s.model.weights == Precision::bf16);
  CHECK(s.model.kv_cache == Precision::bf16);
  CHECK(s.context.kv_between_turns == ContextSpec::KvBetweenTurns::keep);
  CHECK(s.cluster.nodes == defaults_cluster.nodes);
  CHECK(s.cluster.gpus_per_node == defaults_cluster.gpus_per_node);
  CHECK(s.cluster.scale_up.name == "nvlink4");
  CHECK(s.cluster.scale_out.name == "ib-ndr");
  CHECK(s.cluster.pue == defaults_cluster.pue);
  CHECK(s.cluster.host_power_w_per_node == 0);
  CHECK(s.parallelism.tp == 1);
  CHECK(s.parallelism.pp == 1);
  CHECK(s.parallelism.dp == 1);
  CHECK(s.serving.max_batch_seqs == defaults_serving.max_batch_seqs);
  CHECK(s.serving.prefill_chunk_tokens == defaults_serving.prefill_chunk_tokens);
  CHECK(s.serving.workspace_bytes_per_gpu == defaults_serving.workspace_bytes_per_gpu);
  CHECK(s.slo.ttft_s == defaults_slo.ttft_s);
  CHECK(s.slo.tpot_s == defaults_slo.tpot_s);
  CHECK(s.slo.speech_realtime == defaults_slo.speech_realtime);
  CHECK(s.variants.empty());
}

TEST_CASE("a request stream reads its three arrival forms", "[scenario][loader]") {
  const std::string head = R"(name: bench
requests:
  count: 2000
  input_tokens: {fixed: 1000}
  output_tokens: {median: 200, sigma: 0.3}
)";
  const std::string tail = "model: {preset: dense-70b}\ncluster: {gpu: h100-sxm}\n";
  const Catalog catalog = fixture_catalog();

  Scenario s = load_scenario_text(head + "  arrival: {concurrency: 8}\n" + tail, "r.yaml", {},
                                  catalog);
  REQUIRE(s.requests.has_value());
  CHECK_FALSE(s.conversation.has_value());
  CHECK(s.requests->count == 2000);
  CHECK(s.requests->input_tokens.value == 1000);
  CHECK(s.requests->output_tokens.kind == Distribution::Kind::lognormal);
  CHECK(s.requests->output_tokens.median == 200);
  CHECK(s.requests->arrival == RequestStreamSpec::Arrival::concurrency);
  CHECK(s.requests->concurrency == 8);

  s = load_scenario_text(head + "  arrival: {rate_per_s: 5}\n" + tail, "r.yaml", {}, catalog);
  CHECK(s.requests->arrival == RequestStreamSpec::Arrival::rate);
  CHECK(s.requests->rate_per_s == 5);

  s = load_scenario_text(head + "  arrival: {all_at_once: true}\n" + tail, "r.yaml", {}, catalog);
  CHECK(s.requests->arrival == RequestStreamSpec::Arrival::all_at_once);
}

TEST_CASE("an inline architecture replaces a preset", "[scenario][loader]") {
  const std::string text = R"(name: inline
requests: {count: 1}
model:
  inline: {layers: 2, d_model: 256, heads: 4, kv_heads: 2, head_dim: 64, ffn_dim: 1024,
           gated_mlp: false, vocab_tokens: 1000, tied_embeddings: true, max_context_tokens: 4096}
  weights: int4
cluster: {gpu: h100-sxm, gpus_per_node: 2}
parallelism: {tp: 2}
)";
  const Scenario s = load_scenario_text(text, "i.yaml", {}, fixture_catalog());
  CHECK(s.model.spec.name == "inline");
  CHECK(s.model.spec.architecture == "dense");
  CHECK(s.model.spec.layers == 2);
  CHECK(s.model.spec.kv_heads == 2);
  CHECK_FALSE(s.model.spec.gated_mlp);
  CHECK(s.model.spec.tied_embeddings);
  CHECK(s.model.spec.max_context_tokens == 4096);
  CHECK(s.model.weights == Precision::int4);
}

TEST_CASE("overrides from --set change values (lists included) and create missing sections",
          "[scenario][loader]") {
  const Catalog catalog = fixture_catalog();
  const Scenario s = load_scenario_text(kFull, "full.yaml",
                                        {parse_override("parallelism.tp=4"),
                                         parse_override("conversation.probe_minutes=[1, 2]"),
                                         parse_override("conversation.speakers.1.name=carol")},
                                        catalog);
  CHECK(s.parallelism.tp == 4);
  CHECK(s.parallelism.pp == 2);  // untouched
  CHECK(s.conversation->probe_minutes == std::vector<double>{1, 2});
  CHECK(s.conversation->speakers[1].name == "carol");

  // kMinimal has no parallelism or serving section: --set creates them.
  const Scenario m = load_scenario_text(
      kMinimal, "min.yaml",
      {parse_override("parallelism.tp=8"), parse_override("serving.max_batch_seqs=16")}, catalog);
  CHECK(m.parallelism.tp == 8);
  CHECK(m.serving.max_batch_seqs == 16);
}

TEST_CASE("compare variants are filled and the base scenario is returned", "[scenario][loader]") {
  const Scenario s = load_scenario_text(kFull, "full.yaml", {}, fixture_catalog());
  CHECK(s.parallelism.tp == 8);  // the base, not a variant
  REQUIRE(s.variants.size() == 2);
  CHECK(s.variants[0].name == "tp4");
  using Sets = std::vector<std::pair<std::string, std::string>>;
  CHECK(s.variants[0].sets == Sets{{"parallelism.tp", "4"}, {"parallelism.pp", "4"}});
  CHECK(s.variants[1].name == "probes");
  CHECK(s.variants[1].sets == Sets{{"conversation.probe_minutes", "[1, 2]"}});

  // A variant's sets, applied as overrides, give a valid scenario.
  std::vector<Override> as_overrides;
  for (const auto& [key, value] : s.variants[0].sets) as_overrides.push_back({key, value});
  const Scenario v = load_scenario_text(kFull, "full.yaml", as_overrides, fixture_catalog());
  CHECK(v.parallelism.tp == 4);
  CHECK(v.parallelism.pp == 4);
}

TEST_CASE("a scenario file records its path and the FNV-1a hash of its text",
          "[scenario][loader]") {
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() / "convsim_test_loader_scenario.yaml";
  {
    std::ofstream out(path, std::ios::binary);
    out << kMinimal;
  }
  const Scenario s = load_scenario(path.string(), {}, fixture_catalog());
  std::filesystem::remove(path);
  CHECK(s.source_path == path.string());
  CHECK(s.source_text_hash.size() == 16);
  CHECK(s.source_text_hash == fnv1a_64_hex(kMinimal));
  // The published FNV-1a 64 test vector for "a" checks the formula used above.
  CHECK(fnv1a_64_hex("a") == "af63dc4c8601ec8c");
}

TEST_CASE("the scenario hash covers the contents of the trace or transcript it replays", "[scenario][loader]") {
  // The same scenario text over a data file whose contents change: the hash follows
  // the contents (not the file's name), and equal contents give equal hashes.
  struct Case {
    const char* what;
    const char* file;
    const char* section;  // the scenario's workload, {} standing for the file
    const char* contents_a;
    const char* contents_b;
  };
  const Case cases[] = {
      {"azure trace", "convsim_test_hash_trace.csv", "requests: {{trace: {}, format: azure}}",
       "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.0,374,44\n",
       "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.0,375,44\n"},
      {"transcript", "convsim_test_hash_transcript.csv", "conversation: {{transcript: {}}}",
       "session,speaker,start_s,end_s,tokens,reply_tokens\nm,ana,0,10,40,20\n",
       "session,speaker,start_s,end_s,tokens,reply_tokens\nm,ana,0,10,40,21\n"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    const std::filesystem::path path = std::filesystem::temp_directory_path() / c.file;
    const std::string text = "name: hashed\n" + fmt::format(fmt::runtime(c.section), path.string()) +
                             "\nmodel: {preset: dense-70b}\ncluster: {gpu: h100-sxm, nodes: 1, gpus_per_node: 8}\n"
                             "parallelism: {tp: 8}\n";
    auto hash_with = [&](const char* contents) {
      std::ofstream(path, std::ios::binary) << contents;
      return load_scenario_text(text, "hashed.yaml", {}, fixture_catalog()).resolved_hash;
    };
    const std::string a = hash_with(c.contents_a), b = hash_with(c.contents_b), a_again = hash_with(c.contents_a);
    std::filesystem::remove(path);
    CHECK(a != b);
    CHECK(a == a_again);
  }
}

TEST_CASE("a compare variant's own warnings reach the scenario's, named, and the base's are not repeated",
          "[scenario][loader]") {
  const std::string yaml = std::string(test::kSmallConversation) +
                           "compare:\n"
                           "  - {name: dense}\n"
                           "  - {name: hybrid, set: {model.preset: nemotron-nano-9b-v2}}\n";
  const Scenario s = test::scenario_from(yaml, {{"serving.prefix_caching", "true"}});
  REQUIRE(s.warnings.size() == 1);  // the dense base and variant warn of nothing
  // Located at the key (here the override), so it names the variant at its end.
  CHECK_THAT(s.warnings[0], Catch::StartsWith("--set serving.prefix_caching=true: warning: serving.prefix_caching: "
                                              "the vllm engine keeps no SSM") &&
                                Catch::EndsWith("(compare variant hybrid)"));
  // A warning of the base, which every variant repeats, is given once.
  const Scenario hybrid_base =
      test::scenario_from(yaml, {{"serving.prefix_caching", "true"}, {"model.preset", "nemotron-nano-9b-v2"}});
  CHECK(hybrid_base.warnings.size() == 1);
}

TEST_CASE("prefix caching of a model with SSM layers follows the engine's profile", "[scenario][loader]") {
  const std::vector<Override> hybrid = {{"model.preset", "nemotron-nano-9b-v2"}, {"serving.prefix_caching", "true"}};
  SECTION("vllm keeps no SSM states for its prefix cache: served without it, with a warning at the key") {
    const Scenario s = test::scenario_from(test::kSmallConversation, hybrid);
    CHECK_FALSE(s.serving.engine.caches_ssm_prefixes);
    CHECK_FALSE(s.serving.prefix_caching);
    REQUIRE(s.warnings.size() == 1);
    // Located where the key was set: here the override.
    CHECK_THAT(s.warnings[0], Catch::StartsWith("--set serving.prefix_caching=true: ") &&
                                  Catch::Contains("warning: serving.prefix_caching: the vllm engine keeps no SSM "
                                                  "states") &&
                                  Catch::EndsWith("served without prefix caching"));
  }
  SECTION("sglang's radix cache keeps them: prefix caching stays on, no warning") {
    std::vector<Override> o = hybrid;
    o.push_back({"serving.engine", "sglang"});
    const Scenario s = test::scenario_from(test::kSmallConversation, o);
    CHECK(s.serving.engine.caches_ssm_prefixes);
    CHECK(s.serving.prefix_caching);
    CHECK(s.warnings.empty());
  }
  SECTION("a model without SSM layers keeps prefix caching on vllm") {
    const Scenario s = test::scenario_from(test::kSmallConversation, {{"serving.prefix_caching", "true"}});
    CHECK(s.serving.prefix_caching);
    CHECK(s.warnings.empty());
  }
  SECTION("routing by prefix cannot be served without a prefix cache") {
    std::vector<Override> o = hybrid;
    o.push_back({"serving.routing", "prefix_affinity"});
    o.push_back({"parallelism.dp", "2"});
    o.push_back({"cluster.gpus_per_node", "2"});
    try {
      test::scenario_from(test::kSmallConversation, o);
      FAIL("expected a ConfigError");
    } catch (const ConfigError& e) {
      CHECK_THAT(e.what(), Catch::Contains("serving.routing: prefix_affinity needs a prefix cache: the vllm engine"));
    }
  }
}

}  // namespace convsim

TEST_CASE("a tensor-parallel group that would cross nodes is allowed, with a located warning") {
  const convsim::Scenario s = convsim::load_scenario_text(R"(name: straddle
requests: {count: 1}
model: {preset: llama-3.1-8b}
cluster: {gpu: h100-sxm, nodes: 2, gpus_per_node: 6}
parallelism: {tp: 4, dp: 3}
)", "t.yaml", {}, convsim::load_catalog(convsim::default_catalog_dir()));
  REQUIRE(s.warnings.size() == 1);
  CHECK(s.warnings[0] == "t.yaml:5:19: warning: parallelism.tp = 4 does not divide cluster.gpus_per_node = 6: some "
                         "tensor-parallel groups cross nodes and all-reduce over the scale-out network");
}

TEST_CASE("a scenario's engine runs with its profile's host figures for the cluster's GPU, the shared pair elsewhere") {
  const convsim::EngineProfile& vllm = convsim::test::catalog().engines.at("vllm");
  for (const char* gpu : {"b200", "h100-sxm", "a100-sxm"}) {
    INFO(gpu);
    std::string yaml = convsim::test::kClusterHead;
    yaml.replace(yaml.find("h100-sxm"), 8, gpu);
    const convsim::Scenario s = convsim::test::scenario_from(yaml);
    const auto entry = vllm.host_by_gpu.find(gpu);
    const bool has_entry = entry != vllm.host_by_gpu.end();
    CHECK(has_entry == (std::string(gpu) != "a100-sxm"));  // the catalog measures vLLM's host on H100 and B200 only
    CHECK(s.serving.engine.iteration_host_s == (has_entry ? entry->second.iteration_host_s : vllm.iteration_host_s));
    CHECK(s.serving.engine.host_s_per_sequence ==
          (has_entry ? entry->second.host_s_per_sequence : vllm.host_s_per_sequence));
  }
}
