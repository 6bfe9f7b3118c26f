// Every configuration mistake is reported as "file:line:column: message" naming the
// bad value and what is allowed. The expected texts below are written from the rules
// in sim/scenario/loader.hpp and DESIGN.md; line and column are counted by hand in
// the inline YAML (1-based).

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "sim/scenario/config_error.hpp"
#include "sim/scenario/loader.hpp"

namespace convsim {
namespace {

ModelSpec fixture_model(const std::string& name, int layers, int d_model, int heads, int kv_heads,
                        int ffn_dim) {
  ModelSpec m;
  m.name = name;
  m.layers = layers;
  m.d_model = d_model;
  m.heads = heads;
  m.kv_heads = kv_heads;
  m.head_dim = 128;
  m.ffn_dim = ffn_dim;
  m.vocab_tokens = 128256;
  m.max_context_tokens = 131072;
  return m;
}

FabricSpec fixture_fabric(const std::string& name, FabricKind kind) {
  FabricSpec f;
  f.name = name;
  f.kind = kind;
  f.bandwidth_bytes_per_s = 1e11;
  return f;
}

// Two models, three GPUs, two fabrics of each kind.
Catalog fixture_catalog() {
  Catalog c;
  c.models["dense-70b"] = fixture_model("dense-70b", 80, 8192, 64, 8, 28672);
  c.models["dense-405b"] = fixture_model("dense-405b", 126, 16384, 128, 8, 53248);
  for (const char* name : {"a100-sxm", "h100-sxm", "h200"}) {
    GpuSpec g;
    g.name = name;
    g.peak_flops_per_s[Precision::bf16] = 1e15;
    g.hbm_bytes = 80e9;
    g.hbm_bytes_per_s = 3e12;
    g.power_max_w = 700;
    c.gpus[name] = g;
  }
  c.fabrics["nvlink4"] = fixture_fabric("nvlink4", FabricKind::scale_up);
  c.fabrics["pcie5"] = fixture_fabric("pcie5", FabricKind::scale_up);
  c.fabrics["ib-ndr"] = fixture_fabric("ib-ndr", FabricKind::scale_out);
  c.fabrics["roce-400g"] = fixture_fabric("roce-400g", FabricKind::scale_out);
  return c;
}

// One-line sections shared by the cases.
const std::string kConversation =
    "conversation: {duration_min: 10, speakers: [{name: a, turn_words: 5}]}\n";
const std::string kModel70b = "model: {preset: dense-70b}\n";
const std::string kModel405b = "model: {preset: dense-405b}\n";
// A complete valid scenario of four lines.
const std::string kValid = "name: x\n" + kConversation + kModel70b + "cluster: {gpu: h100-sxm}\n";

struct Case {
  const char* rule;
  std::string text;
  std::vector<Override> overrides;
  std::string expected;
};

std::string error_of(const std::string& text, const std::vector<Override>& overrides) {
  try {
    load_scenario_text(text, "s.yaml", overrides, fixture_catalog());
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("each bad scenario is reported with its exact located message", "[scenario][errors]") {
  const std::vector<Case> cases = {
      {"a fault of an unknown kind names the four kinds",
       kValid + "faults: [{at_min: 5, kind: gpu_melt, gpu: 0, repair_min: 1}]\n",
       {},
       "s.yaml:5:28: faults[0].kind: unknown value 'gpu_melt'; allowed: gpu_slow, link_slow, gpu_lost, node_lost"},
      {"a fault names one of the GPUs the replicas use",
       kValid + "faults: [{at_min: 1, kind: gpu_slow, gpu: 9, factor: 2}]\n",
       {},
       "s.yaml:5:43: faults[0].gpu must be in [0, 0], got 9"},
      {"expert parallelism needs a model with experts",
       kValid + "parallelism: {ep: 2}\n",
       {},
       "s.yaml:5:19: parallelism.ep = 2: dense-70b has no experts to spread"},
      {"a summary must be shorter than the history it summarises",
       "name: x\n" + kConversation + kModel70b +
           "context: {policy: summary, summary_every_tokens: 100, summary_tokens: 200}\n",
       {},
       "s.yaml:4:71: context.summary_tokens = 200 must be < context.summary_every_tokens = 100"},
      {"streaming ingestion needs the full-history policy",
       "name: x\n" + kConversation + kModel70b + "context: {policy: window, ingestion: streaming}\n",
       {},
       "s.yaml:4:38: context.ingestion: streaming needs context.policy full (the words streamed in extend the "
       "cached history), got window"},
      {"unknown key close to a known one gets a did-you-mean",
       "name: x\n"
       "conversation:\n"
       "  duraton_min: 10\n",
       {},
       "s.yaml:3:3: unknown key 'duraton_min' in conversation; did you mean 'duration_min'?"},
      {"unknown top-level key within edit distance 2 gets a did-you-mean",
       "name: x\n" + kConversation + "modle: {preset: dense-70b}\n",
       {},
       "s.yaml:3:1: unknown key 'modle' in the scenario; did you mean 'model'?"},
      {"unknown key far from every known one lists the allowed keys",
       kValid + "serving: {batch_size: 8}\n",
       {},
       "s.yaml:5:11: unknown key 'batch_size' in serving; allowed: engine, max_batch_seqs, "
       "prefill_chunk_tokens, kv_block_tokens, workspace_bytes_per_gpu, routing, speculative, "
       "prefix_caching, prefix_cache_tokens, prefix_cache_offload, symm_mem_allreduce"},
      {"unknown key inside a list entry names the entry",
       "name: x\n"
       "conversation:\n"
       "  duration_min: 10\n"
       "  speakers:\n"
       "    - {name: a, wpm: 150}\n",
       {},
       "s.yaml:5:17: unknown key 'wpm' in conversation.speakers[0]; allowed: name, "
       "words_per_min, turn_words"},
      {"a key given twice is an error",
       "name: x\n"
       "name: y\n",
       {},
       "s.yaml:2:1: duplicate key 'name' in the scenario"},
      {"a word where a number is needed",
       "name: x\n"
       "conversation:\n"
       "  duration_min: ten\n",
       {},
       "s.yaml:3:17: conversation.duration_min: expected a number, got 'ten'"},
      {"a number out of its range",
       "name: x\n"
       "conversation:\n"
       "  duration_min: -5\n",
       {},
       "s.yaml:3:17: conversation.duration_min must be > 0, got -5"},
      {"NaN is not a number",
       "name: x\n"
       "conversation:\n"
       "  duration_min: .nan\n",
       {},
       "s.yaml:3:17: conversation.duration_min: expected a finite number, got '.nan'"},
      {"a fraction where an integer is needed",
       "name: x\n"
       "conversation:\n"
       "  duration_min: 10\n"
       "  sessions: 2.5\n",
       {},
       "s.yaml:4:13: conversation.sessions: expected an integer, got '2.5'"},
      {"a missing required key points at the map that should hold it",
       "name: x\n"
       "conversation: {sessions: 2}\n",
       {},
       "s.yaml:2:15: conversation: missing required key 'duration_min'"},
      {"a bool that is neither true nor false",
       kValid + "slo: {speech_realtime: maybe}\n",
       {},
       "s.yaml:5:24: slo.speech_realtime: expected true or false, got 'maybe'"},
      {"pue outside [1, 3]",
       "name: x\n" + kConversation + kModel70b + "cluster: {gpu: h100-sxm, pue: 0.9}\n",
       {},
       "s.yaml:4:31: cluster.pue must be in [1, 3], got 0.9"},
      {"unknown GPU preset suggests the closest and lists the available ones",
       "name: x\n" + kConversation + kModel70b + "cluster: {gpu: h1000}\n",
       {},
       "s.yaml:4:16: cluster.gpu: unknown GPU preset 'h1000'; did you mean 'h100-sxm'? "
       "available: a100-sxm, h100-sxm, h200"},
      {"unknown model preset with no close match lists the available ones",
       "name: x\n" + kConversation + "model: {preset: gpt-5}\n",
       {},
       "s.yaml:3:17: model.preset: unknown model preset 'gpt-5'; available: dense-405b, "
       "dense-70b"},
      {"unknown precision lists the precisions",
       "name: x\n" + kConversation + "model: {preset: dense-70b, weights: bf17}\n",
       {},
       "s.yaml:3:37: model.weights: unknown precision 'bf17'; allowed: bf16, fp8, int8, int4, nvfp4, mxfp4"},
      {"a scale_out fabric where a scale_up one is needed",
       "name: x\n" + kConversation + kModel70b + "cluster: {gpu: h100-sxm, scale_up: ib-ndr}\n",
       {},
       "s.yaml:4:36: cluster.scale_up: 'ib-ndr' is a scale_out fabric; a scale_up fabric is "
       "needed here: nvlink4, pcie5"},
      {"an unknown KV policy names the four allowed",
       "name: x\n" + kConversation + kModel70b + "context: {kv_between_turns: offload_gpu}\n",
       {},
       "s.yaml:4:29: context.kv_between_turns: unknown value 'offload_gpu'; allowed: "
       "keep, offload_cpu, offload_nvme, drop"},
      {"a distribution in none of the three forms",
       "name: x\n"
       "conversation:\n"
       "  duration_min: 10\n"
       "  speakers:\n"
       "    - {name: a, turn_words: {mean: 5}}\n",
       {},
       "s.yaml:5:29: conversation.speakers[0].turn_words: expected a number, {fixed: v}, "
       "{median: m, sigma: s} or {uniform: [a, b]}, got a map with keys 'mean'"},
      {"a uniform distribution with a > b",
       "name: x\n"
       "conversation: {duration_min: 10, speakers: [{name: a, turn_words: {uniform: [7, 5]}}]}\n",
       {},
       "s.yaml:2:77: conversation.speakers[0].turn_words.uniform: expected [a, b] with a <= b, "
       "got [7, 5]"},
      {"two speakers with the same name",
       "name: x\n"
       "conversation:\n"
       "  duration_min: 10\n"
       "  speakers:\n"
       "    - {name: alice, turn_words: 5}\n"
       "    - {name: alice, turn_words: 6}\n",
       {},
       "s.yaml:6:14: conversation.speakers[1].name: duplicate speaker name 'alice' (also "
       "conversation.speakers[0])"},
      {"a probe minute after the end of the conversation",
       "name: x\n"
       "conversation:\n"
       "  duration_min: 510\n"
       "  speakers: [{name: a, turn_words: 5}]\n"
       "  probe_minutes: [5, 600]\n",
       {},
       "s.yaml:5:22: conversation.probe_minutes[1] = 600 must be <= conversation.duration_min "
       "= 510"},
      {"both conversation and requests",
       "name: x\n" + kConversation + "requests: {count: 10}\n",
       {},
       "s.yaml:3:1: give either 'conversation' or 'requests', not both"},
      {"neither conversation nor requests",
       "name: x\n" + kModel70b,
       {},
       "s.yaml:1:1: missing 'conversation' or 'requests': a scenario needs exactly one of them"},
      {"two arrival processes at once",
       "name: x\n"
       "requests: {arrival: {concurrency: 4, rate_per_s: 2}}\n",
       {},
       "s.yaml:2:21: requests.arrival: give exactly one of concurrency, rate_per_s or "
       "all_at_once"},
      {"a prompt set of no prompts",
       "name: x\n"
       "requests: {count: 10, unique_prompts: 0}\n",
       {},
       "s.yaml:2:39: requests.unique_prompts must be >= 1, got 0"},
      {"tp must divide the attention heads",
       "name: x\n" + kConversation + kModel70b +
           "cluster: {gpu: h100-sxm, nodes: 1, gpus_per_node: 8}\n"
           "parallelism: {tp: 3}\n",
       {},
       "s.yaml:5:19: parallelism.tp = 3 must divide model.heads = 64 and model.kv_heads = 8"},
      {"more GPUs than the cluster has",
       "name: x\n" + kConversation + kModel405b +
           "cluster: {gpu: h100-sxm, nodes: 8, gpus_per_node: 8}\n"
           "parallelism: {tp: 8, pp: 16}\n",
       {},
       "s.yaml:5:14: parallelism: tp * cp * pp * dp = 8 * 1 * 16 * 1 = 128 GPUs, but the cluster has "
       "nodes * gpus_per_node = 8 * 8 = 64"},
      {"a disaggregated prefill pool counts against the cluster's GPUs",
       kValid + "parallelism: {tp: 8, prefill: {replicas: 1, tp: 8}}\n",
       {},
       "s.yaml:5:14: parallelism: tp * cp * pp * dp = 8 * 1 * 1 * 1 + prefill 1 replicas * 8 GPUs = 16 GPUs, but "
       "the cluster has nodes * gpus_per_node = 1 * 8 = 8"},
      {"a disaggregated prefill pool routes by session",
       kValid + "parallelism: {tp: 2, prefill: {replicas: 1, tp: 2}}\nserving: {routing: least_loaded}\n",
       {},
       "s.yaml:6:20: serving.routing must be affinity with a disaggregated prefill pool (parallelism.prefill): "
       "sessions go to prefill replica session mod replicas and decode replica session mod dp"},
      {"a placement names one GPU per rank",
       kValid + "parallelism: {tp: 2, placement: [0, 1, 2]}\n",
       {},
       "s.yaml:5:33: parallelism.placement lists 3 GPUs, but the layout has 2 ranks (one GPU per rank, in rank "
       "order: tp fastest, then cp or ep, then pp, then replicas, then the prefill pool)"},
      {"a placement uses each GPU once",
       kValid + "parallelism: {tp: 2, placement: [0, 0]}\n",
       {},
       "s.yaml:5:37: parallelism.placement[1]: GPU 0 is placed twice"},
      {"at least one micro-batch",
       kValid + "parallelism: {micro_batches: 0}\n",
       {},
       "s.yaml:5:30: parallelism.micro_batches must be in [1, 4096], got 0"},
      {"tensor parallelism beyond a node",
       "name: x\n" + kConversation + kModel405b +
           "cluster: {gpu: h100-sxm, nodes: 2, gpus_per_node: 8}\n"
           "parallelism: {tp: 16}\n",
       {},
       "s.yaml:5:19: parallelism.tp = 16 exceeds cluster.gpus_per_node = 8: tensor "
       "parallelism stays inside a node"},
      {"more pipeline stages than layers",
       "name: x\n" + kConversation + kModel405b +
           "cluster: {gpu: h100-sxm, nodes: 32, gpus_per_node: 8}\n"
           "parallelism: {pp: 200}\n",
       {},
       "s.yaml:5:19: parallelism.pp = 200 exceeds model.layers = 126"},
      {"YAML syntax error, located where yaml-cpp found it",
       "name: x\n"
       "seed: 1: 2\n",
       {},
       "s.yaml:2:8: YAML syntax error: illegal map value"},
      {"a file of two YAML documents",
       "name: x\n"
       "---\n"
       "name: y\n",
       {},
       "s.yaml:2:1: expected one YAML document; another one starts here"},
      {"an alias inside its own anchor (a cycle for yaml-cpp)",
       kValid +
           "compare:\n"
           "  - {name: v, set: {parallelism: &a [*a]}}\n",
       {},
       "s.yaml:6:34: an alias inside its own anchor makes a cycle"},
      {"an empty file",
       "",
       {},
       "s.yaml: the scenario must be a map of keys, got nothing"},
      {"a misspelt --set key gets a did-you-mean and names the override",
       kValid,
       {{"parallelism.tpp", "4"}},
       "--set parallelism.tpp=4: unknown key 'tpp' in parallelism; did you mean 'tp'?"},
      {"a bad --set value names the override",
       kValid,
       {{"parallelism.tp", "four"}},
       "--set parallelism.tp=four: parallelism.tp: expected an integer, got 'four'"},
      {"a --set value that is not YAML",
       kValid,
       {{"conversation.probe_minutes", "[1,"}},
       "--set conversation.probe_minutes=[1,: YAML syntax error: end of sequence flow not "
       "found"},
      // On its own YAML would read `"4"8` as "4" and `[1]x` as [1]; as a file's value
      // they are errors, and so they are here.
      {"a --set value with text after its quotes",
       kValid,
       {{"parallelism.tp", "\"4\"8"}},
       "--set parallelism.tp=\"4\"8: YAML syntax error: end of map not found"},
      {"a --set value with text after its list",
       kValid,
       {{"conversation.probe_minutes", "[1]x"}},
       "--set conversation.probe_minutes=[1]x: YAML syntax error: end of map not found"},
      {"a --set path through a scalar",
       kValid,
       {{"name.first", "a"}},
       "--set name.first=a: cannot set 'name.first': 'name' is not a map"},
      {"a compare variant's bad value is reported at that value, naming the variant",
       kValid +
           "compare:\n"
           "  - name: tp3\n"
           "    set: {parallelism.tp: 3}\n",
       {},
       "s.yaml:7:27: compare[tp3]: parallelism.tp = 3 must divide model.heads = 64 and "
       "model.kv_heads = 8"},
      {"a compare variant breaking a rule elsewhere is reported at the variant",
       "name: x\n" + kConversation + kModel70b +
           "cluster: {gpu: h100-sxm, nodes: 2, gpus_per_node: 8}\n"
           "parallelism: {tp: 8, dp: 2}\n"
           "compare:\n"
           "  - {name: one-node, set: {cluster.nodes: 1}}\n",
       {},
       "s.yaml:7:5: compare[one-node]: parallelism: tp * cp * pp * dp = 8 * 1 * 1 * 2 = 16 GPUs, but "
       "the cluster has nodes * gpus_per_node = 1 * 8 = 8"},
      {"a compare variant cannot hold compare",
       kValid +
           "compare:\n"
           "  - {name: nested, set: {compare: []}}\n",
       {},
       "s.yaml:6:26: compare[0].set: a variant cannot set 'compare'"},
      {"two compare variants with the same name",
       kValid +
           "compare:\n"
           "  - {name: a, set: {}}\n"
           "  - {name: a, set: {}}\n",
       {},
       "s.yaml:7:12: compare[1].name: duplicate variant name 'a' (also compare[0])"},
  };
  for (const Case& c : cases) {
    INFO(c.rule);
    CHECK(error_of(c.text, c.overrides) == c.expected);
  }
}

TEST_CASE("a missing scenario file is reported without line and column", "[scenario][errors]") {
  const std::string path = "/nonexistent-convsim-dir/s.yaml";
  try {
    load_scenario(path, {}, fixture_catalog());
    FAIL("no error");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()) == "/nonexistent-convsim-dir/s.yaml: cannot read file");
  }
}

TEST_CASE("a --set without '=' or without a key is rejected", "[scenario][errors]") {
  const auto message = [](const std::string& text) {
    try {
      parse_override(text);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  CHECK(message("parallelism.tp") == "--set parallelism.tp: expected key.path=value");
  CHECK(message("=4") == "--set =4: expected key.path=value");
  CHECK(message("parallelism..tp=4") == "--set parallelism..tp=4: empty key in 'parallelism..tp'");
  const Override o = parse_override("conversation.probe_minutes=[5, 55]");
  CHECK(o.key_path == "conversation.probe_minutes");
  CHECK(o.value == "[5, 55]");
}

TEST_CASE("no input crashes the loader: every truncation and corruption is a ConfigError",
          "[scenario][errors]") {
  const std::string text =
      "name: x\n"
      "conversation:\n"
      "  duration_min: 10\n"
      "  speakers: [{name: a, turn_words: {median: 60, sigma: 0.5}}, {name: b, turn_words: 5}]\n"
      "  probe_minutes: [1, 5]\n"
      "model: {preset: dense-70b, weights: fp8}\n"
      "cluster: {gpu: h100-sxm, nodes: 2}\n"
      "parallelism: {tp: 8, dp: 2}\n"
      "compare:\n"
      "  - {name: v, set: {parallelism.tp: 4, cluster.nodes: 1}}\n";
  const Catalog catalog = fixture_catalog();
  const auto survives = [&](const std::string& input) {
    try {
      load_scenario_text(input, "s.yaml", {}, catalog);
    } catch (const ConfigError&) {
    }
    // Any other exception escapes and fails the test.
  };
  REQUIRE_NOTHROW(load_scenario_text(text, "s.yaml", {}, catalog));
  for (std::size_t n = 0; n <= text.size(); ++n) survives(text.substr(0, n));
  const std::string replacements = ":[]{}-&*!|>#'\" \n\t%@,?0";
  for (std::size_t i = 0; i < text.size(); ++i) {
    for (const char r : replacements) {
      std::string corrupted = text;
      corrupted[i] = r;
      survives(corrupted);
    }
  }
  // Anchors and aliases, including an alias inside its own anchor (yaml-cpp builds
  // a cycle) and nested aliases expanding to 10^12 values.
  survives("name: &n x\nconversation: *n\n");
  survives("name: x\nconversation: &c [*c]\n");
  survives("name: x\nconversation: &c {a: *c}\n");
  survives(text + "  - {name: w, set: {parallelism: &a [*a]}}\n");
  std::string laughs = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 12; ++i) {
    laughs += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) laughs += (k ? ", *l" : "*l") + std::to_string(i - 1);
    laughs += "]\n";
  }
  survives(laughs);
  try {
    load_scenario_text(text, "s.yaml", {{"parallelism", "&a {tp: *a}"}}, catalog);
  } catch (const ConfigError&) {
  }
}

}  // namespace convsim
