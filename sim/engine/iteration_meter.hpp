#pragma once
// Where one iteration's activity is kept: each GPU's meter and timeline track (the
// GPUs of a stage share a track, GpuTimeline::share), the speculative draft's time
// and energy on the first stage's GPUs, and, when the run logs iterations
// (RunOptions::log_iterations, for the validation's steady window), one record of
// the replica's GPUs together.

#include <vector>

#include "sim/engine/run_context.hpp"
#include "sim/engine/speculative.hpp"
#include "sim/engine/stage_runner.hpp"

namespace convsim {

// Summed over the replica's GPUs: energy while computing, communicating or waiting
// on the host, and the GPU-seconds of that.
struct ActiveTotals {
  double energy_j = 0;
  double gpu_s = 0;
};

// Charges `ran` (and `draft`, run before it on the first stage) to the meters and
// timeline tracks of `stage_gpus` (GPU ids, by stage), the iteration having started
// at start_s and holding memory_bytes on each GPU.
ActiveTotals meter_iteration(RunContext& run, const std::vector<std::vector<int>>& stage_gpus, const IterationRun& ran,
                             const DraftCost& draft, double start_s, double memory_bytes);

// Appends the iteration's record to the run's iteration log (only when it keeps one).
void log_iteration(RunContext& run, const std::vector<std::vector<int>>& stage_gpus, const IterationRun& ran,
                   const ActiveTotals& active, double start_s, double span_s, long decode_tokens);

}  // namespace convsim
