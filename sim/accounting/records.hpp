#pragma once
// Plain records the simulation appends; accumulators and writers read them.

#include <string>
#include <vector>

#include "sim/accounting/exact_sum.hpp"
#include "sim/accounting/gpu_timeline.hpp"
#include "sim/accounting/reply_record.hpp"
#include "sim/accounting/reply_store.hpp"
#include "sim/accounting/stats.hpp"

namespace convsim {

// What a request has been charged so far: its share of the iterations it took
// part in, and its transfers. Summed over the parts of a reply (a disaggregated
// reply has a prefill part and a decode part).
struct Attribution {
  double energy_j = 0;          // GPU energy (active and in-iteration waiting, restore waits)
  double network_energy_j = 0;  // links
  double host_energy_j = 0;     // host, switches and power-supply losses (see ReplyRecord)
  double reserved_energy_j = 0; // its share of the reservation between turns
  double gpu_s = 0;
  double reserved_gpu_s = 0;
  double restore_energy_j = 0;  // of the above, its cache's restore
  double flops = 0;
  double hbm_bytes = 0;
  double net_bytes = 0;
  double kv_bytes = 0;          // KV-cache bytes read and written
  double peak_gpu_mem_bytes = 0;

  Attribution& operator+=(const Attribution& other) {
    energy_j += other.energy_j;
    network_energy_j += other.network_energy_j;
    host_energy_j += other.host_energy_j;
    reserved_energy_j += other.reserved_energy_j;
    gpu_s += other.gpu_s;
    reserved_gpu_s += other.reserved_gpu_s;
    restore_energy_j += other.restore_energy_j;
    flops += other.flops;
    hbm_bytes += other.hbm_bytes;
    net_bytes += other.net_bytes;
    kv_bytes += other.kv_bytes;
    peak_gpu_mem_bytes = peak_gpu_mem_bytes > other.peak_gpu_mem_bytes ? peak_gpu_mem_bytes : other.peak_gpu_mem_bytes;
    return *this;
  }
  Attribution& operator+=(const EnergyCharge& c) {
    energy_j += c.energy_j;
    network_energy_j += c.network_energy_j;
    host_energy_j += c.host_energy_j;
    reserved_energy_j += c.reserved_energy_j;
    gpu_s += c.gpu_s;
    reserved_gpu_s += c.reserved_gpu_s;
    restore_energy_j += c.restore_energy_j;
    return *this;
  }
  void copy_to(ReplyRecord& record) const {
    record.energy_j = energy_j;
    record.network_energy_j = network_energy_j;
    record.host_energy_j = host_energy_j;
    record.reserved_energy_j = reserved_energy_j;
    record.gpu_s = gpu_s;
    record.reserved_gpu_s = reserved_gpu_s;
    record.restore_energy_j = restore_energy_j;
    record.flops = flops;
    record.hbm_bytes = hbm_bytes;
    record.net_bytes = net_bytes;
    record.kv_bytes = kv_bytes;
    record.peak_gpu_mem_bytes = peak_gpu_mem_bytes;
  }
};

// A span of time on a timeline track, for trace.json (Chrome/Perfetto trace).
struct TraceSlice {
  std::string track;  // "gpu 3" or a link ("stage 0 -> 1 send")
  std::string name;   // prefill, decode, mixed, all-reduce, send, kv offload, kv restore
  double start_s = 0;
  double duration_s = 0;
  long tokens = 0;
  int sequences = 0;
  double bytes = 0;   // KV transfers: bytes moved
};

struct FailureRecord {
  std::string kind;   // memory, context_limit, fault, slo_ttft, slo_tpot, speech_realtime, unstable_queue
  double time_s = 0;
  std::string cause;
  // What the time went to: compute, memory_bandwidth, network, queueing, capacity.
  std::string cause_class;
};

// Adds `f` to `failures` unless one of its kind comes first (earlier, or at the same
// time with a lesser cause), which it replaces otherwise: one failure per kind, the
// same whatever order they are reported in.
inline void keep_first_failure(std::vector<FailureRecord>& failures, const FailureRecord& f) {
  for (FailureRecord& kept : failures) {
    if (kept.kind != f.kind) continue;
    if (f.time_s < kept.time_s || (f.time_s == kept.time_s && f.cause < kept.cause)) kept = f;
    return;
  }
  failures.push_back(f);
}

// One GPU's meter: what it drew while active. Idle power fills the rest of the run.
// Work done by one or more GPUs, summed over them: GPU-seconds computing, in
// collectives and sends, waiting on the host; HBM bytes; BF16 and FP8 FLOPs (the
// power fit's features).
struct WorkTotals {
  double compute_s = 0, comm_s = 0, host_s = 0;
  double hbm_bytes = 0, bf16_flops = 0, fp8_flops = 0;

  // Adds `other` times `weight` (a GPU count, or the fraction of it inside a window).
  void add(const WorkTotals& other, double weight) {
    compute_s += weight * other.compute_s;
    comm_s += weight * other.comm_s;
    host_s += weight * other.host_s;
    hbm_bytes += weight * other.hbm_bytes;
    bf16_flops += weight * other.bf16_flops;
    fp8_flops += weight * other.fp8_flops;
  }
};

// A stretch of GPU kernels at one power draw: its GPU-seconds and the work the power
// model charges over them. The prediction clips each stretch's power at the board
// limit, so a fit of the power coefficients needs them apart, not summed
// (RunOptions::log_iterations; tools/fit_serving.py).
struct PowerSegment {
  double gpu_s = 0;
  double hbm_bytes = 0, bf16_flops = 0, fp8_flops = 0, fp4_flops = 0;

  // Adds `other` times `weight` (a GPU count, or the fraction of it inside a window).
  void add(const PowerSegment& other, double weight) {
    gpu_s += weight * other.gpu_s;
    hbm_bytes += weight * other.hbm_bytes;
    bf16_flops += weight * other.bf16_flops;
    fp8_flops += weight * other.fp8_flops;
    fp4_flops += weight * other.fp4_flops;
  }
};

struct GpuMeter {
  double active_energy_j = 0;
  double active_time_s = 0;
  double idle_power_w = 0;
  // What the active time was spent on, and the work done (validation features).
  double compute_s = 0, comm_s = 0, host_s = 0;
  double hbm_bytes = 0, bf16_flops = 0, fp8_flops = 0, fp4_flops = 0;
  double clock_compute_s = 0;  // compute_s times the SM clock fraction it ran at
};

struct RunResult {
  ReplyStore replies;                // in order of completion, mostly on disk
  std::vector<FailureRecord> failures;  // engine-detected (memory, context limit)
  std::vector<GpuMeter> gpus;        // the GPUs reserved by the replicas
  std::vector<double> replica_busy_s;  // summed iteration spans per replica
  std::vector<int> replica_gpus;     // GPUs per replica
  // Per replica, the waits charged to nobody: no conversation open on it (before the
  // first, after the last), repairs, and the end of the run after it stopped.
  std::vector<double> replica_unattributed_s;
  std::vector<double> replica_stopped_s;  // when each replica's actor ended
  // KV transfers through host memory and NVMe, in seconds times the fraction of a
  // node's memory or drives they used (the moving replica's GPUs / GPUs per node).
  // Totals over replicas are ExactSums: their bits do not depend on the order in
  // which the replicas' events interleave (nor on which replicas share the process).
  ExactSum dram_active_node_s;
  ExactSum nvme_read_node_s;
  ExactSum nvme_write_node_s;
  double end_s = 0;                  // the reserved span: max(last event, horizon)
  double clock_s = 0;                // the last event (finish_run sets end_s from it)
  double horizon_s = 0;              // the workload's end (conversation duration)
  ExactSum network_energy_j;
  std::vector<TraceSlice> trace;     // only when asked for (RunOptions::trace), capped
  bool trace_truncated = false;
  double trace_truncated_at_s = 0;   // start of the first slice left out
  double trace_from_s = 0;           // the window traced (RunOptions)
  double trace_to_s = 0;
  LogHistogram inter_token_s;        // one sample per decode token: its iteration's span
  // Every iteration, with what its replica's GPUs did in it, summed over them (only
  // when asked for, RunOptions::log_iterations: the validation reads a window).
  struct IterationRecord {
    double start_s = 0, span_s = 0;
    long decode_tokens = 0;
    int gpus = 0;                  // the replica's
    double active_energy_j = 0;    // while computing, communicating or waiting on the host
    double active_s = 0;           // GPU-seconds of that
    WorkTotals work;
    std::vector<PowerSegment> segments;  // the kernels' stretches, summed over each stage's GPUs
  };
  std::vector<IterationRecord> iteration_log;
  GpuTimeline timeline{0, 0.25};     // per GPU over time, for gpus.csv
  long iterations = 0;
  long decode_iterations = 0;        // iterations that carried at least one decode token
  ExactSum decode_tokens;            // decode tokens over those iterations
  long activities = 0;
  long replicas_on_own_clock = 0;    // replicas that ran ahead of SimGrid's clock (ReplicaClock)
  long kv_evictions = 0;
  long preemptions = 0;              // sequences preempted for KV blocks and recomputed
  long faults_applied = 0;           // losses of GPUs or nodes that took a replica down
  long kv_offloads = 0;              // caches moved out of HBM (between turns or evicted)
  long kv_restores = 0;              // caches brought back for a turn
  long kv_tier_drops = 0;            // caches that fit in no tier and were lost
  ExactSum kv_transfer_bytes;        // moved between HBM and host memory or NVMe
  ExactSum kv_handoff_bytes;        // disaggregated prefill: KV caches sent to decode replicas
  // Prefix caches (serving.prefix_caching), all replicas: the blocks and tokens of
  // the contexts looked up, those found (in HBM, restored ones included), the
  // blocks evicted from HBM, those of them moved to host memory or NVMe, and those
  // read back from there.
  long prefix_lookup_blocks = 0;
  long prefix_hit_blocks = 0;
  long prefix_lookup_tokens = 0;
  long prefix_hit_tokens = 0;
  long prefix_evicted_blocks = 0;
  long prefix_demoted_blocks = 0;
  long prefix_restored_blocks = 0;
  double wall_s = 0;
};

}  // namespace convsim
