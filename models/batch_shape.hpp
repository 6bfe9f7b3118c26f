#pragma once
// The batch of one iteration, summarised once for all the layers of a stage: tokens,
// attention pairs and cached rows read by each kind of attention (full, sliding
// window, sparse), prefill and decode apart for MLA's two forms, and with context
// parallelism or wide expert parallelism the busiest rank's or group's share. Used
// by stage_work (models/transformer_cost.cpp); the formulas are stated there.

#include <vector>

#include "models/architecture.hpp"
#include "models/precision.hpp"
#include "models/transformer_cost.hpp"

namespace convsim {

// The batch, summarised once for all layers of a stage.
struct BatchShape {
  double tokens = 0;
  double emitting = 0;
  double sequences = 0;
  double pairs_full = 0;    // sum n_i (c_i + n_i / 2)
  double pairs_window = 0;  // the same, each token seeing at most the window
  double read_full = 0;     // sum (c_i + n_i): cached tokens read, full attention
  double read_window = 0;   // sum (min(c_i, W) + n_i)
  // Context parallelism: per rank and attention layer, bytes passed around the
  // ring (full and windowed layers) and rows each rank reads instead of read_*.
  double ring_bytes_full = 0;
  double ring_bytes_window = 0;
  double moe_tokens = 0;    // tokens routed to the stage's experts (all groups')
  // Sequences with more than one new token (prefill chunks): their pairs and the
  // rows (c_i + n_i) they attend over, for MLA's un-absorbed prefill form.
  double pairs_prefill = 0;
  double rows_prefill = 0;
  double decode_tokens = 0;  // tokens of single-token (decode) sequences
  // Sparse attention over at most top_k tokens (models/sparse_attention.hpp): its
  // pairs and rows read; prefill chunks seeing at most top_k tokens (their pairs and
  // c_i + n_i rows, in the un-absorbed form) and the new tokens of longer ones.
  double pairs_sparse = 0;
  double read_sparse = 0;
  double pairs_prefill_short = 0;
  double rows_prefill_short = 0;
  double tokens_prefill_long = 0;
};

// The shape of `batch` on one GPU of a stage under `sharding`, followed by
// `padding_rows` rows of SequenceWork{1, 0, false} (a decode batch padded to its
// CUDA-graph size: the same as appending them to the batch, without the copy).
// The stage itself plays no part: one shape serves every stage of an iteration.
BatchShape shape_of(const ModelSpec& model, Precisions precisions, Sharding sharding,
                    const std::vector<SequenceWork>& batch, long padding_rows = 0);

}  // namespace convsim
