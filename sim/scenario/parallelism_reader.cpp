#include "sim/scenario/parallelism_reader.hpp"

#include <optional>
#include <set>

#include <fmt/core.h>

namespace convsim {
namespace {

// Where each degree was given, for locating errors (the section when absent).
struct Spots {
  YAML::Node section, tp, ep, cp, pp;
};

// Checks one layout (the replicas', or the prefill pool's, named by `path`).
void check_degrees(const Locator& at, const Spots& spots, const std::string& path, const ParallelismSpec& spec,
                   const ModelSpec& model, const ClusterSpec& cluster, std::vector<std::string>& warnings) {
  const int tp = spec.tp;
  if (spec.ep > 1) {
    if (!model.moe) {
      at.fail(spots.ep, fmt::format("{}.ep = {}: {} has no experts to spread", path, spec.ep, model.name));
    }
    if (spec.ep % tp != 0) {
      at.fail(spots.ep, fmt::format("{}.ep = {} must be 1 or a multiple of {}.tp = {}: experts are spread over "
                                    "whole tensor-parallel groups",
                                    path, spec.ep, path, tp));
    }
    if (model.moe->experts % spec.ep != 0) {
      at.fail(spots.ep, fmt::format("{}.ep = {} must divide the {} experts of {}", path, spec.ep,
                                    model.moe->experts, model.name));
    }
    if (spec.ep > tp && spec.cp > 1) {
      at.fail(spots.cp, fmt::format("{}.cp = {} with wide expert parallelism ({}.ep = {} > tp = {}) is not "
                                    "supported: use one or the other",
                                    path, spec.cp, path, spec.ep, tp));
    }
  }
  const bool divides_heads = model.heads % tp == 0;
  const bool fits_kv_heads = model.kv_heads % tp == 0 || tp % model.kv_heads == 0;
  if (!divides_heads && !fits_kv_heads) {
    at.fail(spots.tp, fmt::format("{}.tp = {} must divide model.heads = {} and model.kv_heads = {}", path, tp,
                                  model.heads, model.kv_heads));
  }
  if (!divides_heads) {
    at.fail(spots.tp, fmt::format("{}.tp = {} must divide model.heads = {}", path, tp, model.heads));
  }
  if (!fits_kv_heads) {
    at.fail(spots.tp, fmt::format("{}.tp = {} must divide model.kv_heads = {} or be a multiple of it", path, tp,
                                  model.kv_heads));
  }
  if (model.ssm) {
    const long ssm_heads = static_cast<long>(ssm_inner_dim(model)) / model.ssm->head_dim;
    if (ssm_heads % tp != 0) {
      at.fail(spots.tp, fmt::format("{}.tp = {} must divide the state-space heads of {} = {}", path, tp,
                                    model.name, ssm_heads));
    }
    if (spec.cp > 1) {
      at.fail(spots.cp, fmt::format("{}.cp = {}: {} has state-space layers, whose recurrence does not split "
                                    "by context (ring attention needs attention layers only)",
                                    path, spec.cp, model.name));
    }
  }
  if (model.moe && spec.ep == 1 && model.moe->expert_ffn_dim % tp != 0) {
    at.fail(spots.tp, fmt::format("{}.tp = {} must divide the experts' ffn dim of {} = {}", path, tp, model.name,
                                  model.moe->expert_ffn_dim));
  }
  if (tp > cluster.gpus_per_node) {
    at.fail(spots.tp, fmt::format("{}.tp = {} exceeds cluster.gpus_per_node = {}: tensor parallelism stays "
                                  "inside a node",
                                  path, tp, cluster.gpus_per_node));
  }
  if (tp > 1 && cluster.gpus_per_node % tp != 0) {
    warnings.push_back(fmt::format("{}: warning: {}.tp = {} does not divide cluster.gpus_per_node = {}: some "
                                   "tensor-parallel groups cross nodes and all-reduce over the scale-out network",
                                   at.where(spots.tp), path, tp, cluster.gpus_per_node));
  }
  if (spec.pp > model.layers) {
    at.fail(spots.pp, fmt::format("{}.pp = {} exceeds model.layers = {}", path, spec.pp, model.layers));
  }
}

// Reads the degrees of one layout from `p` into `spec`.
Spots read_degrees(const MapReader& p, ParallelismSpec& spec) {
  spec.tp = p.int_or("tp", spec.tp, Limits::between(1, 1024));
  spec.pp = p.int_or("pp", spec.pp, Limits::between(1, 1024));
  spec.cp = p.int_or("cp", spec.cp, Limits::between(1, 1024));
  spec.ep = p.int_or("ep", spec.ep, Limits::between(1, 4096));
  Spots spots;
  // reset() rebinds; operator= would overwrite the node in the tree.
  spots.section.reset(p.node());
  spots.tp.reset(p.spot("tp"));
  spots.pp.reset(p.spot("pp"));
  spots.cp.reset(p.spot("cp"));
  spots.ep.reset(p.spot("ep"));
  return spots;
}

// Warns when a tensor-parallel group of the explicit placement spans nodes.
void warn_split_groups(const Locator& at, const YAML::Node& spot, const ParallelismSpec& spec,
                       const ClusterSpec& cluster, std::vector<std::string>& warnings) {
  auto check = [&](int first_rank, int groups, int tp, const char* what) {
    for (int g = 0; g < groups; ++g) {
      const int node = spec.gpu_of(first_rank + g * tp) / cluster.gpus_per_node;
      for (int r = 1; r < tp; ++r) {
        if (spec.gpu_of(first_rank + g * tp + r) / cluster.gpus_per_node == node) continue;
        warnings.push_back(fmt::format("{}: warning: parallelism.placement puts {} tensor-parallel group {} "
                                       "(ranks {}..{}) on more than one node: its all-reduces cross the "
                                       "scale-out network",
                                       at.where(spot), what, g, first_rank + g * tp, first_rank + g * tp + tp - 1));
        return;
      }
    }
  };
  check(0, spec.gpus_per_replica() * spec.dp / spec.tp, spec.tp, "a");
  if (spec.disaggregated()) {
    const int pool = spec.prefill.replicas * spec.prefill_gpus_per_replica();
    check(spec.gpus_per_replica() * spec.dp, pool / spec.prefill.tp, spec.prefill.tp, "a prefill");
  }
}

std::vector<int> read_placement(const MapReader& p, int ranks, int cluster_gpus) {
  const Locator& at = p.locator();
  const YAML::Node list = p.get("placement");
  if (!list.IsSequence()) {
    at.fail(p.spot("placement"), fmt::format("parallelism.placement must be a list of GPU indices, got {}",
                                             describe_node(list)));
  }
  if (static_cast<int>(list.size()) != ranks) {
    at.fail(p.spot("placement"),
            fmt::format("parallelism.placement lists {} GPUs, but the layout has {} ranks (one GPU per rank, "
                        "in rank order: tp fastest, then cp or ep, then pp, then replicas, then the prefill pool)",
                        list.size(), ranks));
  }
  std::vector<int> gpus;
  std::set<int> seen;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string path = fmt::format("parallelism.placement[{}]", i);
    const int gpu = read_int(at, list[i], path, Limits::between(0, cluster_gpus - 1));
    if (!seen.insert(gpu).second) at.fail(list[i], fmt::format("{}: GPU {} is placed twice", path, gpu));
    gpus.push_back(gpu);
  }
  return gpus;
}

}  // namespace

ParallelismSpec read_parallelism(const MapReader& root, const ModelSpec& model, const ClusterSpec& cluster,
                                 std::vector<std::string>& warnings) {
  const Locator& at = root.locator();
  ParallelismSpec spec;
  const long long cluster_gpus = static_cast<long long>(cluster.nodes) * cluster.gpus_per_node;
  std::optional<MapReader> section;
  if (root.has("parallelism")) section.emplace(root.child("parallelism"));
  if (section) {
    section->allow_only({"tp", "pp", "dp", "ep", "cp", "micro_batches", "prefill", "placement"});
  }
  // Spots are built, never assigned: YAML::Node's operator= would overwrite the tree.
  const Spots spots = section ? read_degrees(*section, spec) : Spots{root.node(), root.node(), root.node(),
                                                                      root.node(), root.node()};
  std::optional<MapReader> pool_section;
  if (section) {
    spec.dp = section->int_or("dp", spec.dp, Limits::between(1, 1000000));
    spec.micro_batches = section->int_or("micro_batches", spec.micro_batches, Limits::between(1, 4096));
    if (section->has("prefill")) {
      pool_section.emplace(section->child("prefill"));
      pool_section->allow_only({"replicas", "tp", "pp", "cp", "ep"});
    }
  }
  ParallelismSpec pool;
  const Spots prefill_spots = pool_section ? read_degrees(*pool_section, pool) : spots;
  if (pool_section) {
    spec.prefill.replicas = static_cast<int>(pool_section->integer("replicas", Limits::between(1, 1000000)));
    spec.prefill.tp = pool.tp;
    spec.prefill.pp = pool.pp;
    spec.prefill.cp = pool.cp;
    spec.prefill.ep = pool.ep;
    if (pool.ep > pool.tp) {
      at.fail(prefill_spots.ep, fmt::format("parallelism.prefill.ep = {} must be 1 or parallelism.prefill.tp = {}: "
                                            "wide expert parallelism is for decode replicas",
                                            pool.ep, pool.tp));
    }
  }
  check_degrees(at, spots, "parallelism", spec, model, cluster, warnings);
  if (spec.disaggregated()) {
    check_degrees(at, prefill_spots, "parallelism.prefill", spec.prefill_layout(), model, cluster, warnings);
  }
  const long long used = static_cast<long long>(spec.gpus_per_replica()) * spec.dp +
                         static_cast<long long>(spec.prefill.replicas) * spec.prefill_gpus_per_replica();
  if (used > cluster_gpus) {
    const std::string pool_gpus = spec.disaggregated()
                                 ? fmt::format(" + prefill {} replicas * {} GPUs", spec.prefill.replicas,
                                               spec.prefill_gpus_per_replica())
                                 : "";
    const std::string layout = spec.ep > spec.tp
                                   ? fmt::format("ep * pp * dp = {} * {} * {}", spec.ep, spec.pp, spec.dp)
                                   : fmt::format("tp * cp * pp * dp = {} * {} * {} * {}", spec.tp, spec.cp,
                                                 spec.pp, spec.dp);
    at.fail(spots.section, fmt::format("parallelism: {}{} = {} GPUs, but the cluster has nodes * gpus_per_node = "
                                       "{} * {} = {}",
                                       layout, pool_gpus, used, cluster.nodes, cluster.gpus_per_node, cluster_gpus));
  }
  if (section && section->has("placement")) {
    spec.placement = read_placement(*section, static_cast<int>(used), static_cast<int>(cluster_gpus));
    warn_split_groups(at, section->spot("placement"), spec, cluster, warnings);
  }
  return spec;
}

}  // namespace convsim
