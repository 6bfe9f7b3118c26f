#pragma once
// Speculative decoding's two costs and its gain, for serving.speculative (see
// SpeculativeSpec in sim/scenario/scenario.hpp):
// - the gain: a step of a decoding sequence yields on average
//     E(a, k) = 1 + a + a^2 + ... + a^k = (1 - a^(k+1)) / (1 - a)   (k + 1 when a = 1)
//   tokens, for k draft tokens each accepted with probability a given the previous
//   ones were (Leviathan, Kalman and Matias, Fast Inference from Transformers via
//   Speculative Decoding, ICML 2023, eq. 1);
// - the verification: the target runs k + 1 tokens per decoding sequence in one
//   step instead of 1 (the batch scheduler plans them);
// - the draft: k passes, one after the other, of the draft model over every
//   decoding sequence, on the GPUs of the first pipeline stage, before the step,
//   each paying its tensor-parallel all-reduces as the target's passes do (two per
//   layer, planned by plan_allreduce; timed uncontended, not put on the network);
// - the draft's memory on every GPU of the first stage: its weights (a draft
//   model's all, LM head and embeddings included; eagle's and mtp's layers, which
//   share the target's embedding and LM head, plus a copy of the LM head when the
//   target's sits on another pipeline stage) and its KV cache for every sequence,
//   both taken from the KV pool (CostModel).
// The yield is deterministic: each sequence accumulates E per step and takes the
// whole tokens of what it has accumulated, so that over n steps it produces
// n * E tokens to within one.

#include <vector>

#include "models/transformer_cost.hpp"
#include "sim/engine/iteration_cost.hpp"
#include "sim/scenario/scenario.hpp"

namespace convsim {

// (1 - a^(k+1)) / (1 - a); k + 1 when a = 1. REQUIRES: 0 <= a <= 1, k >= 0.
double expected_tokens_per_step(double acceptance, int tokens);

// The shape of the draft that `method` (eagle or mtp) runs for `target`: eagle's
// one decoder layer of the target's width with a dense
// SwiGLU MLP (the target's ffn_dim, or for a mixture of experts the width of the
// experts one token uses) and the target's LM head; mtp's the target's last
// layer kind, mtp_layers times, with the target's LM head.
ModelSpec draft_shape(SpeculativeSpec::Method method, const ModelSpec& target);

// Parameters of EAGLE's fusion layer: the linear map of [token embedding, target
// features] (2 d) to d in front of its decoder layer. vLLM holds it whole on every
// GPU (a plain torch Linear in vllm/model_executor/models/llama_eagle.py, not split
// over tp) and runs it on every draft token.
double eagle_fusion_params(const ModelSpec& target);

// The model that drafts under `spec`: the draft_model preset, or draft_shape.
ModelSpec draft_of(const SpeculativeSpec& spec, const ModelSpec& target);

// How the draft is laid out: over the first stage's tp GPUs, one stage, its experts
// (if any) over at most those tp GPUs, run by the scenario's engine's kernels.
Sharding draft_sharding(const Scenario& scenario, const ModelSpec& draft);

// The draft's weight precision: a draft model's own default, else the target's.
Precision draft_weight_precision(const Scenario& scenario);

// Bytes of the draft's weights on one GPU of the first stage (see the header
// comment for what eagle and mtp share with the target). 0 without speculation.
double draft_weight_bytes_per_gpu(const Scenario& scenario);

struct DraftCost {
  double time_s = 0;       // k passes, one after the other, their all-reduces included
  double allreduce_s = 0;  // of time_s: the all-reduces'
  double energy_j = 0;     // of the first stage's GPUs over time_s
  double flops = 0;        // all the first stage's GPUs
  double hbm_bytes = 0;    // all the first stage's GPUs
};

// The draft's k passes over the first `decoding` sequences of `batch` (the batch
// scheduler plans decoding sequences first), on the tensor-parallel GPUs of the
// first stage; each pass reads the draft's weights and the sequences' contexts and,
// with tp > 1, all-reduces twice per layer over the scale-up fabric, planned as the
// target's (`cost` says whether the TP group shares an NVSwitch node). Zero
// without serving.speculative or decode work.
DraftCost draft_cost(const Scenario& scenario, const CostModel& cost, const std::vector<SequenceWork>& batch,
                     long decoding);

}  // namespace convsim
