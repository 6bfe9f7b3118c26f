#include "models/transformer_cost.hpp"

#include <algorithm>
#include <cmath>

#include "models/batch_shape.hpp"
#include "models/sparse_attention.hpp"

namespace convsim {
namespace {

constexpr double kActivationBytes = 2.0;  // activations and attention run in BF16

// Elementwise passes over the residual stream, each reading and writing d_model
// values per token: a mixer or an FFN brings its norm (read + write) and its
// residual add (two reads + one write), plus rotary embedding or the activation.
constexpr double kElementwisePassesPerBlock = 5.0;
constexpr int kElementwiseKernelsPerBlock = 3;

// The fused-experts call of a mixture-of-experts layer launches five kernels, counted
// in vLLM's fused_experts_impl (vllm/model_executor/layers/fused_moe/fused_moe.py):
// moe_align_block_size, the gate+up grouped GEMM, silu_and_mul, the down grouped GEMM
// and moe_sum. At one token per call, five of the H100 preset's 6 us launches (30 us)
// match the 25-27 us that published kernel benchmarks leave once the bytes are paid
// (sgl-project/sglang PR 11730 on H200, vllm-project/vllm PR 31448 on B200).
constexpr int kFusedExpertsKernels = 5;

// An FP8/FP4 matmul's input of `elements` BF16 values quantised by a kernel of its
// own, to q bytes an element with its scales (Sharding::input_quant_bytes; q = 0: no
// pass). The kernel reads the BF16 values and writes the quantised ones; per element
// it takes an absolute value toward the scale's maximum and a division: 2 FLOPs. The
// matmul's own read of its input stays counted at BF16's 2 bytes, an upper bound by
// (2 - q) bytes an element.
void add_input_quant(StageWork& work, double elements, double q) {
  if (q <= 0 || elements <= 0) return;
  KernelWork& pass = work[KernelClass::elementwise];
  pass.hbm_bytes += elements * (kActivationBytes + q);
  pass.flops += 2.0 * elements;
  pass.kernels += 1;
}

// Sharding::input_quant_bytes where `part` holds quantised weights, else 0 (its
// matmuls keep BF16 inputs).
double input_quant_of(const ModelSpec& m, Sharding s, WeightPart part) {
  return m.quantized_parts.has(part) ? s.input_quant_bytes : 0.0;
}

// Where a matmul of `part` runs: in its own class, at the weights' tensor-core peak,
// unless the checkpoint keeps that part in BF16 while the rest is in a lower
// precision; then on the BF16 tensor cores (bf16_matmuls).
KernelWork& matmul_work(StageWork& work, KernelClass own, const ModelSpec& m, Precision weights, WeightPart part) {
  const bool kept_in_bf16 = weights != Precision::bf16 && !m.quantized_parts.has(part);
  return work[kept_in_bf16 ? KernelClass::bf16_matmuls : own];
}

int first_layer_of(int layers, int pp, int stage) {
  int first = 0;
  for (int s = 0; s < stage; ++s) first += stage_layers(layers, pp, s);
  return first;
}

// Attention of one layer: windowed (sliding window) or sparse (DSA over MLA: see
// models/sparse_attention.hpp), else full. With context parallelism each query row
// meets the cp shards of the cache in cp kernels (one per ring step), so its tiles'
// fixed work (flops_per_key) and the kernels count cp times.
void add_attention(StageWork& work, const ModelSpec& m, Precisions p, Sharding s, const BatchShape& b,
                   bool windowed, bool sparse) {
  const int tp = s.tp, cp = s.cp;
  const double quant = input_quant_of(m, s, WeightPart::attention);
  const double d = m.d_model, kv_elem = element_bytes(p.kv_cache);
  const double w = weight_element_bytes(m, p.weights, WeightPart::attention);  // per-part weight precision
  const double pairs = windowed ? b.pairs_window : sparse ? b.pairs_sparse : b.pairs_full;
  const double read = windowed ? b.read_window : sparse ? b.read_sparse : b.read_full;
  KernelWork& proj = matmul_work(work, KernelClass::projections, m, p.weights, WeightPart::attention);
  KernelWork& attn = work[KernelClass::attention];
  double row_bytes = 0, query_cols = 0;
  if (m.mla) {
    const MlaSpec& a = *m.mla;
    const double heads = static_cast<double>(m.heads) / tp, qk = a.qk_nope_head_dim + a.qk_rope_head_dim;
    const double latent = static_cast<double>(a.kv_lora_rank) + a.qk_rope_head_dim;
    if (a.q_lora_rank > 0) {  // down-projections are replicated, up-projections split by heads
      add_matmul(proj, d, a.q_lora_rank, b.tokens, w);
      add_matmul(proj, a.q_lora_rank, heads * qk, b.tokens, w);
    } else {
      add_matmul(proj, d, heads * qk, b.tokens, w);
    }
    add_matmul(proj, d, latent, b.tokens, w);
    // One quantised copy of the layer's input feeds both down-projections (vLLM's
    // fused_qkv_a_proj; counted once also without a query down-projection, where the
    // query and latent projections each quantise it); the query's up-projection and
    // the output projection take their own. The latents' up-projection of prefill rows is not counted (vLLM
    // runs decode's absorbed form on weights it dequantises at load).
    add_input_quant(work, b.tokens * d, quant);
    if (a.q_lora_rank > 0) add_input_quant(work, b.tokens * a.q_lora_rank, quant);
    add_input_quant(work, b.tokens * heads * a.v_head_dim, quant);
    // Decode runs the absorbed form: the up-projection applies to each new token's
    // query and output, and attention works on the latent, 2 h (2 L + r) FLOPs per
    // pair. Prefill runs the un-absorbed form (vLLM's MLA backend): the cached
    // latents of the whole context are up-projected to keys and values, and
    // attention costs 2 h (d_nope + r) + 2 h d_v FLOPs per pair.
    // With DSA only prefill chunks seeing at most top_k tokens run the un-absorbed form.
    const double prefill_pairs = windowed ? 0.0 : sparse ? b.pairs_prefill_short : b.pairs_prefill;
    const double up_rows = windowed ? b.tokens
                           : sparse ? b.decode_tokens + b.rows_prefill_short + b.tokens_prefill_long
                                    : b.decode_tokens + b.rows_prefill;
    add_matmul(proj, a.kv_lora_rank, heads * (a.qk_nope_head_dim + a.v_head_dim), up_rows, w);
    add_matmul(proj, heads * a.v_head_dim, d, b.tokens, w);
    attn.flops += 2.0 * heads * (2.0 * a.kv_lora_rank + a.qk_rope_head_dim) * (pairs - prefill_pairs) +
                  2.0 * heads * (qk + a.v_head_dim) * prefill_pairs;
    // Per key, each query token in the form its pairs run in (as prefill_pairs splits them).
    const double prefill_rows =
        windowed ? 0.0
                 : std::max(0.0, b.tokens - b.decode_tokens - (sparse ? b.tokens_prefill_long : 0.0));
    attn.flops_per_key += cp * (2.0 * heads * (2.0 * a.kv_lora_rank + a.qk_rope_head_dim) * (b.tokens - prefill_rows) +
                                2.0 * heads * (qk + a.v_head_dim) * prefill_rows);
    row_bytes = latent * kv_elem;
    query_cols = heads * latent;
  } else {
    const double q = attention_width(m) / tp;
    const double kv = static_cast<double>(kv_heads_per_gpu(m, tp)) * m.head_dim;
    add_matmul(proj, d, q + 2.0 * kv, b.tokens, w);  // fused QKV
    add_matmul(proj, q, d, b.tokens, w);             // output projection
    add_input_quant(work, b.tokens * d, quant);      // the QKV projection's input
    add_input_quant(work, b.tokens * q, quant);      // the output projection's
    attn.flops += 4.0 * q * pairs;
    attn.flops_per_key += cp * 4.0 * q * b.tokens;
    row_bytes = 2.0 * kv * kv_elem;
    query_cols = q;
  }
  work.kv_bytes_read += read * row_bytes;
  work.kv_bytes_written += b.tokens * row_bytes;
  work.ring_bytes += windowed ? b.ring_bytes_window : b.ring_bytes_full;
  attn.hbm_bytes += read * row_bytes + b.tokens * row_bytes + b.tokens * 2.0 * query_cols * kActivationBytes;
  attn.kernels += cp;
}

void add_state_space(StageWork& work, const ModelSpec& m, Precisions p, Sharding sharding, const BatchShape& b) {
  const SsmSpec& s = *m.ssm;
  const int tp = sharding.tp;
  const double quant = input_quant_of(m, sharding, WeightPart::attention);
  const double d = m.d_model, w = weight_element_bytes(m, p.weights, WeightPart::attention);  // per-part
  const double inner = ssm_inner_dim(m) / tp;
  const double heads = inner / s.head_dim;
  const double bc = 2.0 * s.n_groups * s.d_state / tp;
  KernelWork& proj = matmul_work(work, KernelClass::projections, m, p.weights, WeightPart::attention);
  add_matmul(proj, d, 2.0 * inner + bc + heads, b.tokens, w);  // in_proj: x, z, B, C, dt
  add_matmul(proj, inner, d, b.tokens, w);                     // out_proj
  add_input_quant(work, b.tokens * d, quant);
  add_input_quant(work, b.tokens * inner, quant);
  KernelWork& scan = work[KernelClass::attention];             // the mixer's core
  const double conv_dim = inner + bc;
  scan.flops += b.tokens * (kSsmScanFlops * inner * s.d_state + 2.0 * conv_dim * s.conv_kernel);
  const double state_bytes = ssm_state_elements(m) / tp * p.state_element_bytes();
  work.state_bytes += 2.0 * b.sequences * state_bytes;  // read and written once per iteration
  scan.hbm_bytes += 2.0 * b.sequences * state_bytes + b.tokens * (2.0 * inner + bc) * kActivationBytes;
  scan.kernels += 2;  // causal convolution, chunked scan
}

void add_experts(StageWork& work, const ModelSpec& m, Precisions p, Sharding s, const BatchShape& b) {
  const MoeSpec& e = *m.moe;
  const double d = m.d_model, w = weight_element_bytes(m, p.weights, WeightPart::experts);  // per-part
  const int tp = s.tp, ep = s.ep;
  KernelWork& mlp = work[KernelClass::mlp];
  add_matmul(mlp, d, e.experts, b.tokens, w);  // router, replicated
  // Split over tp (each expert's columns), or whole experts spread over ep GPUs.
  const double cols = static_cast<double>(e.expert_ffn_dim) / (ep > 1 ? 1 : tp);
  const double tokens = b.moe_tokens;  // wide EP: every group's tokens reach the experts
  const BusiestExpertRank busiest = busiest_expert_rank(e, ep, tokens);
  // Grouped GEMMs: every assignment runs gate+up and down of its expert; each
  // touched expert's weights are read once. The iteration waits for the busiest GPU.
  KernelWork& grouped = work[KernelClass::experts];
  grouped.flops += 2.0 * busiest.assignments * 3.0 * d * cols;
  grouped.hbm_bytes +=
      busiest.distinct_experts * 3.0 * d * cols * w + busiest.assignments * (2.0 * d + 3.0 * cols) * kActivationBytes;
  grouped.kernels += kFusedExpertsKernels;
  work.weight_bytes_read += busiest.distinct_experts * 3.0 * d * cols * w;
  work.busiest_excess_bytes += (busiest.distinct_experts - busiest.mean_distinct_experts) * 3.0 * d * cols * w +
                               (busiest.assignments - busiest.mean_assignments) * (2.0 * d + 3.0 * cols) * kActivationBytes;
  // The activation between the grouped GEMMs (silu_and_mul: reads gate and up, writes
  // their product) and the weighted sum of each token's k expert outputs (moe_sum:
  // reads k rows, writes one), over the rows this GPU's kernels see.
  const double rows_seen = s.moe_kernels_see_all_rows && ep > 1 ? tokens * e.top_k : busiest.assignments;
  const double mean_rows_seen = s.moe_kernels_see_all_rows && ep > 1 ? rows_seen : busiest.mean_assignments;
  const double row_pass_bytes = (3.0 * cols + d) * kActivationBytes;
  KernelWork& elementwise = work[KernelClass::elementwise];
  elementwise.hbm_bytes += rows_seen * row_pass_bytes + b.tokens * d * kActivationBytes;
  elementwise.flops += rows_seen * (4.0 * cols + d);  // x sigmoid(x) up: ~4 per product; one add per summed value
  work.busiest_excess_bytes += (rows_seen - mean_rows_seen) * row_pass_bytes;
  if (s.moe_kernels_see_all_rows && ep > 1) {
    // Rows routed to other GPUs' experts: both grouped GEMMs store zeros for them
    // (gate and up: 2 cols; down: d), in the experts' own kernels.
    const double zero_bytes_per_row = (2.0 * cols + d) * kActivationBytes;
    grouped.hbm_bytes += (rows_seen - busiest.assignments) * zero_bytes_per_row;
    work.busiest_excess_bytes += ((rows_seen - busiest.assignments) - (rows_seen - busiest.mean_assignments)) *
                                 zero_bytes_per_row;
  }
  // Quantised inputs: the tokens entering the fused-experts call, and the activation
  // between its grouped GEMMs over the rows its kernels see; the router stays in BF16
  // (vLLM's and TensorRT-LLM's MoE blocks build it without a quantisation config).
  const double quant = input_quant_of(m, s, WeightPart::experts);
  add_input_quant(work, tokens * d, quant);
  add_input_quant(work, rows_seen * cols, quant);
  if (quant > 0) work.busiest_excess_bytes += (rows_seen - mean_rows_seen) * cols * (kActivationBytes + quant);
  if (e.shared_experts > 0) {  // a weight part of its own
    const double shared_cols = static_cast<double>(e.shared_experts) * e.shared_expert_ffn_dim / tp;
    const double w_shared = weight_element_bytes(m, p.weights, WeightPart::shared_experts);
    const double shared_quant = input_quant_of(m, s, WeightPart::shared_experts);
    KernelWork& shared = matmul_work(work, KernelClass::mlp, m, p.weights, WeightPart::shared_experts);
    add_matmul(shared, d, 2.0 * shared_cols, b.tokens, w_shared);
    add_matmul(shared, shared_cols, d, b.tokens, w_shared);
    add_input_quant(work, b.tokens * d, shared_quant);
    add_input_quant(work, b.tokens * shared_cols, shared_quant);
  }
  if (ep > tp) {  // dispatch to and combine from the experts' GPUs
    work.all_to_alls += 2;
    work.all_to_all_bytes += 2.0 * tokens / ep * e.top_k * d * kActivationBytes * (ep - 1.0) / ep;
  }
}

void add_dense_ffn(StageWork& work, const ModelSpec& m, Precisions p, Sharding s, const BatchShape& b) {
  const double d = m.d_model, w = weight_element_bytes(m, p.weights, WeightPart::dense_ffn);  // per-part
  const double cols = static_cast<double>(m.ffn_dim) / s.tp;
  KernelWork& mlp = matmul_work(work, KernelClass::mlp, m, p.weights, WeightPart::dense_ffn);
  add_matmul(mlp, d, (m.gated_mlp ? 2.0 : 1.0) * cols, b.tokens, w);  // fused gate+up
  add_matmul(mlp, cols, d, b.tokens, w);                               // down
  const double quant = input_quant_of(m, s, WeightPart::dense_ffn);
  add_input_quant(work, b.tokens * d, quant);
  add_input_quant(work, b.tokens * cols, quant);
}

// Matrix parameters of one layer held by one GPU, by part.
double mixer_params_per_gpu(const ModelSpec& m, Mixer mixer, int tp) {
  if (mixer == Mixer::none) return 0.0;
  if (mixer == Mixer::state_space) return mixer_params(m, mixer) / tp;
  const double d = m.d_model;
  if (m.mla) {  // the sparse-attention indexer, if any, is replicated too
    const MlaSpec& a = *m.mla;
    const double replicated = (a.q_lora_rank > 0 ? d * a.q_lora_rank : 0.0) +
                              d * (a.kv_lora_rank + a.qk_rope_head_dim) +
                              (mixer == Mixer::attention ? indexer_params(m) : 0.0);
    return replicated + (mixer_params(m, mixer) - replicated) / tp;
  }
  const double q = attention_width(m) / tp;
  const double kv = static_cast<double>(kv_heads_per_gpu(m, tp)) * m.head_dim;
  return d * q + 2.0 * d * kv + q * d;
}

double ffn_params_per_gpu(const ModelSpec& m, Ffn ffn, int tp, int ep) {
  if (ffn != Ffn::experts) return ffn_params(m, ffn, false) / tp;
  const MoeSpec& e = *m.moe;
  const double d = m.d_model;
  const double router = d * e.experts;
  const double routed = static_cast<double>(e.experts) * 3.0 * d * e.expert_ffn_dim;  // split tp ways or ep ways
  const double shared = e.shared_experts * 3.0 * d * e.shared_expert_ffn_dim / tp;
  return router + routed / (ep > 1 ? ep : tp) + shared;
}

}  // namespace

void add_matmul(KernelWork& work, double k, double n, double tokens, double weight_bytes) {
  work.flops += 2.0 * k * n * tokens;
  work.hbm_bytes += k * n * weight_bytes + tokens * (k + n) * kActivationBytes;
  work.kernels += 1;
}

std::string_view kernel_class_name(KernelClass kernel_class) {
  switch (kernel_class) {
    case KernelClass::projections: return "projections";
    case KernelClass::attention: return "attention";
    case KernelClass::mlp: return "mlp";
    case KernelClass::elementwise: return "elementwise";
    case KernelClass::lm_head: return "lm_head";
    case KernelClass::experts: return "experts";
    case KernelClass::indexer: return "indexer";
    case KernelClass::bf16_matmuls: return "bf16_matmuls";
  }
  return "?";
}

double StageWork::flops() const {
  double sum = 0;
  for (const auto& k : by_class) sum += k.flops;
  return sum;
}

double StageWork::hbm_bytes() const {
  double sum = 0;
  for (const auto& k : by_class) sum += k.hbm_bytes;
  return sum;
}

int stage_layers(int layers, int pp, int stage) {
  return layers / pp + (stage < layers % pp ? 1 : 0);
}

int kv_heads_per_gpu(const ModelSpec& model, int tp) { return std::max(1, model.kv_heads / tp); }

double expected_distinct_experts(int experts, int top_k, double tokens) {
  if (tokens <= 0) return 0.0;
  const double e = experts;
  return e * (1.0 - std::pow(1.0 - top_k / e, tokens));
}

double stage_weight_bytes(const ModelSpec& m, Precision weights, Sharding s) {
  // Per-part weight precision (ModelSpec::quantized_parts).
  const double w = weight_element_bytes(m, weights, WeightPart::embeddings);
  const double w_mixer = weight_element_bytes(m, weights, WeightPart::attention);
  auto w_ffn = [&](Ffn ffn) {
    return weight_element_bytes(m, weights, ffn == Ffn::experts ? WeightPart::experts : WeightPart::dense_ffn);
  };
  const double w_shared = weight_element_bytes(m, weights, WeightPart::shared_experts);
  const int first = first_layer_of(m.layers, s.pp, s.stage);
  const int count = stage_layers(m.layers, s.pp, s.stage);
  double bytes = 0;
  for (int layer = first; layer < first + count; ++layer) {
    const Mixer mixer = m.mixer(layer);
    const Ffn ffn = m.ffn(layer);
    const double norms = (mixer != Mixer::none ? 1.0 : 0.0) + (ffn != Ffn::none ? 1.0 : 0.0);
    const double shared = ffn == Ffn::experts ? shared_expert_params(m) / s.tp : 0.0;  // split tp ways
    bytes += mixer_params_per_gpu(m, mixer, s.tp) * w_mixer +
             (ffn_params_per_gpu(m, ffn, s.tp, s.ep) - shared) * w_ffn(ffn) + shared * w_shared +
             norms * m.d_model * kActivationBytes;
  }
  const double vocab_slice = static_cast<double>(m.vocab_tokens) * m.d_model / s.tp;
  if (s.stage == 0) bytes += vocab_slice * w;
  if (s.stage == s.pp - 1) bytes += (m.tied_embeddings && s.pp == 1 ? 0.0 : vocab_slice * w) + m.d_model * kActivationBytes;
  return bytes;
}

double stage_sequence_bytes(const ModelSpec& m, Precision kv_cache, Sharding s, double context_tokens,
                            double ssm_state_bytes) {
  const double kv_elem = element_bytes(kv_cache);
  const double state_elem = Precisions{Precision::bf16, kv_cache, ssm_state_bytes}.state_element_bytes();
  // Context-parallel ranks hold 1/cp of the tokens each.
  const double row = (m.mla ? kv_row_elements(m) : 2.0 * kv_heads_per_gpu(m, s.tp) * m.head_dim) / s.cp;
  const double indexer_keys = indexer_key_bytes_per_token(m) / s.cp;  // sparse attention, replicated over tp
  const int first = first_layer_of(m.layers, s.pp, s.stage);
  const int count = stage_layers(m.layers, s.pp, s.stage);
  double bytes = 0;
  for (int layer = first; layer < first + count; ++layer) {
    switch (m.mixer(layer)) {
      case Mixer::attention: bytes += context_tokens * (row * kv_elem + indexer_keys); break;
      case Mixer::sliding_attention:
        bytes += std::min(context_tokens, static_cast<double>(m.window_tokens)) * row * kv_elem;
        break;
      case Mixer::state_space: bytes += ssm_state_elements(m) / s.tp * state_elem; break;
      case Mixer::none: break;
    }
  }
  return bytes;
}

double activation_bytes(const ModelSpec& m, int tp, long tokens) {
  double widest_ffn = m.ffn_dim;
  if (m.moe) widest_ffn = std::max(widest_ffn, static_cast<double>(m.moe->expert_ffn_dim) * m.moe->top_k);
  if (m.ssm) widest_ffn = std::max(widest_ffn, ssm_inner_dim(m));
  const double widest = (m.gated_mlp ? 2.0 : 1.0) * widest_ffn / tp + 2.0 * m.d_model;
  return static_cast<double>(tokens) * widest * kActivationBytes;
}

namespace {

// One layer's matrices and attention, added to `work`. Returns its blocks (mixer
// and FFN present), each bringing its norm and residual add.
int add_layer(StageWork& work, const ModelSpec& m, Precisions p, Sharding s, const BatchShape& b, Mixer mixer,
              Ffn ffn) {
  // Per-part weight precision (ModelSpec::quantized_parts).
  const double w_mixer = weight_element_bytes(m, p.weights, WeightPart::attention);
  const double w_ffn =
      weight_element_bytes(m, p.weights, ffn == Ffn::experts ? WeightPart::experts : WeightPart::dense_ffn);
  const int tp = s.tp, ep = s.ep;
  switch (mixer) {
    case Mixer::attention:
    case Mixer::sliding_attention: {
      const bool sparse = mixer == Mixer::attention && m.sparse_attention && m.mla;
      add_attention(work, m, p, s, b, mixer == Mixer::sliding_attention, sparse);
      work.ring_steps += s.cp - 1;
      if (sparse) {  // the indexer scores every visible token: full pairs and rows
        const KernelWork indexer = indexer_work(m, w_mixer, b.tokens, b.pairs_full, b.read_full);
        KernelWork& k = work[KernelClass::indexer];
        k.flops += indexer.flops;
        k.hbm_bytes += indexer.hbm_bytes;
        k.kernels += indexer.kernels;
        work.kv_bytes_read += b.read_full * indexer_key_bytes_per_token(m);
        work.kv_bytes_written += b.tokens * indexer_key_bytes_per_token(m);
      }
      break;
    }
    case Mixer::state_space: add_state_space(work, m, p, s, b); break;
    case Mixer::none: break;
  }
  switch (ffn) {
    case Ffn::dense: add_dense_ffn(work, m, p, s, b); break;
    case Ffn::experts: add_experts(work, m, p, s, b); break;
    case Ffn::none: break;
  }
  if (ffn != Ffn::experts) {
    work.weight_bytes_read += mixer_params_per_gpu(m, mixer, tp) * w_mixer + ffn_params_per_gpu(m, ffn, tp, ep) * w_ffn;
  } else {
    const MoeSpec& e = *m.moe;
    const double d = m.d_model;
    work.weight_bytes_read += mixer_params_per_gpu(m, mixer, tp) * w_mixer + d * e.experts * w_ffn +
                              shared_expert_params(m) / tp *
                                  weight_element_bytes(m, p.weights, WeightPart::shared_experts);
  }
  return (mixer != Mixer::none ? 1 : 0) + (ffn != Ffn::none ? 1 : 0);
}

// `count` times `layer`'s work added to `work`.
void add_scaled(StageWork& work, const StageWork& layer, int count) {
  for (int i = 0; i < kKernelClasses; ++i) {
    work.by_class[i].flops += count * layer.by_class[i].flops;
    work.by_class[i].hbm_bytes += count * layer.by_class[i].hbm_bytes;
    work.by_class[i].kernels += count * layer.by_class[i].kernels;
    work.by_class[i].flops_per_key += count * layer.by_class[i].flops_per_key;
  }
  work.kv_bytes_read += count * layer.kv_bytes_read;
  work.kv_bytes_written += count * layer.kv_bytes_written;
  work.state_bytes += count * layer.state_bytes;
  work.weight_bytes_read += count * layer.weight_bytes_read;
  work.busiest_excess_bytes += count * layer.busiest_excess_bytes;
  work.ring_bytes += count * layer.ring_bytes;
  work.ring_steps += count * layer.ring_steps;
  work.all_to_all_bytes += count * layer.all_to_all_bytes;
  work.all_to_alls += count * layer.all_to_alls;
}

}  // namespace

std::vector<LayerRun> stage_layer_runs(const ModelSpec& m, int pp, int stage) {
  std::vector<LayerRun> runs;
  const int first = first_layer_of(m.layers, pp, stage);
  const int count = stage_layers(m.layers, pp, stage);
  for (int layer = first; layer < first + count;) {
    const Mixer mixer = m.mixer(layer);
    const Ffn ffn = m.ffn(layer);
    int run = 1;
    while (layer + run < first + count && m.mixer(layer + run) == mixer && m.ffn(layer + run) == ffn) ++run;
    runs.push_back(LayerRun{mixer, ffn, run});
    layer += run;
  }
  return runs;
}

StageWork stage_work(const ModelSpec& m, Precisions p, Sharding s, const std::vector<SequenceWork>& batch) {
  return stage_work(m, p, s, stage_layer_runs(m, s.pp, s.stage), shape_of(m, p, s, batch));
}

StageWork stage_work(const ModelSpec& m, Precisions p, Sharding s, const std::vector<LayerRun>& runs,
                     const BatchShape& b) {
  StageWork work;
  work.tokens = b.tokens;
  const double w = weight_element_bytes(m, p.weights, WeightPart::embeddings);  // per-part weight precision
  const double d = m.d_model;
  int blocks = 0;
  // Runs of identical layers are computed once and scaled (a dense model is one run).
  for (const LayerRun& run : runs) {
    StageWork one;
    blocks += run.count * add_layer(one, m, p, s, b, run.mixer, run.ffn);
    add_scaled(work, one, run.count);
  }

  KernelWork& elementwise = work[KernelClass::elementwise];
  elementwise.hbm_bytes += blocks * kElementwisePassesPerBlock * b.tokens * d * kActivationBytes;
  elementwise.flops += blocks * kElementwisePassesPerBlock * b.tokens * d;
  elementwise.kernels += blocks * kElementwiseKernelsPerBlock;
  if (s.stage == 0) {  // embedding lookup: one row per token
    elementwise.hbm_bytes += b.tokens * d * (w + kActivationBytes);
    elementwise.kernels += 1;
  }
  if (s.stage == s.pp - 1 && b.emitting > 0) {
    const double vocab_cols = static_cast<double>(m.vocab_tokens) / s.tp;
    add_matmul(matmul_work(work, KernelClass::lm_head, m, p.weights, WeightPart::embeddings), d, vocab_cols,
               b.emitting, w);
    work.weight_bytes_read += d * vocab_cols * w;
  }
  if (s.tp > 1) {
    work.allreduces = blocks;  // after each mixer's and each FFN's output projection
    work.allreduce_buffer_bytes = b.tokens * d * kActivationBytes;
  }
  if (s.stage < s.pp - 1) work.send_bytes = b.tokens * d * kActivationBytes;
  return work;
}

}  // namespace convsim
