#include "sim/analysis/explain.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "models/power.hpp"
#include "models/roofline.hpp"

namespace convsim {

double ReplyBreakdown::total_energy_j() const {
  double sum = 0;
  for (const BreakdownRow& row : rows) sum += row.energy_j;
  return sum;
}

namespace {

// Adds one iteration (this reply alone) to the rows.
void add_iteration(ReplyBreakdown& out, const Scenario& s, const IterationCost& cost) {
  const GpuSpec& gpu = s.cluster.gpu;
  const int stage_gpus = s.parallelism.stage_gpus();  // all do the same work
  const double comm_w = communication_power_w(gpu);
  const StagePeaks peaks = stage_peaks(gpu, s.model.weights);  // each kernel class's roofs
  double span_s = 0, active_gpu_s = 0;
  for (const StageCost& stage : cost.stages) {
    for (int i = 0; i < kKernelClasses; ++i) {
      const KernelWork& work = stage.work.by_class[i];
      const KernelTiming& timing = stage.timing.by_class[i];
      BreakdownRow& row = out.rows[static_cast<std::size_t>(i)];
      const ClassRoof& roof = peaks.by_class[static_cast<std::size_t>(i)];
      row.flops += work.flops * stage_gpus;
      row.hbm_bytes += work.hbm_bytes * stage_gpus;
      row.time_s += timing.time_s;
      row.compute_s += compute_time_s(work, roof);
      row.memory_s += work.hbm_bytes / roof.memory_bytes_per_s;
      row.energy_j += timing.time_s * stage.busy_power_w * stage_gpus;
    }
    const double comm_s = stage.communication_s();
    BreakdownRow& comm = out.rows[kKernelClasses];
    comm.time_s += comm_s;
    comm.energy_j += comm_s * comm_w * stage_gpus;
    span_s += stage.timing.compute_s + comm_s;
    active_gpu_s += (stage.timing.compute_s + comm_s) * stage_gpus;
  }
  BreakdownRow& idle = out.rows[kKernelClasses + 1];
  const double waiting_gpu_s = span_s * s.parallelism.gpus_per_replica() - active_gpu_s;
  idle.energy_j += waiting_gpu_s * gpu.power_idle_w;
  ++out.iterations;
}

}  // namespace

ReplyBreakdown explain_reply(const Scenario& s, const CostModel& cost, const ReplyRecord& reply, ReplyPhase phase) {
  ReplyBreakdown out;
  for (int i = 0; i < kKernelClasses; ++i) {
    out.rows.push_back(BreakdownRow{std::string(kernel_class_name(static_cast<KernelClass>(i)))});
  }
  out.rows.push_back(BreakdownRow{"communication"});
  out.rows.push_back(BreakdownRow{"idle (waiting GPUs)"});

  out.prefill_tokens = reply.context_tokens - reply.cached_tokens;
  long done = 0;
  while (phase != ReplyPhase::decode && done < out.prefill_tokens) {
    const long chunk = std::min(s.serving.prefill_chunk_tokens, out.prefill_tokens - done);
    const bool last = done + chunk == out.prefill_tokens;
    const IterationCost c = cost.iteration({SequenceWork{chunk, reply.cached_tokens + done, last ? 1 : 0}});
    add_iteration(out, s, c);
    out.prefill_s += c.uncontended_s;
    done += chunk;
  }
  for (long k = 1; phase != ReplyPhase::prefill && k < reply.output_tokens; ++k) {
    const IterationCost c = cost.iteration({SequenceWork{1, reply.context_tokens + k - 1, true}});
    add_iteration(out, s, c);
    out.decode_s += c.uncontended_s;
  }
  return out;
}

std::string format_breakdown(const ReplyBreakdown& b, const ReplyRecord& reply) {
  std::string out = fmt::format(
      "reply of session {} turn {} at minute {:.2f}: context {} tokens ({} cached, {} prefilled), {} output tokens\n"
      "alone on its replica: prefill {:.4f} s, decode {:.4f} s, {} iterations, GPU energy {:.1f} J ({:.4f} Wh)\n"
      "simulated: TTFT {:.4f} s, end to end {:.4f} s (queued {:.4f} s), GPU energy {:.1f} J\n\n",
      reply.session, reply.turn, reply.start_s / 60.0, reply.context_tokens, reply.cached_tokens, b.prefill_tokens,
      reply.output_tokens, b.prefill_s, b.decode_s, b.iterations, b.total_energy_j(), b.total_energy_j() / 3600.0,
      reply.ttft_s, reply.e2e_s, reply.queue_s, reply.energy_j);
  out += fmt::format("{:<20} {:>12} {:>12} {:>11} {:>8} {:>11} {:>7}\n", "kernel class", "TFLOP", "HBM GB", "time s",
                     "bound", "energy J", "share");
  const double total_j = b.total_energy_j();
  for (const BreakdownRow& row : b.rows) {
    const bool kernels = row.flops > 0 || row.hbm_bytes > 0;
    out += fmt::format("{:<20} {:>12} {:>12} {:>11.5f} {:>8} {:>11.1f} {:>6.1f}%\n", row.name,
                       kernels ? fmt::format("{:.3f}", row.flops / 1e12) : "-",
                       kernels ? fmt::format("{:.3f}", row.hbm_bytes / 1e9) : "-", row.time_s,
                       kernels ? (row.compute_bound() ? "compute" : "memory") : "-", row.energy_j,
                       total_j > 0 ? 100.0 * row.energy_j / total_j : 0.0);
  }
  return out;
}

}  // namespace convsim
