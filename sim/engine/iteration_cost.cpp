#include "sim/engine/iteration_cost.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "models/power.hpp"
#include "sim/cluster/collectives.hpp"

namespace convsim {

CostModel::CostModel(const Scenario& scenario) : scenario_(scenario) {
  kv_bytes_per_token_ = convsim::kv_bytes_per_token(scenario.model.spec, element_bytes(scenario.model.kv_cache));
}

Sharding CostModel::sharding(int stage) const {
  return Sharding{scenario_.parallelism.tp, scenario_.parallelism.pp, stage};
}

bool CostModel::tp_inside_node() const {
  return scenario_.cluster.gpus_per_node % scenario_.parallelism.tp == 0;
}

bool CostModel::send_crosses_nodes(int stage) const {
  const int tp = scenario_.parallelism.tp;
  const int g = scenario_.cluster.gpus_per_node;
  return (stage * tp) / g != ((stage + 1) * tp) / g;
}

IterationCost CostModel::iteration(const std::vector<SequenceWork>& batch) const {
  IterationCost cost;
  const ModelChoice& model = scenario_.model;
  const GpuSpec& gpu = scenario_.cluster.gpu;
  const int tp = scenario_.parallelism.tp;
  for (int s = 0; s < scenario_.parallelism.pp; ++s) {
    StageCost stage;
    stage.work = stage_work(model.spec, Precisions{model.weights, model.kv_cache}, sharding(s), batch);
    stage.timing = stage_time(gpu, model.weights, stage.work);
    const double t = stage.timing.compute_s;
    const double memory_utilisation = t > 0 ? stage.work.hbm_bytes() / (t * gpu.hbm_bytes_per_s) : 0.0;
    const double compute_utilisation = t > 0 ? stage.work.flops() / (t * gpu.peak_for(model.weights)) : 0.0;
    stage.busy_power_w = busy_power_w(gpu, memory_utilisation, compute_utilisation);
    const FabricSpec& up = scenario_.cluster.scale_up;
    // A TP group inside one node sits on the NVLink switch: every GPU reaches every
    // other directly.
    stage.allreduce = plan_allreduce(tp, stage.work.allreduce_buffer_bytes, tp_inside_node());
    stage.collective_latency_s = stage.work.allreduces * stage.allreduce.latency_steps * up.latency_s;
    stage.allreduce_bandwidth_s = stage.allreduce.port_bytes * stage.work.allreduces / up.bandwidth_bytes_per_s;
    if (stage.work.send_bytes > 0) {
      const FabricSpec& f = send_crosses_nodes(s) ? scenario_.cluster.scale_out : up;
      stage.send_s = f.latency_s + stage.work.send_bytes / tp / f.bandwidth_bytes_per_s;
    }
    cost.uncontended_s += t + stage.collective_latency_s + stage.allreduce_bandwidth_s + stage.send_s;
    cost.floor_s += stage.timing.floor_s;
    cost.flops += stage.work.flops() * tp;
    cost.hbm_bytes += stage.work.hbm_bytes() * tp;
    cost.stages.push_back(stage);
  }
  return cost;
}

double CostModel::gpu_memory_bytes(long kv_tokens, long iteration_tokens) const {
  double worst = 0;
  for (int s = 0; s < scenario_.parallelism.pp; ++s) {
    const Sharding sh = sharding(s);
    const double bytes = stage_weight_bytes(scenario_.model.spec, scenario_.model.weights, sh) +
                         static_cast<double>(kv_tokens) *
                             stage_kv_bytes_per_token(scenario_.model.spec, scenario_.model.kv_cache, sh) +
                         activation_bytes(scenario_.model.spec, sh.tp, iteration_tokens) +
                         scenario_.serving.workspace_bytes_per_gpu;
    worst = std::max(worst, bytes);
  }
  return worst;
}

double CostModel::weight_bytes_per_gpu_max() const {
  double worst = 0;
  for (int s = 0; s < scenario_.parallelism.pp; ++s) {
    worst = std::max(worst, stage_weight_bytes(scenario_.model.spec, scenario_.model.weights, sharding(s)));
  }
  return worst;
}

long CostModel::kv_capacity_tokens() const {
  const long iteration_tokens = scenario_.serving.prefill_chunk_tokens + scenario_.serving.max_batch_seqs;
  double capacity = std::numeric_limits<double>::max();
  for (int s = 0; s < scenario_.parallelism.pp; ++s) {
    const Sharding sh = sharding(s);
    const double free_bytes = scenario_.cluster.gpu.hbm_bytes -
                              stage_weight_bytes(scenario_.model.spec, scenario_.model.weights, sh) -
                              activation_bytes(scenario_.model.spec, sh.tp, iteration_tokens) -
                              scenario_.serving.workspace_bytes_per_gpu;
    capacity = std::min(capacity, free_bytes / stage_kv_bytes_per_token(scenario_.model.spec, scenario_.model.kv_cache, sh));
  }
  return static_cast<long>(std::floor(capacity));
}

}  // namespace convsim
