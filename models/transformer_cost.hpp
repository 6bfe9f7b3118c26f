#pragma once
// FLOPs and HBM bytes of one iteration of a decoder-only transformer on one GPU of
// one pipeline stage, by kernel class. An iteration processes a batch of sequences,
// each contributing some new tokens over the context it already has: a decode step
// is one new token; a prefill chunk is many.
//
// Formulas (per GPU of a stage holding `layers` layers, tensor-parallel degree tp):
//   matmul FLOPs      = 2 * (matrix params / tp) * new tokens
//   attention FLOPs   = 4 * (heads / tp) * head_dim * sum_i n_i * (c_i + n_i / 2)
//   KV bytes read     = sum_i (c_i + n_i) * 2 * (kv_heads / tp) * head_dim * kv bytes
//   KV bytes written  = sum_i n_i * 2 * (kv_heads / tp) * head_dim * kv bytes
//   weight bytes      = matrix params / tp * weight bytes (read once per iteration)
// with n_i new tokens of sequence i over c_i tokens of context.

#include <array>
#include <string_view>
#include <vector>

#include "models/architecture.hpp"
#include "models/precision.hpp"

namespace convsim {

// One sequence's share of an iteration.
struct SequenceWork {
  long new_tokens = 1;      // tokens processed this iteration
  long context_tokens = 0;  // tokens already in the KV cache before them
  bool emits_token = true;  // the LM head runs for it (decode, or last prefill chunk)
};

enum class KernelClass { projections, attention, mlp, elementwise, lm_head };
inline constexpr int kKernelClasses = 5;
std::string_view kernel_class_name(KernelClass kernel_class);

struct KernelWork {
  double flops = 0;
  double hbm_bytes = 0;
  int kernels = 0;  // launches, each paying the GPU's fixed kernel overhead
};

struct Sharding {
  int tp = 1;
  int pp = 1;
  int stage = 0;  // 0 .. pp-1
};

struct Precisions {
  Precision weights = Precision::bf16;
  Precision kv_cache = Precision::bf16;
};

// The work of one GPU of a stage for one iteration.
struct StageWork {
  std::array<KernelWork, kKernelClasses> by_class{};
  double kv_bytes_read = 0;     // included in attention hbm_bytes
  double kv_bytes_written = 0;  // included in attention hbm_bytes
  double weight_bytes = 0;      // included in the matmul classes' hbm_bytes
  int allreduces = 0;               // tensor-parallel all-reduces (2 per layer when tp > 1)
  double allreduce_buffer_bytes = 0;  // size of each all-reduce's buffer
  double send_bytes = 0;        // activations to the next stage (0 on the last)
  long tokens = 0;

  KernelWork& operator[](KernelClass c) { return by_class[static_cast<int>(c)]; }
  const KernelWork& operator[](KernelClass c) const { return by_class[static_cast<int>(c)]; }
  double flops() const;
  double hbm_bytes() const;
};

// Layers held by `stage` when `layers` are split over pp stages (the first
// layers % pp stages hold one more).
int stage_layers(int layers, int pp, int stage);

// Key/value heads held by one GPU: kv_heads / tp, at least one (replicated when
// tp > kv_heads).
int kv_heads_per_gpu(const ModelSpec& model, int tp);

// REQUIRES: 0 <= sharding.stage < sharding.pp; every new_tokens >= 1.
StageWork stage_work(const ModelSpec& model, Precisions precisions, Sharding sharding,
                     const std::vector<SequenceWork>& batch);

// Bytes of weights held by one GPU of the stage.
double stage_weight_bytes(const ModelSpec& model, Precision weights, Sharding sharding);

// Bytes of KV cache per token held by one GPU of the stage.
double stage_kv_bytes_per_token(const ModelSpec& model, Precision kv_cache, Sharding sharding);

// Activation memory of one GPU for an iteration of `tokens` tokens: the widest
// intermediate tensors of a layer kept live at once (MLP up output and the
// residual stream), in the activation precision (BF16).
double activation_bytes(const ModelSpec& model, int tp, long tokens);

}  // namespace convsim
