#pragma once
// What a serving engine adds to the GPU's work, and what it decides by default:
// the data of a profile in models/catalog/engines/*.yaml. How an engine uses it
// (whether its CPU side overlaps the GPU, whether it pipelines prefill chunks) is
// its implementation's (sim/engine/serving_engine.hpp).

#include <map>
#include <string>
#include <vector>

namespace convsim {

// How the engine all-reduces inside an NVSwitch node: its own one-shot/two-shot
// kernels (vLLM's custom all-reduce, TensorRT-LLM's AUTO strategy, SGLang's custom
// all-reduce) for buffers they take, NCCL's ring beyond; or NCCL's ring everywhere.
enum class EngineAllReduce { custom, nccl };

// Torch symmetric-memory all-reduce on the GPUs of one architecture (vLLM's
// SymmMemCommunicator, VLLM_ALLREDUCE_USE_SYMM_MEM): with it on, the custom kernels
// take buffers below custom_max_bytes, symmetric memory those below max_bytes
// (multimem, the NVSwitch reducing, at multimem_world_sizes; two-shot at the
// others), NCCL the rest. Both limits are by TP world size; a world size not listed
// leaves symmetric memory off (the custom kernels keep their own limit).
struct SymmMemAllReduce {
  std::vector<std::string> gpus;           // GPU presets of the architecture
  std::map<int, double> custom_max_bytes;  // TP world size -> bytes
  std::map<int, double> max_bytes;         // TP world size -> bytes
  std::vector<int> multimem_world_sizes;
};

// The engines convsim has an implementation of (sim/engine/serving_engine.hpp's
// registry holds one per name; a test checks that they agree).
inline constexpr const char* kEngineNames[] = {"vllm", "sglang", "trtllm"};

// An engine's CPU-side time of one iteration: iteration_host_s + host_s_per_sequence *
// scheduled sequences.
struct EngineHostTime {
  double iteration_host_s = 0;
  double host_s_per_sequence = 0;
};

struct EngineProfile {
  std::string name = "vllm";
  std::string description;
  // CPU-side time of one iteration: scheduling, input preparation, sampling,
  // detokenisation and output processing. It runs on the host, so it does not
  // scale with the GPU: iteration_host_s + host_s_per_sequence * scheduled sequences.
  double iteration_host_s = 0;
  double host_s_per_sequence = 0;
  // The same two figures on the GPU presets named here, where the engine takes a
  // different host path on them: vLLM picks its attention backend by the GPU's
  // architecture (FlashAttention on Hopper, FlashInfer, whose metadata is planned on
  // the host each step, on Blackwell). Other GPUs take the two figures above.
  std::map<std::string, EngineHostTime> host_by_gpu;
  // Where the per-sequence time is spent. On the GPU when the engine overlaps its
  // CPU side with the previous step (vLLM's asynchronous scheduling): what stays
  // exposed per sequence is then GPU work (sampling over the vocabulary with its
  // penalties, input preparation), elementwise kernels that stream HBM at the
  // memory roof; the GPU draws busy power at that rate, not its host-wait power.
  bool per_sequence_on_gpu = false;
  // Decode-only batches run as CUDA graphs captured at these sizes: a batch of n is
  // padded to the smallest capture size >= n; above the largest, kernels are
  // launched one by one, each paying eager_launch_s more.
  std::vector<int> cuda_graph_batch_sizes;
  double eager_launch_s = 0;
  // Defaults where the scenario does not say.
  int default_max_batch_seqs = 256;
  long default_prefill_chunk_tokens = 8192;
  EngineAllReduce allreduce = EngineAllReduce::custom;
  // Symmetric-memory all-reduce, by GPU architecture (none: off everywhere).
  std::vector<SymmMemAllReduce> symm_mem_allreduce;
  // Fixed time of one MoE dispatch or combine kernel (expert parallelism beyond the
  // TP group), before its bytes: what all-to-all kernels take for a single token.
  double moe_all_to_all_kernel_s = 0;
  // Expert parallelism: true when every GPU's fused-experts kernels pass over all of
  // the batch's token x top-k rows, those routed to other GPUs' experts included
  // (see Sharding::moe_kernels_see_all_rows); false when only its own experts' rows
  // reach them. YAML: moe_expert_rows: all | local.
  bool moe_kernels_see_all_rows = false;
  // FP8/FP4 weights on their own tensor cores take FP8/FP4 inputs: true when the
  // engine quantises each such matmul's BF16 input in a kernel of its own (one
  // elementwise pass: see Sharding::input_quant_bytes); false when the kernel that
  // produces the input writes it quantised (a fused norm, activation or attention
  // epilogue), which costs nothing extra. YAML: activation_quantisation: separate | fused.
  bool separate_activation_quant = false;
  // Whether the engine's prefix cache serves models with SSM (Mamba) layers. Reusing
  // a cached prefix needs the recurrent state at its end as well as its KV blocks;
  // an engine that keeps no such snapshots serves these models without prefix
  // caching. YAML: ssm_prefix_caching: cached | disabled.
  bool caches_ssm_prefixes = false;
  std::string fitted_by;  // the command that produced the fitted figures, if any
  std::vector<std::string> sources;

  // This profile as it runs on GPU preset `gpu`: its host figures are that GPU's entry
  // in host_by_gpu, where there is one.
  EngineProfile on_gpu(const std::string& gpu) const;

  // The symmetric-memory limits on GPU preset `gpu`, or nullptr where it is off.
  const SymmMemAllReduce* symm_mem_on(const std::string& gpu) const;

  // The CUDA-graph batch a decode batch of n sequences runs as (n itself above the
  // largest capture size, or with no graphs).
  long padded_decode_batch(long n) const;
  bool runs_eager(long n) const { return cuda_graph_batch_sizes.empty() || n > cuda_graph_batch_sizes.back(); }
};

}  // namespace convsim
