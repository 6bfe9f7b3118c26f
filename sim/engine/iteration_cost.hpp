#pragma once
// The cost of one iteration on one replica, stage by stage, before it runs on the
// platform: compute time and power from the roofline and power models, and the
// communication it will put on the network. Pure: no SimGrid.

#include <algorithm>
#include <vector>

#include "models/cap_governor.hpp"
#include "models/power.hpp"
#include "models/roofline.hpp"
#include "models/transformer_cost.hpp"
#include "sim/cluster/collectives.hpp"
#include "sim/scenario/scenario.hpp"

namespace convsim {

struct StageCost {
  StageWork work;           // per GPU of the stage
  double mean_gpu_hbm_bytes = 0;  // work.mean_gpu_hbm_bytes(), summed once
  StageTiming timing;       // per GPU of the stage
  double busy_power_w = 0;  // during timing.compute_s
  double clock_fraction = 1;  // of the maximum SM clock, under a power cap (models/cap_governor.hpp)
  WorkRates rates;          // of timing.compute_s (zero when it is 0), from which busy_power_w
  AllReducePlan allreduce;          // algorithm of this stage's all-reduces
  double collective_latency_s = 0;  // allreduces * latency steps * hop latency
  double allreduce_bandwidth_s = 0; // uncontended: allreduces * per-port bytes / bandwidth
  double send_s = 0;                // uncontended: latency + bytes / bandwidth to the next stage
  double ring_exposed_s = 0;        // ring attention beyond the attention kernels it overlaps
  double all_to_all_s = 0;          // uncontended: wide-EP dispatch and combine
  double communication_s() const {
    return collective_latency_s + allreduce_bandwidth_s + send_s + ring_exposed_s + all_to_all_s;
  }
};

struct IterationCost {
  std::vector<StageCost> stages;
  double uncontended_s = 0;  // sum over stages of compute, collectives and sends
  double floor_s = 0;        // sum over stages of the roofline floor (stages run in turn)
  double flops = 0;          // all GPUs of the replica
  double hbm_bytes = 0;      // all GPUs of the replica
};

// The iteration's work cut into at most `count` micro-batches of about equal new
// tokens, in order: a prefill chunk may be cut (its later part sees the earlier as
// context; only the last part carries its logit tokens), a decode token is not.
std::vector<std::vector<SequenceWork>> split_micro_batches(const std::vector<SequenceWork>& batch, int count);

// Sharding::input_quant_bytes of weights in `weights` on tensor-core paths `paths`
// served by `engine`: the weights' element bytes (scales included) where their
// matmuls run on FP8/FP4 tensor cores and the engine quantises inputs apart, else 0.
double input_quant_bytes(const EngineProfile& engine, const TensorCorePaths& paths, Precision weights);

class CostModel {
 public:
  explicit CostModel(const Scenario& scenario);  // kept by reference: it must outlive the model
  explicit CostModel(Scenario&&) = delete;

  // The iteration as the serving engine runs it: a decode-only batch padded to its
  // CUDA-graph size, or launched kernel by kernel above the largest one.
  IterationCost iteration(const std::vector<SequenceWork>& batch) const;
  // The same written into `out`, whose stage vector keeps its capacity: a cost
  // reused from iteration to iteration allocates nothing.
  void iteration_into(const std::vector<SequenceWork>& batch, IterationCost& out) const;

  // Each sequence's share of an iteration's work, summing to 1: the weights read
  // once for the batch and the matmuls are split by tokens; a sequence's own
  // attention FLOPs and KV-cache reads count for it alone (with sparse attention:
  // top_k pairs per query and top_k latents read, the indexer's score of every
  // visible token and every index key read); FLOPs and bytes are weighed by the
  // GPU's peak and bandwidth.
  std::vector<double> work_shares(const std::vector<SequenceWork>& batch) const;
  // The same written into `out` (its capacity kept).
  void work_shares_into(const std::vector<SequenceWork>& batch, std::vector<double>& out) const;
  // The same, given the batch's new tokens (their sum).
  void work_shares_into(const std::vector<SequenceWork>& batch, long new_tokens, std::vector<double>& out) const;

  // Memory of the busiest GPU: weights, KV cache using `kv_units` of the pool (see
  // KvMemory), activations of an iteration of `iteration_tokens`, and the workspace.
  double gpu_memory_bytes(long kv_units, long iteration_tokens) const;

  // Whether every GPU has room for some KV cache once weights (a speculative draft's
  // included), the activations of a full iteration and the workspace are reserved.
  bool weights_fit() const;

  // KV-pool units (KvMemory::kUnitsPerPool for the whole pool) that one sequence of
  // `tokens` tokens holds: the largest over stages of its KV and state bytes divided
  // by that stage's free memory.
  long kv_footprint_units(long tokens) const;

  // Free memory per GPU of the tightest stage, in bytes (for messages).
  double kv_pool_bytes_min() const;
  // What fills a GPU of the tightest stage before any KV cache: its weights, the
  // activations of the largest iteration (prefill_chunk_tokens + max_batch_seqs
  // tokens) and the engine's workspace.
  struct FixedMemory {
    double weights_bytes = 0, activation_bytes = 0, workspace_bytes = 0;
    long iteration_tokens = 0;
    double total() const { return weights_bytes + activation_bytes + workspace_bytes; }
  };
  FixedMemory fixed_memory_tightest() const;

  double weight_bytes_per_gpu_max() const;
  // Whole-model KV bytes of a sequence of `tokens` tokens (all GPUs of a replica).
  double kv_bytes_for(double tokens) const { return model_sequence_.at(tokens, window_tokens_); }
  // Whether stage s and s+1 sit on different nodes (the send crosses the scale-out fabric).
  bool send_crosses_nodes(int stage) const;
  // Whether every tensor-parallel group lies inside one node.
  bool tp_inside_node() const;
  // What the TP groups' all-reduces may use (plan_allreduce): the engine's kernels
  // inside NVSwitch nodes, its symmetric-memory limits on this GPU where it has them
  // and the fabric's switches reduce.
  const AllReduceRoute& allreduce_route() const { return allreduce_route_; }

 private:
  // Bytes one sequence holds on a GPU of a stage: full_per_token * tokens +
  // window_per_token * min(tokens, window) + fixed (state-space states).
  struct SequenceBytes {
    double full_per_token = 0;
    double window_per_token = 0;
    double fixed = 0;
    double at(double tokens, double window) const {
      return full_per_token * tokens + window_per_token * std::min(tokens, window) + fixed;
    }
  };
  static SequenceBytes sequence_bytes_of(const ModelSpec& model, Precisions precisions, Sharding sharding);

  // `batch` followed by `padding_rows` CUDA-graph padding rows (see shape_of).
  void iteration_of(const std::vector<SequenceWork>& batch, long padding_rows, bool eager, IterationCost& out) const;
  // serving.speculative: the draft's weights and per-sequence KV added to the first
  // stage's (sim/engine/speculative.hpp).
  void add_draft_memory();
  const Scenario& scenario_;
  CapGovernor governor_;  // under a power cap, the clock of each stage
  Sharding sharding(int stage) const;
  double free_bytes(int stage) const;
  std::vector<std::vector<LayerRun>> stage_runs_;  // per stage: its layers, walked once
  AllReduceRoute allreduce_route_;  // see allreduce_route()
  std::vector<SequenceBytes> stage_sequence_;  // per stage, per GPU
  std::vector<double> stage_free_bytes_;
  std::vector<double> stage_weight_bytes_;  // per GPU of each stage, a speculative draft's included
  SequenceBytes model_sequence_;  // whole model, all GPUs
  double window_tokens_ = 0;  // the model's window, for kv_bytes_for
  StagePeaks peaks_;  // of the scenario's GPU for its weights
  TensorCorePaths paths_;  // likewise
  struct ShareConstants {  // for work_shares: times of the whole model on one GPU
    double bandwidth = 0;
    double weights_s = 0;
    double per_token_s = 0;
    double attention_s_per_pair = 0;
    // Sparse attention (DSA): each query attends to top_k tokens while the indexer
    // scores every visible one and reads every cached index key.
    double top_k = 0;  // 0: dense
    double indexer_s_per_pair = 0;
    double index_key_bytes_per_token = 0;  // all layers
  } share_;
};

}  // namespace convsim
