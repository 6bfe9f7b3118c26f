#include "sim/scenario/plan_reader.hpp"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "sim/scenario/derived_limits.hpp"
#include "sim/scenario/slo_reader.hpp"

namespace convsim {
namespace {

// A non-empty list of integers within `limits` under `key`, or `fallback`.
template <class Int>
std::vector<Int> int_list(const MapReader& m, const char* key, std::vector<Int> fallback, Limits limits) {
  const auto node = m.find(key);
  if (!node) return fallback;
  const std::string path = m.child_path(key);
  if (!node->IsSequence() || node->size() == 0) {
    m.locator().fail(m.spot(key), fmt::format("{}: expected a non-empty list of integers, got {}", path,
                                              describe_node(*node)));
  }
  // Within the integer type the axis is held in (int axes: 2^31 - 1).
  if (!limits.high || *limits.high > static_cast<double>(std::numeric_limits<Int>::max())) {
    limits.high = static_cast<double>(std::numeric_limits<Int>::max());
  }
  std::vector<Int> out;
  for (std::size_t i = 0; i < node->size(); ++i) {
    const std::string item = fmt::format("{}[{}]", path, i);
    const Int value = static_cast<Int>(read_integer(m.locator(), (*node)[i], item, limits));
    const auto seen = std::find(out.begin(), out.end(), value);
    if (seen != out.end()) {
      m.locator().fail((*node)[i], fmt::format("{} = {} repeats {}[{}]: each value of a plan axis once", item, value,
                                               path, seen - out.begin()));
    }
    out.push_back(value);
  }
  return out;
}

std::vector<int> powers_of_two_up_to(int n) {
  std::vector<int> out;
  for (int v = 1; v <= n; v *= 2) out.push_back(v);
  return out;
}

const char* kv_name(ContextSpec::KvBetweenTurns kv) {
  switch (kv) {
    case ContextSpec::KvBetweenTurns::keep: return "keep";
    case ContextSpec::KvBetweenTurns::offload_cpu: return "offload_cpu";
    case ContextSpec::KvBetweenTurns::offload_nvme: return "offload_nvme";
    case ContextSpec::KvBetweenTurns::drop: return "drop";
  }
  return "keep";
}

template <class Presets>
std::vector<std::string> names_of(const Presets& presets) {
  std::vector<std::string> names;
  for (const auto& [name, preset] : presets) names.push_back(name);
  return names;
}

// A preset's name (`what`: "GPU preset"), checked against `known`.
std::string preset_name(const Locator& at, const YAML::Node& node, const std::string& path, const char* what,
                        const std::vector<std::string>& known) {
  const std::string name = read_string(at, node, path);
  if (std::find(known.begin(), known.end(), name) == known.end()) {
    const std::string suggestion = closest_match(name, known);
    at.fail(node, fmt::format("{}: unknown {} '{}';{} available: {}", path, what, name,
                              suggestion.empty() ? "" : fmt::format(" did you mean '{}'?", suggestion),
                              known.empty() ? "none" : join(known)));
  }
  return name;
}

// A non-empty list of presets under `key`, each one of `known`, or `fallback`.
std::vector<std::string> preset_list(const MapReader& m, const char* key, const char* what,
                                     const std::vector<std::string>& known, std::vector<std::string> fallback) {
  const auto node = m.find(key);
  if (!node) return fallback;
  const std::string path = m.child_path(key);
  if (!node->IsSequence() || node->size() == 0) {
    m.locator().fail(m.spot(key), fmt::format("{}: expected a non-empty list of {}s, got {}", path, what,
                                              describe_node(*node)));
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; i < node->size(); ++i) {
    const std::string item = fmt::format("{}[{}]", path, i);
    const std::string name = preset_name(m.locator(), (*node)[i], item, what, known);
    const auto seen = std::find(out.begin(), out.end(), name);
    if (seen != out.end()) {
      m.locator().fail((*node)[i], fmt::format("{} = {} repeats {}[{}]: each value of a plan axis once", item, name,
                                               path, seen - out.begin()));
    }
    out.push_back(name);
  }
  return out;
}

// The prefill pool's axes: its size and its own degrees. The defaults follow the
// scenario's pool (none: 0 replicas). Pool degrees without any pool to lay out are a
// contradiction. (Whether 0 replicas would have to take away a pool the scenario
// itself declares is for the planner to check: candidates are loaded with their own
// pool set, and overrides only set keys.)
void read_prefill_pool(const MapReader& m, const Scenario& s, PlanSpec& p) {
  const ParallelismSpec& layout = s.parallelism;
  const bool scenario_pool = layout.disaggregated();
  p.prefill_replicas = int_list<int>(m, "prefill_replicas", {layout.prefill.replicas}, Limits::at_least(0));
  p.prefill_replicas_where = m.locator().where(m.has("prefill_replicas") ? m.spot("prefill_replicas") : m.node());
  p.prefill_tp = int_list<int>(m, "prefill_tp", {scenario_pool ? layout.prefill.tp : 0}, Limits::at_least(1));
  p.prefill_pp = int_list<int>(m, "prefill_pp", {scenario_pool ? layout.prefill.pp : 0}, Limits::at_least(1));
  p.prefill_cp = int_list<int>(m, "prefill_cp", {scenario_pool ? layout.prefill.cp : 0}, Limits::at_least(1));
  p.prefill_ep = int_list<int>(m, "prefill_ep", {scenario_pool ? layout.prefill.ep : 0}, Limits::at_least(1));
  const auto& sizes = p.prefill_replicas;
  const bool pool_tried = std::any_of(sizes.begin(), sizes.end(), [](int r) { return r > 0; });
  for (const char* key : {"prefill_tp", "prefill_pp", "prefill_cp", "prefill_ep"}) {
    if (m.has(key) && !pool_tried) {
      m.locator().fail(m.spot(key), fmt::format("plan.{}: lays out a prefill pool, but plan.prefill_replicas "
                                                "tries none (only 0): list a pool size of 1 or more",
                                                key));
    }
  }
}

}  // namespace

PlanSpec read_plan(const MapReader& m, const Scenario& s, const Catalog& catalog) {
  m.allow_only({"strategy", "gpus", "engine", "nodes", "tp", "pp", "ep", "cp", "dp", "prefill_replicas", "prefill_tp",
                "prefill_pp", "prefill_cp", "prefill_ep", "max_batch_seqs", "prefill_chunk_tokens", "kv_between_turns",
                "objective", "goal", "top", "kv_reserve_tokens", "gpu_hour_usd"});
  PlanSpec p;
  p.where = m.locator().where(m.node());
  p.strategy = m.string_or("strategy", p.strategy);
  p.strategy_where = m.locator().where(m.has("strategy") ? m.spot("strategy") : m.node());
  const std::vector<std::string> gpus = names_of(catalog.gpus);
  p.gpus = preset_list(m, "gpus", "GPU preset", gpus, {s.cluster.gpu.name});
  p.engines = preset_list(m, "engine", "serving engine", names_of(catalog.engines), {s.serving.engine.name});
  const Limits at_least_one = Limits::at_least(1);
  p.nodes = int_list<int>(m, "nodes", {s.cluster.nodes}, Limits::between(1, 100000));
  p.tp = int_list<int>(m, "tp", powers_of_two_up_to(s.cluster.gpus_per_node), at_least_one);
  const int most_nodes = *std::max_element(p.nodes.begin(), p.nodes.end());
  p.pp = int_list<int>(m, "pp", powers_of_two_up_to(std::min(most_nodes, s.model.spec.layers)), at_least_one);
  p.ep = int_list<int>(m, "ep", {s.parallelism.ep}, at_least_one);
  p.cp = int_list<int>(m, "cp", {s.parallelism.cp}, at_least_one);
  p.dp = int_list<int>(m, "dp", {}, at_least_one);
  read_prefill_pool(m, s, p);
  p.max_batch_seqs = int_list<int>(m, "max_batch_seqs", {s.serving.max_batch_seqs}, at_least_one);
  p.prefill_chunk_tokens = int_list<long>(m, "prefill_chunk_tokens", {s.serving.prefill_chunk_tokens}, at_least_one);
  // Engines compared at their own defaults unless the plan or the scenario pins them
  // (the scenario's engine is its loaded profile; every other one was checked
  // against the catalog by preset_list).
  const auto profile_of = [&](const std::string& e) -> const EngineProfile& {
    return e == s.serving.engine.name ? s.serving.engine : catalog.engines.at(e);
  };
  if (!m.has("max_batch_seqs") && !s.serving.max_batch_seqs_given) {
    p.max_batch_seqs.clear();
    for (const std::string& e : p.engines) p.engine_max_batch_seqs[e] = profile_of(e).default_max_batch_seqs;
  }
  if (!m.has("prefill_chunk_tokens") && !s.serving.prefill_chunk_tokens_given) {
    p.prefill_chunk_tokens.clear();
    for (const std::string& e : p.engines) p.engine_prefill_chunk_tokens[e] = profile_of(e).default_prefill_chunk_tokens;
  }
  if (const auto kv = m.find("kv_between_turns")) {
    if (!kv->IsSequence() || kv->size() == 0) {
      m.locator().fail(m.spot("kv_between_turns"),
                       fmt::format("plan.kv_between_turns: expected a non-empty list, got {}", describe_node(*kv)));
    }
    for (std::size_t i = 0; i < kv->size(); ++i) {
      const std::string item = fmt::format("plan.kv_between_turns[{}]", i);
      const std::string policy =
          read_choice(m.locator(), (*kv)[i], item, {"keep", "offload_cpu", "offload_nvme", "drop"});
      const auto seen = std::find(p.kv_between_turns.begin(), p.kv_between_turns.end(), policy);
      if (seen != p.kv_between_turns.end()) {
        m.locator().fail((*kv)[i], fmt::format("{} = {} repeats plan.kv_between_turns[{}]: each value of a plan axis "
                                               "once",
                                               item, policy, seen - p.kv_between_turns.begin()));
      }
      p.kv_between_turns.push_back(policy);
    }
  } else {
    p.kv_between_turns = {kv_name(s.context.kv_between_turns)};
  }
  // The frontier's latency objective: one of slo:, or a percentile summary.json has.
  std::vector<std::string> latencies;
  for (const PercentileObjective& o : s.slo.percentiles) latencies.push_back(o.key);
  for (const char* metric : {"ttft", "tpot", "e2e"}) {
    for (const char* q : {"p50", "p90", "p99"}) {
      const std::string key = fmt::format("{}_{}_s", metric, q);
      if (std::find(latencies.begin(), latencies.end(), key) == latencies.end()) latencies.push_back(key);
    }
  }
  p.objective = s.slo.percentiles.empty() ? "ttft_p99_s" : s.slo.percentiles.front().key;
  if (m.has("objective")) p.objective = m.choice("objective", latencies);
  p.goal = m.choice_or("goal", p.goal, kPlanGoals);
  p.top = m.int_or("top", p.top, Limits::between(1, 1000));
  p.kv_reserve_tokens = m.integer_or("kv_reserve_tokens", s.serving.prefill_chunk_tokens, Limits::at_least(0));
  if (m.has("gpu_hour_usd")) {
    const MapReader prices = m.child("gpu_hour_usd");
    for (const auto& entry : prices.node()) {
      const std::string name = preset_name(m.locator(), entry.first, "plan.gpu_hour_usd", "GPU preset", gpus);
      p.gpu_hour_usd.emplace_back(name, read_number(m.locator(), entry.second,
                                                    fmt::format("plan.gpu_hour_usd.{}", name), Limits::positive()));
    }
  }
  // A GPU with no price here takes the scenario's own (cluster.gpu_hour_usd, for its
  // GPU), else the one the catalog's system preset carrying it cites
  // (models/catalog/systems/*.yaml gpu_hour_usd; the preset with the cluster's GPUs
  // per node first), as a run's cost_usd does.
  for (const std::string& gpu : p.gpus) {
    const bool priced = std::any_of(p.gpu_hour_usd.begin(), p.gpu_hour_usd.end(),
                                    [&gpu](const auto& price) { return price.first == gpu; });
    if (priced) continue;
    if (gpu == s.cluster.gpu.name && s.cluster.gpu_hour_usd > 0) {
      p.gpu_hour_usd.emplace_back(gpu, s.cluster.gpu_hour_usd);
      continue;
    }
    const SystemSpec* cited = nullptr;
    for (const auto& [name, system] : catalog.systems) {
      if (system.gpu != gpu || system.gpu_hour_usd <= 0) continue;
      if (cited == nullptr || (system.gpus_per_node == s.cluster.gpus_per_node &&
                               cited->gpus_per_node != s.cluster.gpus_per_node)) {
        cited = &system;
      }
    }
    if (cited != nullptr) p.gpu_hour_usd.emplace_back(gpu, cited->gpu_hour_usd);
  }
  // The grid is built in memory before pruning: bound its size as compare variants are.
  const bool pool = std::any_of(p.prefill_replicas.begin(), p.prefill_replicas.end(), [](int r) { return r > 0; });
  auto axis = [](std::size_t n) { return static_cast<double>(std::max<std::size_t>(n, 1)); };
  const double grid = axis(p.gpus.size()) * axis(p.engines.size()) * axis(p.nodes.size()) * axis(p.tp.size()) *
                      axis(p.pp.size()) * axis(p.ep.size()) * axis(p.cp.size()) * axis(p.dp.size()) *
                      axis(p.prefill_replicas.size()) *
                      (pool ? axis(p.prefill_tp.size()) * axis(p.prefill_pp.size()) * axis(p.prefill_cp.size()) *
                                  axis(p.prefill_ep.size())
                            : 1.0) *
                      axis(p.max_batch_seqs.size()) * axis(p.prefill_chunk_tokens.size()) *
                      axis(p.kv_between_turns.size());
  if (grid > static_cast<double>(kMaxPlanCandidates)) {
    m.locator().fail(m.node(), fmt::format("plan: its axes make {:.4g} candidates (the product of their lengths); at "
                                           "most {} (each is built and checked before pruning): shorten the lists",
                                           grid, kMaxPlanCandidates));
  }
  if (p.goal == "usd") {
    for (const std::string& gpu : p.gpus) {
      const bool priced = std::any_of(p.gpu_hour_usd.begin(), p.gpu_hour_usd.end(),
                                      [&gpu](const auto& price) { return price.first == gpu; });
      if (!priced) {
        m.locator().fail(m.spot("goal"), fmt::format("plan.goal: usd needs a price for every GPU of plan.gpus: "
                                                     "plan.gpu_hour_usd has none for '{}', and no system preset "
                                                     "carrying it cites one",
                                                     gpu));
      }
    }
  }
  return p;
}

}  // namespace convsim
