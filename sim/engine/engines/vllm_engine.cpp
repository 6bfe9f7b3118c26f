// vLLM (V1 engine, v0.10/v0.11): the scheduler builds a batch, prepares its inputs,
// launches the step and waits for its sampled tokens before scheduling the next
// one; asynchronous scheduling, which overlaps the two, is off by default in these
// versions (vllm-project/vllm, `--async-scheduling`, added as an opt-in in v0.10.2).
// So the whole CPU-side time adds to every iteration. Chunks of one long prompt are
// not pipelined across pipeline stages: each step's batch passes through all
// stages before the next is scheduled (vllm-project/vllm issue 41682).

#include <algorithm>

#include "sim/engine/serving_engine.hpp"

namespace convsim {
namespace {

class VllmEngine final : public ServingEngine {
 public:
  using ServingEngine::ServingEngine;
  double exposed_host_s(double host_s, double /*gpu_s*/) const override { return std::max(0.0, host_s); }
  bool pipelines_prefill_chunks() const override { return false; }
};

}  // namespace

std::unique_ptr<ServingEngine> make_vllm_engine(const EngineProfile& profile) {
  return std::make_unique<VllmEngine>(profile);
}

}  // namespace convsim
