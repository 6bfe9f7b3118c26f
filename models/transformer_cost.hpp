#pragma once
// FLOPs and HBM bytes of one iteration of a decoder-only transformer on one GPU of
// one pipeline stage, by kernel class. An iteration processes a batch of sequences,
// each contributing some new tokens over the context it already has: a decode step
// is one new token; a prefill chunk is many.
//
// Formulas (per GPU of a stage, tensor-parallel degree tp), with n_i new tokens of
// sequence i over c_i tokens of context:
//   matmul FLOPs      = 2 * (matrix params / tp) * new tokens
//   weight bytes      = matrix params / tp * weight bytes (read once per iteration)
// Full attention (GQA/MHA), per layer:
//   FLOPs             = 4 * (heads / tp) * head_dim * sum_i n_i * (c_i + n_i / 2)
//   KV bytes read     = sum_i (c_i + n_i) * 2 * (kv_heads / tp) * head_dim * kv bytes
//   KV bytes written  = sum_i n_i * 2 * (kv_heads / tp) * head_dim * kv bytes
// Sliding window of W: each new token attends to at most W tokens, and at most
// min(c_i, W) + n_i cached tokens are read.
// MLA: a latent of kv_lora_rank + rope dim per token is cached, replicated on every
// tensor-parallel GPU. Decode runs the absorbed form, 2 * (heads / tp) *
// (2 * kv_lora_rank + rope dim) FLOPs per token pair; prefill chunks run the
// un-absorbed form as vLLM's MLA backend does: the context's latents (c + n rows)
// are up-projected to keys and values, then 2 * (heads / tp) * (qk_nope + rope +
// v_head_dim) FLOPs per pair.
// DeepSeek Sparse Attention (models/sparse_attention.hpp): the main MLA attention
// over at most top_k tokens per query, plus the lightning indexer over every visible
// token (KernelClass::indexer), whose FP8 key cache is read whole every step.
// State space (Mamba-2): projections as matmuls, kSsmScanFlops FLOPs per state
// element per token, and every sequence reads and writes its fixed-size state once
// per iteration, whatever its context.
// Mixture of experts: every token runs top_k routed experts (+ shared ones); the
// weights read are those of the distinct experts the batch touches, expected
// E * (1 - (1 - k/E)^T) for T tokens routed uniformly. With expert parallelism ep,
// a GPU holds E/ep whole experts and the iteration waits for the busiest GPU: the
// one that touches the most distinct experts and computes the most assignments
// (see busiest_expert_rank).
// Wide EP (ep > tp): attention, dense layers and the LM head run on ep / tp groups
// of tp GPUs, each with a share of the sequences (the busiest group's share is
// taken); the experts see the whole stage's T tokens; every MoE layer moves
// 2 * (T / ep) * top_k * d_model activations per GPU by all-to-all, (ep - 1) / ep
// of them to other GPUs.
// FP8/FP4 matmuls on their own tensor cores take quantised inputs; an engine that
// quantises them apart (Sharding::input_quant_bytes = q) runs one elementwise pass
// per matmul input of n elements, n x (2 + q) bytes: per layer the QKV (or MLA
// down-projections') input and the output projection's, the MLP's two inputs, the
// fused-experts call's input and inner activation, and the shared experts' two, in
// quantised parts only (QuantizedParts).
// Context parallelism cp: each rank of a stage holds 1/cp of every sequence's KV
// and computes 1/cp of the attention pairs; prefill tokens are split evenly,
// decode tokens go whole to one rank (round-robin). Per attention layer and
// sequence, ring attention passes either the KV shards ((c + n) / cp rows, each
// rank then reads all c + n rows) or the queries and partial outputs (2 * n / cp
// rows, each rank reads its own (c + n) / cp rows), cp - 1 times: the cheaper one,
// as in Yang et al., "Context Parallelism for Scalable Million-Token Inference"
// (arXiv:2411.01783), which passes KV for full prefill and Q for decode.

#include <algorithm>
#include <array>
#include <string_view>
#include <vector>

#include "models/architecture.hpp"
#include "models/expert_routing.hpp"
#include "models/precision.hpp"

namespace convsim {

struct BatchShape;  // models/batch_shape.hpp

// One sequence's share of an iteration.
struct SequenceWork {
  long new_tokens = 1;      // tokens processed this iteration
  long context_tokens = 0;  // tokens already in the KV cache before them
  // Positions the LM head runs for: 1 for a decode step or a prompt's last chunk, 0
  // for an earlier chunk, k + 1 for a speculative verification step (the target
  // scores every draft token and the one after).
  long logit_tokens = 1;
};

// experts: the routed experts' grouped GEMMs (mixture-of-experts layers); the router
// and shared experts are mlp. indexer: sparse attention's lightning indexer (its
// projections and FP8 scores), run at the GPU's FP8 peak where it has one.
// bf16_matmuls: the matmuls of parts a lower-precision checkpoint keeps in BF16
// (ModelSpec::quantized_parts; by default the LM head), on the BF16 tensor cores.
enum class KernelClass { projections, attention, mlp, elementwise, lm_head, experts, indexer, bf16_matmuls };
inline constexpr int kKernelClasses = 8;
std::string_view kernel_class_name(KernelClass kernel_class);
// Matrix multiplications: they run at the weight precision's tensor-core peak.
constexpr bool is_matmul(KernelClass c) {
  return c == KernelClass::projections || c == KernelClass::mlp || c == KernelClass::lm_head ||
         c == KernelClass::experts;
}

struct KernelWork {
  double flops = 0;
  double hbm_bytes = 0;
  int kernels = 0;  // launches, each paying the GPU's fixed kernel overhead
  // Attention: the FLOPs one more key position would add over all query rows (4 x
  // query width x query tokens for softmax attention). A tiled attention kernel pays
  // a fixed cost per query tile (loading it, rescaling, writing the output) that the
  // GPU preset states as key positions of work (attention_row_overhead_tokens); it
  // takes time at the compute roof but performs no FLOPs.
  double flops_per_key = 0;
};

struct Sharding {
  int tp = 1;
  int pp = 1;
  int stage = 0;  // 0 .. pp-1
  int ep = 1;     // 1; tp: whole experts on each GPU of the TP group; k * tp: wide EP
  int cp = 1;     // context-parallel ranks (ring attention), each with its own TP group
  // Expert parallelism as the engine's fused-experts call runs it: true when every
  // GPU runs the call over all of the batch's token x top-k rows (vLLM's Triton
  // path: the grouped GEMMs write zeros to the rows routed to other GPUs' experts,
  // and silu_and_mul and moe_sum pass over every row), false when only the rows of
  // this GPU's experts reach its kernels (tokens permuted or dispatched first).
  bool moe_kernels_see_all_rows = false;
  // Bytes per element of a matmul input quantised by a kernel of its own before an
  // FP8/FP4 matmul (the weights' element bytes, scales included; 0: no such pass).
  // Set when the weights run on their own tensor cores and the engine quantises
  // inputs apart (EngineProfile::separate_activation_quant). Each pass reads the BF16
  // input and writes the quantised one: elements x (2 + input_quant_bytes) bytes.
  double input_quant_bytes = 0;
  // Wide EP: attention and dense layers run data-parallel over ep / tp groups.
  int attention_groups() const { return ep > tp ? ep / tp : 1; }
};


// The work of one GPU of a stage for one iteration.
struct StageWork {
  std::array<KernelWork, kKernelClasses> by_class{};
  double kv_bytes_read = 0;     // included in attention hbm_bytes
  double kv_bytes_written = 0;  // included in attention hbm_bytes
  double state_bytes = 0;       // state-space states read and written, in attention hbm_bytes
  double weight_bytes_read = 0; // weights read this iteration (MoE: touched experts only)
  // Expert-parallel MoE: HBM bytes the busiest GPU reads beyond the group's mean GPU
  // (in hbm_bytes: the step waits for the busiest; each GPU's energy is its own work).
  double busiest_excess_bytes = 0;
  int allreduces = 0;               // tensor-parallel all-reduces (2 per layer when tp > 1)
  double allreduce_buffer_bytes = 0;  // size of each all-reduce's buffer
  double send_bytes = 0;        // activations to the next stage (0 on the last)
  // Context parallelism: bytes each GPU passes to the next rank of its ring over
  // all attention layers (KV blocks or queries, whichever is smaller per sequence),
  // in ring_steps steps (cp - 1 per attention layer), overlapped with attention.
  double ring_bytes = 0;
  int ring_steps = 0;
  // Wide EP: dispatch and combine of every MoE layer, bytes each GPU sends to the
  // others of the stage (and receives) over all its MoE layers.
  double all_to_all_bytes = 0;
  int all_to_alls = 0;
  double tokens = 0;  // tokens this GPU processes (a share when cp > 1 or ep > tp)

  KernelWork& operator[](KernelClass c) { return by_class[static_cast<int>(c)]; }
  const KernelWork& operator[](KernelClass c) const { return by_class[static_cast<int>(c)]; }
  double flops() const;
  double hbm_bytes() const;
  double mean_gpu_hbm_bytes() const { return hbm_bytes() - busiest_excess_bytes; }
};

// Layers held by `stage` when `layers` are split over pp stages (the first
// layers % pp stages hold one more).
int stage_layers(int layers, int pp, int stage);

// Key/value heads held by one GPU: kv_heads / tp, at least one (replicated when
// tp > kv_heads).
int kv_heads_per_gpu(const ModelSpec& model, int tp);

// FLOPs of the state-space scan per state element per token: the state update
// (decay and input, 2 multiply-adds) and the readout (1 multiply-add).
inline constexpr double kSsmScanFlops = 6.0;

// Expected distinct experts touched when `tokens` tokens each pick top_k of
// `experts` uniformly: experts * (1 - (1 - top_k / experts)^tokens).
double expected_distinct_experts(int experts, int top_k, double tokens);


// Token pairs attended to by n new tokens over c cached ones, each new token seeing
// at most `window` tokens (window <= 0: unbounded): n * (c + n/2) when unbounded.
// Inline: it runs for every sequence of every iteration.
inline double attention_pairs(double n, double c, double window) {
  if (window <= 0 || c + n <= window) return n * (c + n / 2.0);
  const double below = std::clamp(window - c, 0.0, n);  // new tokens still seeing all of their past
  return below * (c + below / 2.0) + (n - below) * window;
}

// REQUIRES: 0 <= sharding.stage < sharding.pp; every new_tokens >= 1.
StageWork stage_work(const ModelSpec& model, Precisions precisions, Sharding sharding,
                     const std::vector<SequenceWork>& batch);

// A run of consecutive layers of the same kind (mixer and FFN) in a stage.
struct LayerRun {
  Mixer mixer = Mixer::attention;
  Ffn ffn = Ffn::dense;
  int count = 0;
};

// The layers of `stage` of `pp` as runs of identical layers, in order (a dense model
// is one run). Depends on the model and the stage only: computed once, it spares
// every iteration the walk of the layer pattern.
std::vector<LayerRun> stage_layer_runs(const ModelSpec& model, int pp, int stage);

// stage_work from the stage's layer runs (stage_layer_runs) and the batch's shape
// (shape_of, models/batch_shape.hpp): the same result, for callers that keep both.
StageWork stage_work(const ModelSpec& model, Precisions precisions, Sharding sharding,
                     const std::vector<LayerRun>& runs, const BatchShape& shape);

// `tokens` rows through a k x n weight matrix of `weight_bytes` per element: 2 k n
// tokens FLOPs, the weights read once, activations in and out in BF16, one kernel.
void add_matmul(KernelWork& work, double k, double n, double tokens, double weight_bytes);

// Bytes of weights held by one GPU of the stage.
double stage_weight_bytes(const ModelSpec& model, Precision weights, Sharding sharding);

// Bytes of KV cache held by one GPU of the stage for one sequence of
// `context_tokens` (sliding-window layers hold at most the window), plus the
// sequence's fixed state in state-space layers. With cp > 1, a rank holds 1/cp of the tokens.
double stage_sequence_bytes(const ModelSpec& model, Precision kv_cache, Sharding sharding, double context_tokens,
                            double ssm_state_bytes = 0);

// Activation memory of one GPU for an iteration of `tokens` tokens: the widest
// intermediate tensors of a layer kept live at once (MLP up output and the
// residual stream), in the activation precision (BF16).
double activation_bytes(const ModelSpec& model, int tp, long tokens);

}  // namespace convsim
