// models/batch_shape: a batch's sums against the formulas of batch_shape.hpp,
// written out here sequence by sequence, for full attention (shape_of's fast path)
// and a sliding window (its general path), with CUDA-graph padding rows.

#include <algorithm>
#include <vector>

#include <catch2/catch.hpp>

#include "models/batch_shape.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;

namespace {

struct Row {
  double n, c, logits;
};

// Two decoding sequences, a prefill chunk over nothing cached and one over a long
// context.
const std::vector<SequenceWork> kBatch = {{1, 100, 1}, {1, 250, 1}, {512, 0, 1}, {64, 1000, 0}};

std::vector<Row> rows_with_padding(long padding) {
  std::vector<Row> rows;
  for (const SequenceWork& w : kBatch) {
    rows.push_back({static_cast<double>(w.new_tokens), static_cast<double>(w.context_tokens),
                    static_cast<double>(w.logit_tokens)});
  }
  for (long k = 0; k < padding; ++k) rows.push_back({1, 0, 0});  // SequenceWork{1, 0, false}
  return rows;
}

}  // namespace

TEST_CASE("a full-attention batch's shape is the sums of n, n (c + n/2) and c + n over its rows, padding included") {
  const ModelSpec& m = test::catalog().models.at("llama-3.1-8b");
  REQUIRE(m.window_tokens <= 0);
  const long padding = 3;
  const BatchShape b = shape_of(m, Precisions{}, Sharding{}, kBatch, padding);
  double tokens = 0, emitting = 0, pairs = 0, pairs_prefill = 0, rows_prefill = 0, decode = 0, read = 0;
  const std::vector<Row> rows = rows_with_padding(padding);
  for (const Row& r : rows) {
    tokens += r.n;
    emitting += r.logits;
    pairs += r.n * (r.c + r.n / 2);
    read += r.c + r.n;
    if (r.n > 1) {
      pairs_prefill += r.n * (r.c + r.n / 2);
      rows_prefill += r.c + r.n;
    } else {
      decode += r.n;
    }
  }
  CHECK(b.sequences == static_cast<double>(rows.size()));
  CHECK(b.tokens == tokens);
  CHECK(b.tokens == 1 + 1 + 512 + 64 + 3);
  CHECK(b.emitting == emitting);
  CHECK(b.pairs_full == pairs);
  CHECK(b.pairs_window == pairs);  // no window: every token sees its whole past
  CHECK(b.read_full == read);
  CHECK(b.read_window == read);
  CHECK(b.pairs_prefill == pairs_prefill);
  CHECK(b.rows_prefill == rows_prefill);
  CHECK(b.decode_tokens == decode);
  CHECK(b.decode_tokens == 5);  // two decoding sequences and three padding rows
  CHECK(b.moe_tokens == tokens);
  CHECK(b.pairs_sparse == 0);
  CHECK(b.ring_bytes_full == 0);
}

TEST_CASE("a sliding-window batch's windowed sums cap each token's past at the window") {
  const ModelSpec& m = test::catalog().models.at("gemma-3-12b");
  const double w = static_cast<double>(m.window_tokens);
  REQUIRE(w == 1024);
  const BatchShape b = shape_of(m, Precisions{}, Sharding{}, kBatch, 0);
  double pairs = 0, pairs_window = 0, read = 0, read_window = 0;
  for (const Row& r : rows_with_padding(0)) {
    pairs += r.n * (r.c + r.n / 2);
    // New token i (0-based) sees the c cached tokens and the i + 1/2 new ones before
    // it (the half: itself, as in n (c + n/2)), at most w.
    for (int i = 0; i < static_cast<int>(r.n); ++i) pairs_window += std::min(r.c + i + 0.5, w);
    read += r.c + r.n;
    read_window += std::min(r.c, w) + r.n;
  }
  CHECK(b.pairs_full == pairs);
  // Every term is a multiple of 1/2, so both sums are exact whatever their order.
  CHECK(b.pairs_window == pairs_window);
  CHECK(b.pairs_window < pairs);
  CHECK(b.read_full == read);
  CHECK(b.read_window == read_window);
}
