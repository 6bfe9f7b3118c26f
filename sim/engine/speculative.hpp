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
//   decoding sequence, on the GPUs of the first pipeline stage, before the step.
// The yield is deterministic: each sequence accumulates E per step and takes the
// whole tokens of what it has accumulated, so that over n steps it produces
// n * E tokens to within one.

#include <vector>

#include "models/transformer_cost.hpp"
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

struct DraftCost {
  double time_s = 0;     // k passes, one after the other
  double energy_j = 0;   // of the first stage's GPUs over time_s
  double flops = 0;      // all the first stage's GPUs
  double hbm_bytes = 0;  // all the first stage's GPUs
};

// The draft's k passes over the first `decoding` sequences of `batch` (the batch
// scheduler plans decoding sequences first), on the tensor-parallel GPUs of the
// first stage;
// each pass reads the draft's weights and the sequences' contexts. The draft's
// all-reduces are not counted. Zero without serving.speculative or decode work.
DraftCost draft_cost(const Scenario& scenario, const std::vector<SequenceWork>& batch, long decoding);

}  // namespace convsim
