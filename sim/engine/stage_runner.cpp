#include "sim/engine/stage_runner.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "models/power.hpp"
#include "sim/cluster/collectives.hpp"

namespace sg4 = simgrid::s4u;

namespace convsim {
namespace {

// Ring flows i -> i+1 inside each consecutive group of `size` GPUs of `gpus`,
// taking every `stride`-th GPU from `offset` (a TP group: stride 1; a CP ring of
// TP rank t: offset t, stride tp).
void add_rings(std::vector<std::pair<int, int>>& flows, const std::vector<int>& gpus, int size, int stride,
               int offset) {
  if (size <= 1) return;
  for (int i = 0; i < size; ++i) {
    flows.emplace_back(gpus[static_cast<std::size_t>(offset + i * stride)],
                       gpus[static_cast<std::size_t>(offset + ((i + 1) % size) * stride)]);
  }
}

}  // namespace

std::vector<std::vector<int>> replica_stage_gpus(const ParallelismSpec& layout, const ParallelismSpec& whole,
                                                 int first_rank) {
  std::vector<std::vector<int>> stages(static_cast<std::size_t>(layout.pp));
  const int width = layout.stage_gpus();
  for (int s = 0; s < layout.pp; ++s) {
    for (int r = 0; r < width; ++r) stages[static_cast<std::size_t>(s)].push_back(whole.gpu_of(first_rank + s * width + r));
  }
  return stages;
}

IterationRunner::IterationRunner(const Scenario& scenario, const ParallelismSpec& layout, const Platform& platform,
                                 std::vector<std::vector<int>> stage_gpus, std::string name)
    : scenario_(scenario),
      layout_(layout),
      platform_(platform),
      stage_gpus_(std::move(stage_gpus)),
      name_(std::move(name)) {
  const int tp = layout.tp, width = layout.stage_gpus();
  for (int s = 0; s < layout.pp; ++s) {
    const std::vector<int>& gpus = stage_gpus_[static_cast<std::size_t>(s)];
    std::vector<std::pair<int, int>> allreduce_flows, ring_flows, a2a_flows, send_flows;
    for (int g = 0; g < width / tp; ++g) add_rings(allreduce_flows, gpus, tp, 1, g * tp);
    if (layout.cp > 1) {
      for (int t = 0; t < tp; ++t) add_rings(ring_flows, gpus, layout.cp, tp, t);
    }
    if (layout.ep > tp) {
      for (int a : gpus) {
        for (int b : gpus) {
          if (a != b) a2a_flows.emplace_back(a, b);
        }
      }
    }
    if (s + 1 < layout.pp) {
      for (int r = 0; r < width; ++r) {
        send_flows.emplace_back(gpus[static_cast<std::size_t>(r)], stage_gpus_[static_cast<std::size_t>(s + 1)][static_cast<std::size_t>(r)]);
      }
    }
    patterns_.push_back({make_pattern(allreduce_flows), make_pattern(ring_flows), make_pattern(a2a_flows),
                         make_pattern(send_flows)});
  }
}

IterationRunner::Pattern IterationRunner::make_pattern(std::vector<std::pair<int, int>> flows) const {
  Pattern pattern;
  flows.erase(std::remove_if(flows.begin(), flows.end(), [](const auto& f) { return f.first == f.second; }),
              flows.end());
  std::map<const sg4::Link*, double> load;  // flows crossing each link
  for (const auto& [a, b] : flows) {
    std::vector<sg4::Link*> route;
    double latency_s = 0;
    platform_.gpus[static_cast<std::size_t>(a)]->route_to(platform_.gpus[static_cast<std::size_t>(b)], route,
                                                            &latency_s);
    pattern.latency_s = std::max(pattern.latency_s, latency_s);
    for (const sg4::Link* link : route) load[link] += 1.0;
    pattern.energy_j_per_flow_byte += route_energy_j_per_byte(scenario_.cluster, platform_, a, b);
  }
  for (const auto& [link, flows_on_link] : load) {
    pattern.seconds_per_flow_byte = std::max(pattern.seconds_per_flow_byte, flows_on_link / link->get_bandwidth());
  }
  pattern.flows = std::move(flows);
  return pattern;
}

std::vector<const sg4::Link*> IterationRunner::links() const {
  std::set<const sg4::Link*> links;
  for (const auto& stage : patterns_) {
    for (const Pattern& pattern : stage) {
      for (const auto& [a, b] : pattern.flows) {
        std::vector<sg4::Link*> route;
        double latency_s = 0;
        platform_.gpus[static_cast<std::size_t>(a)]->route_to(platform_.gpus[static_cast<std::size_t>(b)], route,
                                                                &latency_s);
        links.insert(route.begin(), route.end());
      }
    }
  }
  return {links.begin(), links.end()};
}

double IterationRunner::run_phase(Kind kind, const std::vector<int>& stages, const std::vector<double>& bytes,
                                  double overlap_s, double extra_s, IterationRun& run,
                                  const std::vector<double>* carried) {
  double latency_s = 0, bandwidth_s = 0;
  std::vector<Flow> flows;
  for (int s : stages) {
    const double each = bytes[static_cast<std::size_t>(s)];
    const Pattern& pattern = patterns_[static_cast<std::size_t>(s)][kind];
    if (each <= 0 || pattern.flows.empty()) continue;
    latency_s = std::max(latency_s, pattern.latency_s);
    bandwidth_s = std::max(bandwidth_s, each * pattern.seconds_per_flow_byte);
    const double moved = carried != nullptr ? each * (*carried)[static_cast<std::size_t>(s)] : each;
    run.net_bytes += moved * static_cast<double>(pattern.flows.size());
    run.network_energy_j += moved * pattern.energy_j_per_flow_byte;
    if (exclusive_) continue;
    for (const auto& [a, b] : pattern.flows) {
      flows.push_back(Flow{platform_.gpus[static_cast<std::size_t>(a)], platform_.gpus[static_cast<std::size_t>(b)], each});
    }
  }
  const bool moves = bandwidth_s > 0 || latency_s > 0;
  if (!moves) extra_s = 0;
  if (exclusive_) return std::max(overlap_s, moves ? latency_s + bandwidth_s + extra_s : 0.0);
  const double start_s = sg4::Engine::get_clock();
  sg4::ExecPtr task = moves ? start_flows(flows) : nullptr;
  if (task) ++run.activities;
  if (overlap_s > 0) {
    alarm_.sleep_for(overlap_s);
    ++run.activities;
  }
  double end_s = start_s + overlap_s;
  if (task) {
    task->wait();
    end_s = std::max(end_s, task->get_finish_time() + extra_s);
  }
  if (end_s > sg4::Engine::get_clock()) {
    alarm_.sleep_until(end_s);
    ++run.activities;
  }
  return sg4::Engine::get_clock() - start_s;
}

const IterationRun& IterationRunner::run(double start_s, const std::vector<IterationCost>& micro,
                                         const std::function<double(int)>& slowdown, const char* kind,
                                         const std::function<void(TraceSlice)>* trace, double host_s,
                                         double sequence_gpu_s) {
  const int p = layout_.pp, m = static_cast<int>(micro.size());
  const std::size_t stages = static_cast<std::size_t>(p);
  const double comm_w = communication_power_w(scenario_.cluster.gpu);
  IterationRun& run = run_;
  run.reset(stages);
  double t = 0;  // since start_s
  // Per stage, reused from iteration to iteration: each step below writes an active
  // stage's entries before reading them, so they need no clearing.
  Scratch& x = scratch_;
  if (x.factor.size() != stages) {
    for (std::vector<double>* v : {&x.factor, &x.ar_bytes, &x.ar_carried, &x.ring_bytes, &x.a2a_bytes,
                                   &x.send_bytes, &x.own_pre_s, &x.own_attention_s}) {
      v->assign(stages, 0.0);
    }
  }
  std::vector<double>& factor = x.factor;
  std::vector<double>& ar_bytes = x.ar_bytes;
  std::vector<double>& ar_carried = x.ar_carried;
  std::vector<double>& ring_bytes = x.ring_bytes;
  std::vector<double>& a2a_bytes = x.a2a_bytes;
  std::vector<double>& send_bytes = x.send_bytes;
  std::vector<double>& own_pre_s = x.own_pre_s;
  std::vector<double>& own_attention_s = x.own_attention_s;
  for (int s = 0; s < p; ++s) factor[static_cast<std::size_t>(s)] = slowdown(s);
  if (host_s > 0 || sequence_gpu_s > 0) {  // the engine schedules and launches before any GPU works
    const GpuSpec& gpu = scenario_.cluster.gpu;
    const double host_w = host_wait_power_w(gpu);
    WorkRates streaming;  // the per-sequence kernels: elementwise over the vocabulary, memory-bound
    streaming.hbm_bytes_per_s = gpu.hbm_bytes_per_s * gpu.efficiency.memory;
    const double streaming_w = sequence_gpu_s > 0 ? busy_power_w(gpu, streaming) : 0.0;
    for (std::size_t s = 0; s < stages; ++s) {
      StageActivity& a = run.stages[s];
      a.host_s += host_s;
      a.energy_j += host_s * host_w;
      if (s + 1 == stages) {  // the last stage computes the logits and samples
        a.compute_s += sequence_gpu_s;
        a.clock_compute_s += sequence_gpu_s * gpu.compute_clock_fraction;
        a.hbm_bytes += sequence_gpu_s * streaming.hbm_bytes_per_s;
        a.energy_j += sequence_gpu_s * streaming_w;
        if (record_segments_) {
          PowerSegment seg;
          seg.gpu_s = sequence_gpu_s;
          seg.hbm_bytes = sequence_gpu_s * streaming.hbm_bytes_per_s;
          run.segments.emplace_back(s, seg);
        }
      } else {
        a.host_s += sequence_gpu_s;
        a.energy_j += sequence_gpu_s * host_w;
      }
    }
    if (!exclusive_) {
      alarm_.sleep_for(host_s + sequence_gpu_s);
      ++run.activities;
    }
    t += host_s + sequence_gpu_s;
  }

  for (int k = 0; k < m + p - 1; ++k) {
    std::vector<int>& active = x.active;
    active.clear();
    double pre_s = 0, attention_s = 0, ring_extra_s = 0;
    for (int s = std::max(0, k - m + 1); s <= std::min(k, p - 1); ++s) {
      const std::size_t i = static_cast<std::size_t>(s);
      const StageCost& c = micro[static_cast<std::size_t>(k - s)].stages[i];
      const Pattern* pat = patterns_[i].data();
      active.push_back(s);
      const double compute_s = c.timing.compute_s * factor[i];
      const double attention =
          layout_.cp > 1 ? c.timing.by_class[static_cast<int>(KernelClass::attention)].time_s * factor[i] : 0.0;
      // Latency steps beyond the one each phase's task pays.
      const double ar_steps = c.allreduce.port_bytes > 0 ? c.work.allreduces * c.allreduce.latency_steps - 1.0 : 0.0;
      const double a2a_steps = c.work.all_to_all_bytes > 0 ? c.work.all_to_alls - 1.0 : 0.0;
      const double ring_steps = c.work.ring_bytes > 0 ? c.work.ring_steps - 1.0 : 0.0;
      const double a2a_kernels_s =
          c.work.all_to_all_bytes > 0 ? c.work.all_to_alls * scenario_.serving.engine.moe_all_to_all_kernel_s : 0.0;
      const double extra_s = ar_steps * pat[allreduce].latency_s + a2a_steps * pat[all_to_all].latency_s + a2a_kernels_s;
      own_pre_s[i] = compute_s - attention + extra_s;
      own_attention_s[i] = attention;
      pre_s = std::max(pre_s, own_pre_s[i]);
      attention_s = std::max(attention_s, attention);
      ring_extra_s = std::max(ring_extra_s, ring_steps * pat[ring].latency_s);
      ar_bytes[i] = c.allreduce.link_time_bytes() * c.work.allreduces;
      ar_carried[i] = c.allreduce.link_rate_fraction;
      ring_bytes[i] = c.work.ring_bytes;
      a2a_bytes[i] = layout_.ep > layout_.tp ? c.work.all_to_all_bytes / (layout_.ep - 1) : 0.0;
      send_bytes[i] = s + 1 < p ? c.work.send_bytes / layout_.tp : 0.0;
      StageActivity& a = run.stages[i];
      a.compute_s += compute_s;
      a.clock_compute_s += compute_s * c.clock_fraction;
      a.comm_s += extra_s;
      if (c.timing.compute_s > 0) {
        const WorkRates& rates = c.rates;  // work_rates of c.timing.compute_s
        a.hbm_bytes += c.mean_gpu_hbm_bytes;
        a.bf16_flops += rates.bf16_flops_per_s * c.timing.compute_s;
        a.fp8_flops += rates.fp8_flops_per_s * c.timing.compute_s;
        a.fp4_flops += rates.fp4_flops_per_s * c.timing.compute_s;
        if (record_segments_) {
          PowerSegment seg;
          seg.gpu_s = compute_s;
          seg.hbm_bytes = c.mean_gpu_hbm_bytes;
          seg.bf16_flops = rates.bf16_flops_per_s * c.timing.compute_s;
          seg.fp8_flops = rates.fp8_flops_per_s * c.timing.compute_s;
          seg.fp4_flops = rates.fp4_flops_per_s * c.timing.compute_s;
          run.segments.emplace_back(i, seg);
        }
      }
      a.energy_j += compute_s * c.busy_power_w + extra_s * comm_w;
    }
    const double tick_s = t;
    if (!exclusive_ && pre_s > 0) {
      alarm_.sleep_for(pre_s);
      ++run.activities;
    }
    t += pre_s;
    // Ring attention passes its blocks while attention computes.
    const double ring_s = layout_.cp > 1 ? run_phase(ring, active, ring_bytes, attention_s, ring_extra_s, run) : 0.0;
    t += ring_s;
    const double ar_s = run_phase(allreduce, active, ar_bytes, 0, 0, run, &ar_carried);
    t += ar_s;
    const double a2a_s = layout_.ep > layout_.tp ? run_phase(all_to_all, active, a2a_bytes, 0, 0, run) : 0.0;
    t += a2a_s;
    const double send_s = p > 1 ? run_phase(send, active, send_bytes, 0, 0, run) : 0.0;
    t += send_s;

    for (int s : active) {
      const std::size_t i = static_cast<std::size_t>(s);
      StageActivity& a = run.stages[i];
      const double waits_s = (ring_bytes[i] > 0 ? ring_s - own_attention_s[i] : 0.0) + (ar_bytes[i] > 0 ? ar_s : 0.0) +
                             (a2a_bytes[i] > 0 ? a2a_s : 0.0) + (send_bytes[i] > 0 ? send_s : 0.0);
      a.comm_s += waits_s;
      a.energy_j += waits_s * comm_w;
      if (!trace) continue;
      const long tokens = static_cast<long>(micro[static_cast<std::size_t>(k - s)].stages[i].work.tokens);
      const double at_s = start_s + tick_s;
      for (int gpu : stage_gpus_[i]) {
        const std::string track = fmt::format("gpu {}", gpu);
        (*trace)({track, std::string(kind), at_s, own_pre_s[i] + own_attention_s[i], tokens, 0});
        if (ring_bytes[i] > 0) (*trace)({track, "ring attention", at_s + pre_s, ring_s, tokens, 0});
        if (ar_bytes[i] > 0) (*trace)({track, "all-reduce", at_s + pre_s + ring_s, ar_s, tokens, 0});
        if (a2a_bytes[i] > 0) (*trace)({track, "all-to-all", at_s + pre_s + ring_s + ar_s, a2a_s, tokens, 0});
      }
      if (send_bytes[i] > 0) {
        (*trace)({fmt::format("{} stage {} -> {}", name_, s, s + 1), "send", at_s + pre_s + ring_s + ar_s + a2a_s,
                  send_s, tokens, 0});
      }
    }
  }
  if (exclusive_ && t > 0) ++run.activities;  // the caller's one timed wait
  run.span_s = exclusive_ ? t : sg4::Engine::get_clock() - start_s;
  return run;
}

}  // namespace convsim
