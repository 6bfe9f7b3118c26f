#include "sim/engine/iteration_meter.hpp"

namespace convsim {
namespace {

WorkTotals work_of(const StageActivity& a) {
  return WorkTotals{a.compute_s, a.comm_s, a.host_s, a.hbm_bytes, a.bf16_flops, a.fp8_flops};
}

}  // namespace

ActiveTotals meter_iteration(RunContext& run, const std::vector<std::vector<int>>& stage_gpus, const IterationRun& ran,
                             const DraftCost& draft, double start_s, double memory_bytes) {
  ActiveTotals active;
  for (std::size_t s = 0; s < stage_gpus.size(); ++s) {
    const StageActivity& a = ran.stages[s];
    for (int gpu : stage_gpus[s]) {
      const int rank = run.rank_of_gpu[static_cast<std::size_t>(gpu)];
      GpuMeter& meter = run.result.gpus[static_cast<std::size_t>(rank)];
      meter.active_energy_j += a.energy_j;
      meter.active_time_s += a.compute_s + a.comm_s + a.host_s;
      meter.compute_s += a.compute_s;
      meter.clock_compute_s += a.clock_compute_s;
      meter.comm_s += a.comm_s;
      meter.host_s += a.host_s;
      meter.hbm_bytes += a.hbm_bytes;
      meter.bf16_flops += a.bf16_flops;
      meter.fp8_flops += a.fp8_flops;
      meter.fp4_flops += a.fp4_flops;
      // The engine's host time is a wait inside the iteration, shown with the collectives'.
      run.result.timeline.add(rank, start_s, a.compute_s, a.comm_s + a.host_s, a.energy_j, memory_bytes);
      active.energy_j += a.energy_j;
      active.gpu_s += a.compute_s + a.comm_s + a.host_s;
    }
  }
  if (draft.time_s > 0) {  // the draft's time and energy on the first stage's GPUs
    const double per_gpu_j = draft.energy_j / static_cast<double>(stage_gpus[0].size());
    for (int gpu : stage_gpus[0]) {
      GpuMeter& meter = run.result.gpus[static_cast<std::size_t>(run.rank_of_gpu[static_cast<std::size_t>(gpu)])];
      meter.active_energy_j += per_gpu_j;
      meter.active_time_s += draft.time_s;
    }
    active.energy_j += draft.energy_j;
    active.gpu_s += draft.time_s * static_cast<double>(stage_gpus[0].size());
  }
  return active;
}

void log_iteration(RunContext& run, const std::vector<std::vector<int>>& stage_gpus, const IterationRun& ran,
                   const ActiveTotals& active, double start_s, double span_s, long decode_tokens) {
  if (!run.log_iterations) return;
  RunResult::IterationRecord record;
  int gpus = 0;
  for (std::size_t s = 0; s < stage_gpus.size(); ++s) {  // every GPU of a stage does the same
    record.work.add(work_of(ran.stages[s]), static_cast<double>(stage_gpus[s].size()));
    gpus += static_cast<int>(stage_gpus[s].size());
  }
  for (const auto& [stage, segment] : ran.segments) {
    PowerSegment all;
    all.add(segment, static_cast<double>(stage_gpus[stage].size()));
    record.segments.push_back(all);
  }
  record.start_s = start_s;
  record.span_s = span_s;
  record.decode_tokens = decode_tokens;
  record.gpus = gpus;
  record.active_energy_j = active.energy_j;
  record.active_s = active.gpu_s;
  run.result.iteration_log.push_back(record);
}

}  // namespace convsim
