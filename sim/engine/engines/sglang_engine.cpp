// SGLang: its overlap scheduler (on by default since v0.4) prepares and schedules
// batch k+1 on the CPU while the GPU runs batch k, so only the CPU-side time the
// GPU step does not cover delays an iteration (Zheng et al., SGLang, NeurIPS 2024;
// sgl-project/sglang blog "SGLang v0.4: Zero-Overhead Batch Scheduler", 2024).
// Chunked prefill of one long prompt is pipelined across pipeline stages
// (sgl-project/sglang pipeline-parallel support with chunked prefill).

#include <algorithm>

#include "sim/engine/serving_engine.hpp"

namespace convsim {
namespace {

class SglangEngine final : public ServingEngine {
 public:
  using ServingEngine::ServingEngine;
  double exposed_host_s(double host_s, double gpu_s) const override { return std::max(0.0, host_s - gpu_s); }
  bool pipelines_prefill_chunks() const override { return true; }
};

}  // namespace

std::unique_ptr<ServingEngine> make_sglang_engine(const EngineProfile& profile) {
  return std::make_unique<SglangEngine>(profile);
}

}  // namespace convsim
