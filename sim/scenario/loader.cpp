#include "sim/scenario/loader.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <filesystem>
#include <map>

#include <fmt/core.h>

#include "sim/scenario/cluster_reader.hpp"
#include "sim/scenario/config_error.hpp"
#include "sim/scenario/derived_limits.hpp"
#include "sim/scenario/fault_reader.hpp"
#include "sim/scenario/folder_name.hpp"
#include "sim/scenario/gpu_clock_reader.hpp"
#include "sim/scenario/model_section_reader.hpp"
#include "sim/scenario/overrides.hpp"
#include "sim/scenario/parallelism_reader.hpp"
#include "sim/scenario/plan_reader.hpp"
#include "sim/scenario/power_reader.hpp"
#include "sim/scenario/provenance.hpp"
#include "sim/scenario/slo_reader.hpp"
#include "sim/scenario/speculative_reader.hpp"
#include "sim/scenario/workload_reader.hpp"
#include "sim/scenario/yaml_reader.hpp"

namespace convsim {

namespace {

constexpr const char* kDefaultScaleOut = "ib-ndr";
constexpr const char* kDefaultHostLink = "pcie5";

// ---- Presets ----

const GpuSpec& gpu_preset(const MapReader& m, const Catalog& catalog) {
  const std::string name = m.string("gpu");
  const auto it = catalog.gpus.find(name);
  if (it == catalog.gpus.end()) {
    m.locator().fail(m.spot("gpu"), unknown_name_message(m.child_path("gpu"), "GPU preset", name,
                                                         names_of(catalog.gpus)));
  }
  return it->second;
}

std::string_view kind_name(FabricKind kind) {
  return kind == FabricKind::scale_up ? "scale_up" : "scale_out";
}

// cluster.scale_up / cluster.scale_out: a fabric preset of the right kind.
// `fill_default`: note the default name as filled in (FilledDefaults) when the key
// is left out.
const FabricSpec& fabric_preset(const MapReader& m, const Catalog& catalog, const std::string& key,
                                FabricKind kind, const std::string& default_name, bool fill_default = true) {
  const auto of_kind = [&catalog, kind] {  // for the messages only: it reads every fabric preset
    std::vector<std::string> names;
    for (const auto& [name, fabric] : catalog.fabrics) {
      if (fabric.kind == kind) names.push_back(name);
    }
    return names;
  };
  const bool given = m.has(key);
  const std::string name = given ? m.string(key) : default_name;
  if (!given && fill_default) m.note_default(key, YAML::Node(default_name));
  const YAML::Node spot = given ? m.spot(key) : m.node();
  const auto it = catalog.fabrics.find(name);
  if (it == catalog.fabrics.end()) {
    const std::string what = given ? "fabric preset" : "fabric preset (the default)";
    m.locator().fail(spot, unknown_name_message(m.child_path(key), what, name, of_kind()));
  }
  if (it->second.kind != kind) {
    m.locator().fail(spot, fmt::format("{}: '{}' is a {} fabric; a {} fabric is needed here: {}",
                                       m.child_path(key), name, kind_name(it->second.kind),
                                       kind_name(kind), of_kind().empty() ? "none" : join(of_kind())));
  }
  return it->second;
}

// ---- Sections ----

ContextSpec read_context(const MapReader& c) {
  c.allow_only({"policy", "kv_between_turns", "window_tokens", "summary_every_tokens", "summary_tokens",
                "summary_instruction_tokens", "retrieval_chunks", "retrieval_chunk_tokens", "retrieval_latency_s",
                "ingestion", "streaming_interval_s"});
  ContextSpec spec;
  const std::string policy = c.choice_or("policy", "full", {"full", "window", "summary", "retrieval"});
  spec.policy = policy == "window"      ? ContextSpec::Policy::window
                : policy == "summary"   ? ContextSpec::Policy::summary
                : policy == "retrieval" ? ContextSpec::Policy::retrieval
                                        : ContextSpec::Policy::full;
  const Limits at_least_one = Limits::at_least(1);
  spec.window_tokens = c.integer_or("window_tokens", spec.window_tokens, at_least_one);
  spec.summary_every_tokens = c.integer_or("summary_every_tokens", spec.summary_every_tokens, at_least_one);
  spec.summary_tokens = c.integer_or("summary_tokens", spec.summary_tokens, at_least_one);
  spec.summary_instruction_tokens =
      c.integer_or("summary_instruction_tokens", spec.summary_instruction_tokens, at_least_one);
  if (spec.summary_tokens >= spec.summary_every_tokens) {
    c.locator().fail(c.spot("summary_tokens"),
                     fmt::format("context.summary_tokens = {} must be < context.summary_every_tokens = {}",
                                 spec.summary_tokens, spec.summary_every_tokens));
  }
  spec.retrieval_chunks = c.int_or("retrieval_chunks", spec.retrieval_chunks, Limits::at_least(0));
  spec.retrieval_chunk_tokens = c.integer_or("retrieval_chunk_tokens", spec.retrieval_chunk_tokens, at_least_one);
  spec.retrieval_latency_s = c.number_or("retrieval_latency_s", spec.retrieval_latency_s, Limits::at_least(0));
  const std::string ingestion = c.choice_or("ingestion", "at_turn_end", {"at_turn_end", "streaming"});
  spec.ingestion = ingestion == "streaming" ? ContextSpec::Ingestion::streaming : ContextSpec::Ingestion::at_turn_end;
  spec.streaming_interval_s = c.number_or("streaming_interval_s", spec.streaming_interval_s, Limits::positive());
  if (spec.ingestion == ContextSpec::Ingestion::streaming && spec.policy != ContextSpec::Policy::full) {
    c.locator().fail(c.spot("ingestion"), fmt::format("context.ingestion: streaming needs context.policy full (the "
                                                      "words streamed in extend the cached history), got {}",
                                                      policy));
  }
  c.note_default("kv_between_turns", YAML::Node("keep"));  // spec.kv_between_turns's default
  if (c.has("kv_between_turns")) {
    const std::string kv = c.string("kv_between_turns");
    if (kv == "keep") {
      spec.kv_between_turns = ContextSpec::KvBetweenTurns::keep;
    } else if (kv == "drop") {
      spec.kv_between_turns = ContextSpec::KvBetweenTurns::drop;
    } else if (kv == "offload_cpu") {
      spec.kv_between_turns = ContextSpec::KvBetweenTurns::offload_cpu;
    } else if (kv == "offload_nvme") {
      spec.kv_between_turns = ContextSpec::KvBetweenTurns::offload_nvme;
    } else {
      c.locator().fail(c.spot("kv_between_turns"),
                       fmt::format("context.kv_between_turns: unknown value '{}'; allowed: "
                                   "keep, offload_cpu, offload_nvme, drop",
                                   kv));
    }
  }
  return spec;
}

ClusterSpec read_cluster(const MapReader& c, const Catalog& catalog, std::vector<std::string>& warnings) {
  c.allow_only({"gpu", "nodes", "gpus_per_node", "scale_up", "scale_out", "scale_up_topology",
                "pcie_switches_per_node", "scale_out_topology", "oversubscription", "pue", "host_power_w_per_node",
                "host_link", "host_memory_bytes_per_node", "nvme_bytes_per_node", "nvme_bytes_per_s_per_node",
                "system", "system_power", "grid_region", "grid_gco2e_per_kwh", "usd_per_kwh", "gpu_hour_usd",
                "gpu_power_cap_w", "gpu_clock_mhz"});
  ClusterSpec spec;
  spec.gpu = gpu_preset(c, catalog);
  read_gpu_clocks(c, catalog, spec, warnings);
  spec.nodes = c.int_or("nodes", spec.nodes, Limits::at_least(1));
  spec.gpus_per_node = c.int_or("gpus_per_node", spec.gpus_per_node, Limits::at_least(1));
  spec.scale_up = fabric_preset(c, catalog, "scale_up", FabricKind::scale_up, spec.gpu.scale_up);  // the GPU's own
  spec.scale_out =
      fabric_preset(c, catalog, "scale_out", FabricKind::scale_out, kDefaultScaleOut);
  read_cluster_topology(c, catalog, spec, warnings);
  spec.pue = c.number_or("pue", spec.pue, Limits::between(1.0, 3.0));
  spec.oversubscription = c.number_or("oversubscription", spec.oversubscription, Limits::between(1.0, 64.0));
  spec.host_power_w_per_node =
      c.number_or("host_power_w_per_node", spec.host_power_w_per_node, Limits::at_least(0));
  // Not filled in with PCIe switches, where a host_link written is warned about as unused.
  spec.host_link = fabric_preset(c, catalog, "host_link", FabricKind::scale_up, kDefaultHostLink,
                                 spec.scale_up_topology != ScaleUpTopology::pcie_switch);
  spec.host_memory_bytes_per_node =
      c.number_or("host_memory_bytes_per_node", spec.host_memory_bytes_per_node, Limits::at_least(0));
  spec.nvme_bytes_per_node = c.number_or("nvme_bytes_per_node", spec.nvme_bytes_per_node, Limits::at_least(0));
  spec.nvme_bytes_per_s_per_node =
      c.number_or("nvme_bytes_per_s_per_node", spec.nvme_bytes_per_s_per_node, Limits::positive());
  read_cluster_power(c, catalog, spec, warnings);
  return spec;
}

const EngineProfile& engine_profile(const MapReader& m, const Catalog& catalog) {
  const std::string name = m.has("engine") ? m.string("engine") : "vllm";
  static const EngineProfile kBare;  // vllm with no host costs: a catalog without engines/
  if (catalog.engines.empty() && !m.has("engine")) return kBare;
  m.note_default("engine", YAML::Node(name));
  const auto it = catalog.engines.find(name);
  if (it == catalog.engines.end()) {
    m.locator().fail(m.spot("engine"), unknown_name_message(m.child_path("engine"), "serving engine", name,
                                                            names_of(catalog.engines)));
  }
  return it->second;
}

// serving: the engine's profile first, then its defaults for what the scenario
// leaves out.
ServingSpec read_serving(const MapReader& s, const Catalog& catalog) {
  s.allow_only({"engine", "max_batch_seqs", "prefill_chunk_tokens", "kv_block_tokens", "workspace_bytes_per_gpu",
                "routing", "speculative", "prefix_caching", "prefix_cache_tokens",
                "prefix_cache_offload", "symm_mem_allreduce"});
  ServingSpec spec;
  spec.engine = engine_profile(s, catalog);
  spec.max_batch_seqs = spec.engine.default_max_batch_seqs;
  spec.prefill_chunk_tokens = spec.engine.default_prefill_chunk_tokens;
  const std::string routing =
      s.choice_or("routing", "affinity", {"affinity", "round_robin", "least_loaded", "prefix_affinity"});
  spec.routing = routing == "round_robin"       ? ServingSpec::Routing::round_robin
                 : routing == "least_loaded"    ? ServingSpec::Routing::least_loaded
                 : routing == "prefix_affinity" ? ServingSpec::Routing::prefix_affinity
                                                : ServingSpec::Routing::affinity;
  spec.prefix_caching = s.boolean_or("prefix_caching", spec.prefix_caching);
  spec.prefix_cache_tokens = s.integer_or("prefix_cache_tokens", spec.prefix_cache_tokens, Limits::at_least(0));
  spec.prefix_cache_offload = s.boolean_or("prefix_cache_offload", spec.prefix_cache_offload);
  if (spec.routing == ServingSpec::Routing::prefix_affinity && !spec.prefix_caching) {
    s.locator().fail(s.spot("routing"),
                     "serving.routing: prefix_affinity needs serving.prefix_caching: true (it routes by the prefix "
                     "each replica's cache holds)");
  }
  // vLLM's symmetric-memory all-reduce (VLLM_ALLREDUCE_USE_SYMM_MEM): on where the
  // profile has its tables; false runs the custom kernels to their buffer, then NCCL.
  const bool has_symm_mem = !spec.engine.symm_mem_allreduce.empty();
  if (!s.boolean_or("symm_mem_allreduce", has_symm_mem)) {
    spec.engine.symm_mem_allreduce.clear();
  } else if (!has_symm_mem) {
    s.locator().fail(s.spot("symm_mem_allreduce"),
                     fmt::format("serving.symm_mem_allreduce: the {} profile has no symmetric-memory all-reduce "
                                 "(no symm_mem_allreduce in it); allowed: false",
                                 spec.engine.name));
  }
  spec.max_batch_seqs_given = s.has("max_batch_seqs");
  spec.prefill_chunk_tokens_given = s.has("prefill_chunk_tokens");
  spec.max_batch_seqs = s.int_or("max_batch_seqs", spec.max_batch_seqs, Limits::at_least(1));
  spec.prefill_chunk_tokens =
      s.integer_or("prefill_chunk_tokens", spec.prefill_chunk_tokens, Limits::at_least(1));
  spec.kv_block_tokens = s.integer_or("kv_block_tokens", spec.kv_block_tokens, Limits::between(1, 4096));
  spec.workspace_bytes_per_gpu =
      s.number_or("workspace_bytes_per_gpu", spec.workspace_bytes_per_gpu, Limits::at_least(0));
  return spec;
}

// serving.prefix_caching on a model with SSM layers under an engine that keeps no
// recurrent-state snapshots: the engine serves it without prefix caching (as vLLM
// 0.10-0.11 and TensorRT-LLM 1.0 do), so the run does too, and says so.
void disable_ssm_prefix_caching(const MapReader& serving, Scenario& s) {
  const std::string why = fmt::format("the {} engine keeps no SSM states for its prefix cache "
                                      "(ssm_prefix_caching: disabled in its profile) and {} has SSM layers",
                                      s.serving.engine.name, s.model.spec.name);
  if (s.serving.routing == ServingSpec::Routing::prefix_affinity) {
    serving.locator().fail(serving.spot("routing"),
                           fmt::format("serving.routing: prefix_affinity needs a prefix cache: {}", why));
  }
  s.serving.prefix_caching = false;
  s.warnings.push_back(fmt::format("{}: warning: serving.prefix_caching: {}; served without prefix caching",
                                   serving.locator().where(serving.spot("prefix_caching")), why));
}

// A value written back as YAML text, so that it parses to the same value.
std::string emit_flow(const YAML::Node& node) {
  YAML::Emitter out;
  out << YAML::Flow << node;
  return out.c_str();
}

// The variants' names and overrides; their validation is done by the caller.
std::vector<Variant> read_compare(const Locator& at, const YAML::Node& list,
                                  const YAML::Node& spot) {
  if (!list.IsSequence()) {
    at.fail(spot, fmt::format("compare: expected a list of {{name, set}} variants, got {}",
                              describe_node(list)));
  }
  std::vector<Variant> variants;
  std::map<std::string, std::string> first_paths;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const MapReader v(at, list[i], fmt::format("compare[{}]", i));
    v.allow_only({"name", "set"});
    Variant variant;
    variant.name = v.string("name");
    if (const std::string problem = folder_name_problem(variant.name, false); !problem.empty()) {
      at.fail(v.spot("name"), fmt::format("{}: {}", v.child_path("name"), problem));
    }
    if (const auto first = first_paths.find(variant.name); first != first_paths.end()) {
      at.fail(v.spot("name"), fmt::format("{}: duplicate variant name '{}' (also {})",
                                          v.child_path("name"), variant.name, first->second));
    }
    first_paths.emplace(variant.name, v.path());
    if (!v.has("set")) {  // the baseline: the scenario as it is
      variants.push_back(std::move(variant));
      continue;
    }
    const MapReader sets = v.child("set");
    std::vector<std::string> seen;
    for (const auto& entry : sets.node()) {
      const YAML::Node& key = entry.first;
      if (!key.IsScalar()) {
        at.fail(key, fmt::format("{}: keys must be key paths like parallelism.tp, got {}",
                                 sets.path(), describe_node(key)));
      }
      const std::string& key_path = key.Scalar();
      if (const std::string problem = key_path_problem(key_path); !problem.empty()) {
        at.fail(key, fmt::format("{}: {}", sets.path(), problem));
      }
      if (split_key_path(key_path).front() == "compare") {
        at.fail(key, fmt::format("{}: a variant cannot set 'compare'", sets.path()));
      }
      if (std::find(seen.begin(), seen.end(), key_path) != seen.end()) {
        at.fail(key, fmt::format("duplicate key '{}' in {}", key_path, sets.path()));
      }
      seen.push_back(key_path);
      variant.sets.emplace_back(key_path, emit_flow(entry.second));
    }
    variants.push_back(std::move(variant));
  }
  return variants;
}

// The section `key` of `root`; when left out, an empty map read for its defaults,
// noted to join the tree under `key` with them (FilledDefaults).
MapReader section_or_default(const MapReader& root, const std::string& key) {
  if (root.has(key)) return root.child(key);
  const YAML::Node section(YAML::NodeType::Map);
  root.note_default(key, section);
  return MapReader(root.locator(), section, key, key);
}

Scenario read_scenario(const YAML::Node& root_node, const Locator& at, const Catalog& catalog) {
  const MapReader root(at, root_node, "", "the scenario");
  root.allow_only({"name", "seed", "conversation", "requests", "model", "context", "cluster",
                   "parallelism", "serving", "slo", "compare", "faults", "plan"});
  Scenario s;
  s.name = root.string("name");
  if (const std::string problem = folder_name_problem(s.name, true); !problem.empty()) {
    at.fail(root.spot("name"), fmt::format("name: {}", problem));
  }
  s.seed = static_cast<std::uint64_t>(root.integer_or("seed", 1, Limits::at_least(0)));

  const auto conversation = root.find("conversation");
  const auto requests = root.find("requests");
  if (conversation && requests) {
    const YAML::Node key = *root.find_key("requests");
    at.fail(key.Mark().is_null() ? *requests : key,
            "give either 'conversation' or 'requests', not both");
  }
  if (!conversation && !requests) {
    root.fail("missing 'conversation' or 'requests': a scenario needs exactly one of them");
  }
  if (conversation) {
    s.conversation = read_conversation(root.child("conversation"));
  } else {
    s.requests = read_requests(root.child("requests"));
  }

  s.model = read_model_section(root.child("model"), catalog);
  s.context = read_context(section_or_default(root, "context"));
  if (root.has("context")) {
    if (s.conversation && s.conversation->transcript && s.context.ingestion != ContextSpec::Ingestion::at_turn_end) {
      const MapReader context = root.child("context");
      context.locator().fail(context.spot("ingestion"),
                             "context.ingestion: streaming is not available with conversation.transcript (a "
                             "transcript is read in order of end_s, and a turn's streamed words would arrive "
                             "before turns that end earlier); allowed: at_turn_end");
    }
  }
  s.cluster = read_cluster(root.child("cluster"), catalog, s.warnings);
  check_model_on_gpu(root.child("model"), s.model, s.cluster.gpu, s.warnings);
  s.parallelism = read_parallelism(root, s.model.spec, s.cluster, s.warnings);
  if (!root.has("parallelism")) {  // one replica on one GPU, as read_parallelism assumed
    YAML::Node degrees(YAML::NodeType::Map);
    degrees.SetStyle(YAML::EmitterStyle::Flow);
    const ParallelismSpec& p = s.parallelism;
    for (const auto& [key, value] : {std::pair<const char*, int>{"tp", p.tp}, {"pp", p.pp}, {"cp", p.cp},
                                     {"ep", p.ep}, {"dp", p.dp}, {"micro_batches", p.micro_batches}}) {
      degrees[key] = fmt::format("{}", value);
    }
    root.note_default("parallelism", degrees);
  }
  if (!root.has("serving")) {
    s.serving = read_serving(section_or_default(root, "serving"), catalog);
  } else {
    s.serving = read_serving(root.child("serving"), catalog);
    if (root.child("serving").has("speculative")) {
      s.serving.speculative = read_speculative(root.child("serving").child("speculative"), catalog, s.model.spec);
    }
    if (s.parallelism.disaggregated() && s.serving.routing != ServingSpec::Routing::affinity) {
      const MapReader serving = root.child("serving");
      serving.locator().fail(serving.spot("routing"),
                             "serving.routing must be affinity with a disaggregated prefill pool "
                             "(parallelism.prefill): sessions go to prefill replica session mod replicas and "
                             "decode replica session mod dp");
    }
  }
  // The engine as it runs on this cluster's GPU (its host figures for that GPU).
  s.serving.engine = s.serving.engine.on_gpu(s.cluster.gpu.name);
  if (root.has("serving") && root.child("serving").has("symm_mem_allreduce") &&
      !s.serving.engine.symm_mem_allreduce.empty() && s.serving.engine.symm_mem_on(s.cluster.gpu.name) == nullptr) {
    const MapReader serving = root.child("serving");
    s.warnings.push_back(fmt::format(
        "{}: warning: serving.symm_mem_allreduce: the {} profile has no symmetric-memory limits for {}; its "
        "all-reduces run the custom kernels to their buffer, then NCCL",
        serving.locator().where(serving.spot("symm_mem_allreduce")), s.serving.engine.name, s.cluster.gpu.name));
  }
  if (s.serving.prefix_caching && s.model.spec.ssm && !s.serving.engine.caches_ssm_prefixes) {
    disable_ssm_prefix_caching(root.child("serving"), s);
  }
  s.slo = read_slo(section_or_default(root, "slo"));
  if (const auto faults = root.find("faults")) {
    s.faults = read_faults(at, *faults, root.spot("faults"), s.cluster, s.parallelism);
  }
  if (const auto compare = root.find("compare")) {
    s.variants = read_compare(at, *compare, root.spot("compare"));
  }
  if (root.has("plan")) {
    s.plan = read_plan(root.child("plan"), s, catalog);
  } else {  // only `convsim plan` reads it: its defaults are not filled into other scenarios
    Locator without_defaults = at;
    without_defaults.collect_defaults(nullptr);
    s.plan = read_plan(MapReader(without_defaults, YAML::Node(YAML::NodeType::Map), "plan"), s, catalog);
  }
  check_derived_limits(s, root);
  return s;
}

// Loads the scenario again with variant `index`'s overrides applied; errors are
// located at the variant (or at the value it sets) and say "compare[name]". Returns
// the variant's warnings.
std::vector<std::string> check_variant(const std::string& text, const std::string& source_name,
                                       const std::vector<Override>& overrides, const Catalog& catalog,
                                       std::size_t index) {
  Locator at(source_name);
  YAML::Node root = tree_with_overrides(text, source_name, overrides, at);
  take_origin(root, at, source_name, text, overrides);
  const MapReader top(at, root, "", "the scenario");
  const YAML::Node entry = top.get("compare")[index];
  const MapReader variant(at, entry, fmt::format("compare[{}]", index));
  const std::string name = variant.string("name");
  const std::string entry_label = fmt::format("{}: compare[{}]", at.where(entry), name);
  std::vector<std::pair<std::string, YAML::Node>> sets;
  if (variant.has("set")) {
    for (const auto& set : variant.get("set")) sets.emplace_back(set.first.Scalar(), set.second);
  }
  for (const auto& [key_path, value] : sets) {
    const std::string label = fmt::format("{}: compare[{}]", at.where(value), name);
    apply_override(root, key_path, value, at, label);
  }
  root.remove("compare");
  at.set_fallback(entry_label);
  return read_scenario(root, at, catalog).warnings;
}

Scenario load_tree(const std::string& text, const std::string& source_name,
                   const std::vector<Override>& overrides, const Catalog& catalog, VariantCheck variants) {
  Locator at(source_name);
  YAML::Node root = tree_with_overrides(text, source_name, overrides, at);
  const Origin origin = take_origin(root, at, source_name, text, overrides);
  FilledDefaults defaults;
  at.collect_defaults(&defaults);
  Scenario scenario = read_scenario(root, at, catalog);
  at.collect_defaults(nullptr);
  scenario.filled_defaults = defaults.fill_into_tree();
  scenario.source_path = source_name;
  scenario.source_text_hash = fnv1a_hex(text);
  record_provenance(scenario, root, origin, catalog);
  // A variant's own warnings (those the scenario without it does not give), named.
  const std::vector<std::string> base_warnings = scenario.warnings;
  for (std::size_t i = 0; variants == VariantCheck::each && i < scenario.variants.size(); ++i) {
    for (const std::string& w : check_variant(text, source_name, overrides, catalog, i)) {
      if (std::find(base_warnings.begin(), base_warnings.end(), w) != base_warnings.end()) continue;
      const std::string& name = scenario.variants[i].name;
      const bool named = w.find(fmt::format("compare[{}]", name)) != std::string::npos;
      scenario.warnings.push_back(named ? w : fmt::format("{} (compare variant {})", w, name));
    }
  }
  return scenario;
}

}  // namespace

Scenario load_scenario_text(const std::string& text, const std::string& source_name,
                            const std::vector<Override>& overrides, const Catalog& catalog, VariantCheck variants) {
  try {
    return load_tree(text, source_name, overrides, catalog, variants);
  } catch (const YAML::Exception& e) {
    // A yaml-cpp failure the checks above did not foresee: still a located error.
    throw ConfigError(fmt::format("{}: {}", source_name, e.what()));
  }
}

Scenario load_scenario(const std::string& path, const std::vector<Override>& overrides,
                       const Catalog& catalog, VariantCheck variants) {
  return load_scenario_text(read_text_file(path), path, overrides, catalog, variants);
}

}  // namespace convsim
