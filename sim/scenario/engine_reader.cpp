#include "sim/scenario/engine_reader.hpp"

#include <algorithm>
#include <iterator>

#include <fmt/core.h>
#include <fmt/ranges.h>

#include "sim/scenario/config_error.hpp"

namespace convsim {

namespace {

// An engine whose CPU takes a second an iteration, or 10 ms a sequence, is stalled,
// not profiled (vLLM's are about 1-3 ms and 20-35 us).
EngineHostTime read_host_time(const MapReader& m) {
  EngineHostTime h;
  h.iteration_host_s = m.number("iteration_host_s", Limits::between(0, 1));
  h.host_s_per_sequence = m.number("host_s_per_sequence", Limits::between(0, 1e-2));
  return h;
}

// symm_mem_allreduce: by architecture, the GPUs it covers and the custom kernels'
// and symmetric memory's limits by TP world size (MiB in the file).
std::vector<SymmMemAllReduce> read_symm_mem(const MapReader& m, const std::vector<std::string>& gpus) {
  std::vector<SymmMemAllReduce> out;
  if (!m.has("symm_mem_allreduce")) return out;
  const MapReader by_arch = m.child("symm_mem_allreduce");
  std::vector<std::string> seen;
  for (const auto& entry : by_arch.node()) {
    const std::string arch = entry.first.Scalar();
    const MapReader a = by_arch.child(arch);
    a.allow_only({"gpus", "custom_max_mib", "max_mib", "multimem_world_sizes"});
    SymmMemAllReduce s;
    s.gpus = a.string_list("gpus");
    if (s.gpus.empty()) a.locator().fail(a.spot("gpus"), "gpus: name at least one GPU preset");
    for (const std::string& g : s.gpus) {
      if (std::find(gpus.begin(), gpus.end(), g) == gpus.end()) {
        a.locator().fail(a.spot("gpus"),
                         fmt::format("gpus: '{}' is not a GPU preset; allowed: {}", g, fmt::join(gpus, ", ")));
      }
      if (std::find(seen.begin(), seen.end(), g) != seen.end()) {
        a.locator().fail(a.spot("gpus"), fmt::format("gpus: '{}' is named by two architectures", g));
      }
      seen.push_back(g);
    }
    auto limits = [&a](const char* key) {
      std::map<int, double> bytes;
      const MapReader sizes = a.child(key);
      for (const auto& item : sizes.node()) {
        const std::string p = item.first.Scalar();
        if (p != "2" && p != "4" && p != "6" && p != "8") {
          a.locator().fail(item.first, fmt::format("{}: the world sizes are 2, 4, 6 and 8 (the custom kernels'), "
                                                   "not '{}'", key, p));
        }
        bytes[std::stoi(p)] = sizes.number(p, Limits::between(1.0 / 1024, 4096)) * 1024 * 1024;
      }
      return bytes;
    };
    s.custom_max_bytes = limits("custom_max_mib");
    s.max_bytes = limits("max_mib");
    for (const auto& [p, bytes] : s.custom_max_bytes) {
      const auto it = s.max_bytes.find(p);
      if (it == s.max_bytes.end() || it->second < bytes) {
        a.locator().fail(a.spot("max_mib"), fmt::format("max_mib: world size {} needs a limit of at least its "
                                                        "custom_max_mib ({} MiB)", p, bytes / 1024 / 1024));
      }
    }
    if (a.has("multimem_world_sizes")) {
      const YAML::Node list = a.get("multimem_world_sizes");
      if (!list.IsSequence()) a.locator().fail(list, "multimem_world_sizes must be a list of world sizes");
      for (const YAML::Node& item : list) {
        int p = 0;
        try {
          p = item.as<int>();
        } catch (const YAML::Exception&) {
          a.locator().fail(item, "a multimem world size must be one of max_mib's world sizes");
        }
        if (s.max_bytes.count(p) == 0) {
          a.locator().fail(item, "a multimem world size must be one of max_mib's world sizes");
        }
        s.multimem_world_sizes.push_back(p);
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

std::map<std::string, EngineHostTime> read_host_by_gpu(const MapReader& m, const std::vector<std::string>& gpus) {
  std::map<std::string, EngineHostTime> out;
  if (!m.has("host_by_gpu")) return out;
  const MapReader by_gpu = m.child("host_by_gpu");
  by_gpu.allow_only(gpus);  // GPU preset names, each once
  for (const auto& entry : by_gpu.node()) {
    const std::string gpu = entry.first.Scalar();
    const MapReader figures = by_gpu.child(gpu);
    figures.allow_only({"iteration_host_s", "host_s_per_sequence"});
    out[gpu] = read_host_time(figures);
  }
  return out;
}

EngineProfile read_engine(const MapReader& m, const std::vector<std::string>& gpus) {
  m.allow_only({"name", "description", "iteration_host_s", "host_s_per_sequence", "host_by_gpu",
                "per_sequence_runs_on", "cuda_graph_batch_sizes",
                "eager_launch_s", "default_max_batch_seqs", "default_prefill_chunk_tokens", "allreduce",
                "symm_mem_allreduce", "moe_all_to_all_kernel_s", "moe_expert_rows", "activation_quantisation",
                "ssm_prefix_caching",
                "fitted_by",
                "sources", "notes"});
  EngineProfile e;
  e.name = m.string("name");
  std::vector<std::string> known(std::begin(kEngineNames), std::end(kEngineNames));
  if (std::find(known.begin(), known.end(), e.name) == known.end()) {
    m.locator().fail(m.spot("name"), fmt::format("no serving engine implementation is named '{}' (there are: {})",
                                                 e.name, fmt::join(known, ", ")));
  }
  e.description = m.string("description");
  const EngineHostTime host = read_host_time(m);
  e.iteration_host_s = host.iteration_host_s;
  e.host_s_per_sequence = host.host_s_per_sequence;
  e.host_by_gpu = read_host_by_gpu(m, gpus);
  e.per_sequence_on_gpu = m.choice_or("per_sequence_runs_on", "host", {"host", "gpu"}) == "gpu";
  if (m.has("cuda_graph_batch_sizes")) {
    const YAML::Node list = m.get("cuda_graph_batch_sizes");
    if (!list.IsSequence()) m.locator().fail(list, "cuda_graph_batch_sizes must be a list of batch sizes");
    for (const YAML::Node& item : list) {
      long long n = 0;
      try {
        n = item.as<long long>();
      } catch (const YAML::Exception&) {
        m.locator().fail(item, "a CUDA-graph batch size must be a whole number >= 1");
      }
      if (n < 1 || n > 1'000'000 || (!e.cuda_graph_batch_sizes.empty() && n <= e.cuda_graph_batch_sizes.back())) {
        m.locator().fail(item, "CUDA-graph batch sizes must be in [1, 1000000] and increasing");
      }
      e.cuda_graph_batch_sizes.push_back(static_cast<int>(n));
    }
  }
  e.eager_launch_s = m.number_or("eager_launch_s", 0.0, Limits::between(0, 1e-3));
  e.default_max_batch_seqs = m.int_value("default_max_batch_seqs", Limits::at_least(1));
  e.default_prefill_chunk_tokens = m.integer("default_prefill_chunk_tokens", Limits::at_least(1));
  e.allreduce = m.choice("allreduce", {"custom", "nccl"}) == "custom" ? EngineAllReduce::custom : EngineAllReduce::nccl;
  e.symm_mem_allreduce = read_symm_mem(m, gpus);
  if (e.allreduce == EngineAllReduce::nccl && !e.symm_mem_allreduce.empty()) {
    m.locator().fail(m.spot("symm_mem_allreduce"),
                     "symm_mem_allreduce sets where the custom kernels stop; with allreduce: nccl there are none");
  }
  e.moe_all_to_all_kernel_s = m.number("moe_all_to_all_kernel_s", Limits::between(0, 1e-2));
  e.moe_kernels_see_all_rows = m.choice("moe_expert_rows", {"all", "local"}) == "all";
  e.separate_activation_quant = m.choice("activation_quantisation", {"separate", "fused"}) == "separate";
  e.caches_ssm_prefixes = m.choice("ssm_prefix_caching", {"cached", "disabled"}) == "cached";
  e.fitted_by = m.string_or("fitted_by", "");
  e.sources = m.string_list("sources");
  m.string_or("notes", "");
  return e;
}

}  // namespace convsim
