// TensorRT-LLM (PyTorch backend, v1.0): a C++/Python executor whose overlap
// scheduler (enabled by default, `disable_overlap_scheduler: false`) runs the host
// work of step k+1 while the GPU runs step k, so only the CPU-side time the GPU
// step does not cover is exposed. Chunks of one long prompt are pipelined across
// pipeline stages (NVIDIA/TensorRT-LLM pull request 9308).

#include <algorithm>

#include "sim/engine/serving_engine.hpp"

namespace convsim {
namespace {

class TrtllmEngine final : public ServingEngine {
 public:
  using ServingEngine::ServingEngine;
  double exposed_host_s(double host_s, double gpu_s) const override { return std::max(0.0, host_s - gpu_s); }
  bool pipelines_prefill_chunks() const override { return true; }
};

}  // namespace

std::unique_ptr<ServingEngine> make_trtllm_engine(const EngineProfile& profile) {
  return std::make_unique<TrtllmEngine>(profile);
}

}  // namespace convsim
