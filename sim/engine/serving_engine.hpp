#pragma once
// A serving engine: how vLLM, SGLang or TensorRT-LLM turn the GPU's work into
// iterations. Its profile (models/engine_profile.hpp, models/catalog/engines/)
// holds the figures; an implementation holds the behaviour that is not a figure.
//
// Contract of an implementation:
//   - exposed_host_s(host_s, gpu_s): how much of the iteration's CPU-side time
//     (host_s, from the profile) delays the iteration beyond its GPU time gpu_s.
//     An engine that prepares the next batch while the GPU runs the current one
//     exposes only what the GPU does not cover: max(0, host_s - gpu_s); one that
//     schedules, launches, then waits exposes all of it. Never negative, never
//     above host_s.
//   - pipelines_prefill_chunks(): whether the chunks of one long prompt flow
//     through the pipeline stages as a pipeline (chunk k+1 enters stage 0 while
//     chunk k is in stage 1), so a prompt of C chunks over P stages takes C + P - 1
//     stage-chunk times instead of C * P.
// Adding an engine: a profile in models/catalog/engines/, a file in
// sim/engine/engines/, one line in the registry (serving_engine.cpp), one test.

#include <memory>
#include <string>
#include <vector>

#include "models/engine_profile.hpp"

namespace convsim {

class ServingEngine {
 public:
  explicit ServingEngine(EngineProfile profile) : profile_(std::move(profile)) {}
  virtual ~ServingEngine() = default;

  const EngineProfile& profile() const { return profile_; }

  // CPU-side time of an iteration scheduling `sequences` sequences (the
  // per-sequence part only where it runs on the host).
  double host_s(long sequences) const {
    return profile_.iteration_host_s + (profile_.per_sequence_on_gpu ? 0.0 : per_sequence_s(sequences));
  }
  // GPU time of the engine's per-sequence work, where it runs on the GPU (always
  // exposed: it is GPU work, which no CPU overlap hides).
  double sequence_gpu_s(long sequences) const {
    return profile_.per_sequence_on_gpu ? per_sequence_s(sequences) : 0.0;
  }

  virtual double exposed_host_s(double host_s, double gpu_s) const = 0;
  virtual bool pipelines_prefill_chunks() const = 0;

 private:
  double per_sequence_s(long sequences) const {
    return profile_.host_s_per_sequence * static_cast<double>(sequences);
  }
  EngineProfile profile_;
};

// The engines with an implementation, in the registry's order.
std::vector<std::string> serving_engine_names();

// The implementation registered under profile.name. REQUIRES: the name is one of
// serving_engine_names() (the catalog loader checks every profile).
std::unique_ptr<ServingEngine> make_serving_engine(const EngineProfile& profile);

// The registered implementations (one file each in sim/engine/engines/).
std::unique_ptr<ServingEngine> make_vllm_engine(const EngineProfile& profile);
std::unique_ptr<ServingEngine> make_sglang_engine(const EngineProfile& profile);
std::unique_ptr<ServingEngine> make_trtllm_engine(const EngineProfile& profile);

}  // namespace convsim
