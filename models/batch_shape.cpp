#include "models/batch_shape.hpp"

#include <algorithm>
#include <cmath>

#include "models/sparse_attention.hpp"

namespace convsim {
namespace {

constexpr double kActivationBytes = 2.0;  // queries passed around a ring are BF16

// Bytes per cached token of one attention layer on one GPU (K and V rows, or the
// MLA latent), and bytes per token of its query (what ring attention passes
// instead of KV when cheaper).
double kv_row_bytes(const ModelSpec& m, Precisions p, int tp) {
  const double kv_elem = element_bytes(p.kv_cache);
  if (m.mla) return (static_cast<double>(m.mla->kv_lora_rank) + m.mla->qk_rope_head_dim) * kv_elem;
  return 2.0 * kv_heads_per_gpu(m, tp) * m.head_dim * kv_elem;
}

double query_bytes(const ModelSpec& m, int tp) {
  if (m.mla) {
    return static_cast<double>(m.heads) / tp * (static_cast<double>(m.mla->kv_lora_rank) + m.mla->qk_rope_head_dim) *
           kActivationBytes;
  }
  return attention_width(m) / tp * kActivationBytes;
}

// One sequence of n new tokens over c cached ones, added to the shape. With cp > 1
// the rows read and the ring's bytes are those of one rank (see models/transformer_cost.hpp).
// kFull: full attention with no sparse or ring terms (window, top_k and cp unused),
// the common case, whose sums are then all there is to do.
template <bool kFull = false>
void add_sequence(BatchShape& b, double n, double c, double logit_tokens, double window, double top_k, int cp,
                  double row_bytes, double q_bytes) {
  b.tokens += n;
  b.emitting += logit_tokens;
  b.sequences += 1.0;
  const double pairs = attention_pairs(n, c, 0);  // unbounded: with no window, the window's too
  b.pairs_full += pairs;
  if (n > 1) {
    b.pairs_prefill += pairs;
    b.rows_prefill += c + n;
  } else {
    b.decode_tokens += n;
  }
  if constexpr (kFull) {
    b.pairs_window += pairs;
    b.read_full += c + n;
    b.read_window += c + n;
    return;
  }
  b.pairs_window += window > 0 ? attention_pairs(n, c, window) : pairs;
  if (top_k > 0) {
    b.pairs_sparse += attention_pairs(n, c, top_k);
    b.read_sparse += sparse_rows_read(n, c, top_k) / cp;  // with cp > 1: each rank's share
    const bool short_prefill = n > 1 && c + n <= top_k;
    b.pairs_prefill_short += short_prefill ? pairs : 0.0;
    b.rows_prefill_short += short_prefill ? c + n : 0.0;
    b.tokens_prefill_long += n > 1 && !short_prefill ? n : 0.0;
  }
  const double rows_full = c + n;
  const double rows_window = (window > 0 ? std::min(c, window) : c) + n;
  if (cp == 1) {
    b.read_full += rows_full;
    b.read_window += rows_window;
    return;
  }
  const double steps = cp - 1.0, queries = 2.0 * n / cp * q_bytes;
  auto ring = [&](double rows, double& read, double& bytes) {
    const double kv = rows / cp * row_bytes;
    read += kv <= queries ? rows : rows / cp;
    bytes += steps * std::min(kv, queries);
  };
  ring(rows_full, b.read_full, b.ring_bytes_full);
  ring(rows_window, b.read_window, b.ring_bytes_window);
}

}  // namespace

BatchShape shape_of(const ModelSpec& m, Precisions p, Sharding s, const std::vector<SequenceWork>& batch,
                    long padding_rows) {
  const SequenceWork padding{1, 0, false};
  const std::size_t rows = batch.size() + static_cast<std::size_t>(padding_rows);
  auto row_at = [&](std::size_t i) -> const SequenceWork& { return i < batch.size() ? batch[i] : padding; };
  const double window = static_cast<double>(m.window_tokens);
  const double top_k = m.sparse_attention ? static_cast<double>(m.sparse_attention->top_k_tokens) : 0.0;
  const double row = kv_row_bytes(m, p, s.tp), q = query_bytes(m, s.tp);
  const int groups = s.attention_groups();
  if (groups == 1 && s.cp == 1 && window <= 0 && top_k <= 0) {  // no decode count: used with cp > 1
    BatchShape b;
    for (const SequenceWork& seq : batch) {
      add_sequence<true>(b, static_cast<double>(seq.new_tokens), static_cast<double>(seq.context_tokens),
                         static_cast<double>(seq.logit_tokens), 0, 0, 1, row, q);
    }
    // The padding rows at once: each is one token over no context (half a pair, one
    // row read). Every term here is a whole or half number, so the sums are exact and
    // adding them together gives the bits of adding them row by row.
    if (padding_rows > 0) {
      const double pad = static_cast<double>(padding_rows);
      b.tokens += pad;
      b.sequences += pad;
      b.pairs_full += 0.5 * pad;
      b.decode_tokens += pad;
      b.pairs_window += 0.5 * pad;
      b.read_full += pad;
      b.read_window += pad;
    }
    b.moe_tokens = b.tokens;
    return b;
  }
  if (groups == 1) {
    BatchShape b;
    double decode = 0, decode_emitting = 0;
    for (std::size_t i = 0; i < rows; ++i) {
      const SequenceWork& seq = row_at(i);
      add_sequence(b, static_cast<double>(seq.new_tokens), static_cast<double>(seq.context_tokens),
                   static_cast<double>(seq.logit_tokens), window, top_k, s.cp, row, q);
      if (seq.new_tokens == 1) {
        decode += 1.0;
        decode_emitting += static_cast<double>(seq.logit_tokens);
      }
    }
    b.moe_tokens = b.tokens;
    if (s.cp > 1) {  // the busiest rank: its share of prefill tokens, decode tokens dealt round-robin
      const double cp = s.cp;
      b.tokens = std::ceil(decode / cp) + (b.tokens - decode) / cp;
      b.emitting = std::ceil(decode_emitting / cp) + (b.emitting - decode_emitting) / cp;
      b.pairs_full /= cp;
      b.pairs_window /= cp;
      b.pairs_prefill /= cp;
      b.rows_prefill /= cp;
      b.pairs_sparse /= cp;
      b.pairs_prefill_short /= cp;
      b.rows_prefill_short /= cp;
      b.tokens_prefill_long /= cp;
      b.decode_tokens = std::ceil(decode / cp);
      b.moe_tokens = b.tokens;
    }
    return b;
  }
  // Wide EP: sequences dealt round-robin to the attention groups; each quantity is
  // that of the busiest group.
  std::vector<BatchShape> shares(static_cast<std::size_t>(groups));
  double all_tokens = 0;
  for (std::size_t i = 0; i < rows; ++i) {
    const SequenceWork& seq = row_at(i);
    add_sequence(shares[i % shares.size()], static_cast<double>(seq.new_tokens),
                 static_cast<double>(seq.context_tokens), static_cast<double>(seq.logit_tokens), window, top_k, 1,
                 row, q);
    all_tokens += static_cast<double>(seq.new_tokens);
  }
  BatchShape b;
  for (const BatchShape& g : shares) {
    b.tokens = std::max(b.tokens, g.tokens);
    b.emitting = std::max(b.emitting, g.emitting);
    b.sequences = std::max(b.sequences, g.sequences);
    b.pairs_full = std::max(b.pairs_full, g.pairs_full);
    b.pairs_window = std::max(b.pairs_window, g.pairs_window);
    b.read_full = std::max(b.read_full, g.read_full);
    b.read_window = std::max(b.read_window, g.read_window);
    b.pairs_prefill = std::max(b.pairs_prefill, g.pairs_prefill);
    b.rows_prefill = std::max(b.rows_prefill, g.rows_prefill);
    b.decode_tokens = std::max(b.decode_tokens, g.decode_tokens);
    b.pairs_sparse = std::max(b.pairs_sparse, g.pairs_sparse);
    b.read_sparse = std::max(b.read_sparse, g.read_sparse);
    b.pairs_prefill_short = std::max(b.pairs_prefill_short, g.pairs_prefill_short);
    b.rows_prefill_short = std::max(b.rows_prefill_short, g.rows_prefill_short);
    b.tokens_prefill_long = std::max(b.tokens_prefill_long, g.tokens_prefill_long);
  }
  b.moe_tokens = all_tokens;
  return b;
}

}  // namespace convsim
