#include "models/engine_profile.hpp"

#include <algorithm>

namespace convsim {

long EngineProfile::padded_decode_batch(long n) const {
  const auto it = std::lower_bound(cuda_graph_batch_sizes.begin(), cuda_graph_batch_sizes.end(), n);
  return it == cuda_graph_batch_sizes.end() ? n : *it;
}

EngineProfile EngineProfile::on_gpu(const std::string& gpu) const {
  EngineProfile out = *this;
  const auto it = host_by_gpu.find(gpu);
  if (it != host_by_gpu.end()) {
    out.iteration_host_s = it->second.iteration_host_s;
    out.host_s_per_sequence = it->second.host_s_per_sequence;
  }
  return out;
}

const SymmMemAllReduce* EngineProfile::symm_mem_on(const std::string& gpu) const {
  for (const SymmMemAllReduce& arch : symm_mem_allreduce) {
    if (std::find(arch.gpus.begin(), arch.gpus.end(), gpu) != arch.gpus.end()) return &arch;
  }
  return nullptr;
}

}  // namespace convsim
