#pragma once
// The cost of one iteration on one replica, stage by stage, before it runs on the
// platform: compute time and power from the roofline and power models, and the
// communication it will put on the network. Pure: no SimGrid.

#include <vector>

#include "models/roofline.hpp"
#include "models/transformer_cost.hpp"
#include "sim/cluster/collectives.hpp"
#include "sim/scenario/scenario.hpp"

namespace convsim {

struct StageCost {
  StageWork work;           // per GPU of the stage
  StageTiming timing;       // per GPU of the stage
  double busy_power_w = 0;  // during timing.compute_s
  AllReducePlan allreduce;          // algorithm of this stage's all-reduces
  double collective_latency_s = 0;  // allreduces * latency steps * hop latency
  double allreduce_bandwidth_s = 0; // uncontended: allreduces * per-port bytes / bandwidth
  double send_s = 0;                // uncontended: latency + bytes / bandwidth to the next stage
};

struct IterationCost {
  std::vector<StageCost> stages;
  double uncontended_s = 0;  // sum over stages of compute, collectives and sends
  double floor_s = 0;        // sum over stages of the roofline floor (stages run in turn)
  double flops = 0;          // all GPUs of the replica
  double hbm_bytes = 0;      // all GPUs of the replica
};

class CostModel {
 public:
  explicit CostModel(const Scenario& scenario);

  IterationCost iteration(const std::vector<SequenceWork>& batch) const;

  // Memory of the busiest GPU: weights, KV cache of `kv_tokens`, activations of an
  // iteration of `iteration_tokens`, and the workspace reserve.
  double gpu_memory_bytes(long kv_tokens, long iteration_tokens) const;

  // KV-cache tokens a replica can hold: the smallest over stages of free memory
  // divided by KV bytes per token, with activations of a full iteration reserved.
  // Negative when the weights alone do not fit.
  long kv_capacity_tokens() const;

  double weight_bytes_per_gpu_max() const;
  // Whole-model KV bytes of one token.
  double kv_bytes_per_token() const { return kv_bytes_per_token_; }
  // Whether stage s and s+1 sit on different nodes (the send crosses the scale-out fabric).
  bool send_crosses_nodes(int stage) const;
  // Whether every tensor-parallel group lies inside one node.
  bool tp_inside_node() const;

 private:
  const Scenario& scenario_;
  Sharding sharding(int stage) const;
  double kv_bytes_per_token_ = 0;
};

}  // namespace convsim
