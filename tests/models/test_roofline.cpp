#include <algorithm>
#include <cmath>

#include <catch2/catch.hpp>

#include "models/power.hpp"
#include "models/roofline.hpp"
#include "models/transformer_cost.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;

namespace {

double total_time_s(const GpuSpec& gpu, Precision weights, const StageWork& w) {
  return stage_time(gpu, weights, w).compute_s;
}

}  // namespace

TEST_CASE("prefill FLOPs are 2 * params * tokens plus 4 * layers * d_attn * N * (C + N/2)") {
  const ModelSpec& m = test::catalog().models.at("llama-3.1-8b");
  const long n = 1000, c = 3000;
  const StageWork w = stage_work(m, {}, Sharding{1, 1, 0}, {SequenceWork{n, c, true}});
  // Matmul parameters touched per token: every layer's matrices; the LM head runs once
  // (for the one sequence that emits a token).
  const double layer_matmul_flops = 2.0 * layer_linear_params(m) * m.layers * n;
  const double lm_head_flops = 2.0 * m.d_model * m.vocab_tokens * 1.0;
  const double attention_flops = 4.0 * m.layers * (m.heads * m.head_dim) * n * (c + n / 2.0);
  const double matmul = w[KernelClass::projections].flops + w[KernelClass::mlp].flops + w[KernelClass::lm_head].flops;
  CHECK(matmul == Approx(layer_matmul_flops + lm_head_flops).epsilon(1e-12));
  CHECK(w[KernelClass::attention].flops == Approx(attention_flops).epsilon(1e-12));
}

TEST_CASE("a batch-1 decode step of Llama-3.1-8B on one H100 equals the hand-computed roofline") {
  const ModelSpec& m = test::catalog().models.at("llama-3.1-8b");
  const GpuSpec& gpu = test::catalog().gpus.at("h100-sxm");
  const long context = 2000;
  const StageWork w = stage_work(m, {}, Sharding{1, 1, 0}, {SequenceWork{1, context, true}});
  // At one token every kernel is memory-bound. Bytes by hand (BF16 = 2 bytes):
  const double d = 4096, q = 4096, kv = 1024, ffn = 14336, layers = 32, vocab = 128256;
  const double matmul_weights = layers * (d * (q + 2 * kv) + q * d + 3 * d * ffn) * 2;
  const double matmul_activations = layers * ((d + q + 2 * kv) + (q + d) + (d + 2 * ffn) + (ffn + d)) * 2;
  const double lm_head = d * vocab * 2 + (d + vocab) * 2;
  const double kv_read = layers * (context + 1) * 2 * kv * 2;
  const double kv_write = layers * 1 * 2 * kv * 2;
  const double attention_activations = layers * 2 * q * 2;
  const double elementwise = layers * 10 * d * 2 + d * (2 + 2);  // 10 passes per layer; embedding row
  const Efficiency& e = gpu.efficiency;
  const double expected_s = (matmul_weights + matmul_activations + lm_head + elementwise) / (gpu.hbm_bytes_per_s * e.memory) +
                            (kv_read + kv_write + attention_activations) / (gpu.hbm_bytes_per_s * e.attention_memory) +
                            (layers * 5 + 1) * e.kernel_overhead_s + (layers * 6 + 1) * e.elementwise_kernel_s;
  const double actual_s = total_time_s(gpu, Precision::bf16, w);
  INFO("Expectation: " << expected_s << " s  Actual: " << actual_s << " s");
  // The blend of the two roofs adds (compute_s / memory_s)^2 / 2 of each kernel's
  // memory time for p = 2: at one token compute_s / memory_s is about
  // (2 FLOPs / 2 bytes) * 3.35e12 B/s / 989e12 FLOP/s * (0.90 / 0.72) = 4e-3, so
  // under 1e-5 of the total.
  REQUIRE(e.roofline_exponent == 2.0);
  CHECK(actual_s == Approx(expected_s).epsilon(1e-5));
  CHECK(actual_s >= expected_s);
}

TEST_CASE("no kernel time falls below the physical floor, for every preset, precision and batch") {
  const std::vector<std::vector<SequenceWork>> batches = {
      {SequenceWork{1, 0, true}},                                  // first decode step
      {SequenceWork{1, 100000, true}},                             // decode at long context
      std::vector<SequenceWork>(256, SequenceWork{1, 4000, true}), // large decode batch
      {SequenceWork{8192, 0, false}},                              // prefill chunk
      {SequenceWork{4096, 60000, true}, SequenceWork{1, 500, true}}, // mixed
  };
  for (const auto& [gpu_name, gpu] : test::catalog().gpus) {
    for (const auto& [model_name, model] : test::catalog().models) {
      for (Precision weights : {Precision::bf16, Precision::fp8, Precision::int8, Precision::int4}) {
        for (Precision kv : {Precision::bf16, Precision::fp8, Precision::int4}) {
          for (const auto& batch : batches) {
            for (int tp : {1, 8}) {
              if (model.heads % tp != 0 || (model.moe && model.moe->expert_ffn_dim % tp != 0)) continue;
              const StageWork w = stage_work(model, Precisions{weights, kv}, Sharding{tp, 1, 0}, batch);
              const double peak = gpu.peak_for(weights == Precision::fp8 ? Precision::fp8 : Precision::bf16);
              // Sparse attention's indexer runs in FP8 whatever the weights: its FLOPs
              // at the FP8 peak.
              const double indexer_flops = w[KernelClass::indexer].flops;
              const double floor_s =
                  std::max((w.flops() - indexer_flops) / std::max(peak, gpu.peak_for(Precision::bf16)) +
                               indexer_flops / gpu.peak_for(Precision::fp8),
                           w.hbm_bytes() / gpu.hbm_bytes_per_s);
              const StageTiming t = stage_time(gpu, weights, w);
              INFO(gpu_name << " " << model_name << " tp " << tp << " batch of " << batch.size());
              CHECK(t.compute_s >= floor_s);
              CHECK(t.compute_s >= t.floor_s);
              // The floor of a decode: its weights and KV cache must cross HBM once.
              CHECK(t.compute_s >= (w.weight_bytes_read + w.kv_bytes_read) / gpu.hbm_bytes_per_s);
            }
          }
        }
      }
    }
  }
}

TEST_CASE("FP8 weights halve the weight bytes and use the FP8 peak where the GPU has one") {
  const ModelSpec& m = test::catalog().models.at("llama-3.1-70b");
  const GpuSpec& h100 = test::catalog().gpus.at("h100-sxm");
  const std::vector<SequenceWork> prefill = {SequenceWork{8192, 0, true}};
  const StageWork bf16 = stage_work(m, {Precision::bf16, Precision::bf16}, Sharding{8, 1, 0}, prefill);
  const StageWork fp8 = stage_work(m, {Precision::fp8, Precision::bf16}, Sharding{8, 1, 0}, prefill);
  // Every matrix halves but the LM head's (d x vocab / tp), which the checkpoint keeps
  // in BF16 (QuantizedParts' default).
  const double lm_head_bytes = static_cast<double>(m.d_model) * m.vocab_tokens / 8 * 2.0;
  CHECK(fp8.weight_bytes_read == Approx((bf16.weight_bytes_read - lm_head_bytes) / 2 + lm_head_bytes).epsilon(1e-12));
  const KernelTiming mlp_bf16 = stage_time(h100, Precision::bf16, bf16).by_class[static_cast<int>(KernelClass::mlp)];
  const KernelTiming mlp_fp8 = stage_time(h100, Precision::fp8, fp8).by_class[static_cast<int>(KernelClass::mlp)];
  REQUIRE(mlp_bf16.compute_bound);
  const Efficiency& e = h100.efficiency;
  const double overhead_s = fp8[KernelClass::mlp].kernels * e.kernel_overhead_s;
  // The FP8 MLP's compute term runs at the FP8 peak (1978.9 vs 989.4 TFLOP/s dense) at
  // the FP8 GEMMs' own fraction of it, blended with its memory term as every kernel is
  // (models/roofline.hpp).
  REQUIRE(e.compute_fp8 < e.compute);
  const double compute_s = fp8[KernelClass::mlp].flops / (h100.peak_for(Precision::fp8) * e.compute_fp8);
  const double memory_s = fp8[KernelClass::mlp].hbm_bytes / (h100.hbm_bytes_per_s * e.memory);
  const double p = e.roofline_exponent;
  const double expected_s = std::pow(std::pow(compute_s, p) + std::pow(memory_s, p), 1.0 / p) + overhead_s;
  CHECK(mlp_fp8.time_s == Approx(expected_s).epsilon(1e-12));
  CHECK(mlp_fp8.time_s < mlp_bf16.time_s);
  // The BF16 LM head runs at the BF16 peak at the BF16 GEMMs' fraction: its time is
  // what it takes in the BF16 model.
  const int head = static_cast<int>(KernelClass::bf16_matmuls);
  CHECK(fp8[KernelClass::lm_head].flops == 0.0);
  CHECK(fp8[KernelClass::bf16_matmuls].flops == Approx(bf16[KernelClass::lm_head].flops).epsilon(1e-12));
  CHECK(stage_time(h100, Precision::fp8, fp8).by_class[head].time_s ==
        Approx(stage_time(h100, Precision::bf16, bf16).by_class[static_cast<int>(KernelClass::lm_head)].time_s)
            .epsilon(1e-12));
}

TEST_CASE("NVFP4 weights run the dense matmuls on a B200's FP4 tensor cores at their own measured fraction of the peak") {
  // The B200 preset: 9,000 TFLOP/s dense FP4 at compute_fp4 of it (cuBLAS and DeepGEMM
  // FP4 GEMMs at 4,096-8,192 tokens: 50-63% of the peak; see the preset's sources),
  // below its BF16 GEMMs' fraction of theirs. The MLP of an 8,192-token prefill is
  // compute-bound; its time is the blended roofline of models/roofline.hpp.
  const ModelSpec& m = test::catalog().models.at("llama-3.1-70b");
  const GpuSpec& b200 = test::catalog().gpus.at("b200");
  const Efficiency& e = b200.efficiency;
  REQUIRE(e.compute_fp4 < e.compute);
  const StageWork fp4 = stage_work(m, {Precision::nvfp4, Precision::bf16}, Sharding{8, 1, 0}, {SequenceWork{8192, 0, true}});
  const KernelTiming mlp = stage_time(b200, Precision::nvfp4, fp4).by_class[static_cast<int>(KernelClass::mlp)];
  const double compute_s = fp4[KernelClass::mlp].flops / (9000e12 * e.compute_fp4);
  const double memory_s = fp4[KernelClass::mlp].hbm_bytes / (b200.hbm_bytes_per_s * e.memory);
  const double p = e.roofline_exponent;
  const double expected_s = std::pow(std::pow(compute_s, p) + std::pow(memory_s, p), 1.0 / p) +
                            fp4[KernelClass::mlp].kernels * e.kernel_overhead_s;
  CHECK(mlp.time_s == Approx(expected_s).epsilon(1e-12));
}

TEST_CASE("routed experts stream their weights at the preset's experts_memory, compute at its experts_compute, and pay "
          "five launches per layer") {
  const ModelSpec& m = test::catalog().models.at("qwen3-235b-a22b");
  const GpuSpec& h200 = test::catalog().gpus.at("h200");
  const MoeSpec& e = *m.moe;
  int moe_layers = 0;
  for (int l = 0; l < m.layers; ++l) moe_layers += m.ffn(l) == Ffn::experts ? 1 : 0;
  REQUIRE(moe_layers > 0);
  // TP8 without expert parallelism: each GPU holds every expert's 1536 / 8 = 192
  // columns in FP8, the shape of the published kernel benchmark below.
  const double expert_bytes = 3.0 * m.d_model * e.expert_ffn_dim / 8 * 1.0;
  auto layer_time_s = [&](long tokens) {
    const std::vector<SequenceWork> batch(static_cast<std::size_t>(tokens), SequenceWork{1, 1000, true});
    const StageWork w = stage_work(m, {Precision::fp8, Precision::bf16}, Sharding{8, 1, 0}, batch);
    return std::make_pair(stage_time(h200, Precision::fp8, w).by_class[static_cast<int>(KernelClass::experts)], w);
  };
  for (const long tokens : {1L, 8L, 16L, 32L}) {
    INFO(tokens << " tokens");
    const auto [timing, w] = layer_time_s(tokens);
    // Formula: distinct experts E (1 - (1 - k/E)^T) read once each, activations per
    // assignment, at experts_memory; FLOPs at the FP8 peak; five launches a layer.
    const double distinct = e.experts * (1.0 - std::pow(1.0 - static_cast<double>(e.top_k) / e.experts, tokens));
    const double assignments = static_cast<double>(tokens) * e.top_k;
    const double bytes = distinct * expert_bytes + assignments * (2.0 * m.d_model + 3.0 * e.expert_ffn_dim / 8) * 2.0;
    const double flops = 2.0 * assignments * 3.0 * m.d_model * e.expert_ffn_dim / 8;
    CHECK(w[KernelClass::experts].hbm_bytes == Approx(moe_layers * bytes).epsilon(1e-9));
    CHECK(w[KernelClass::experts].kernels == 5 * moe_layers);
    const double compute_s = moe_layers * flops / (h200.peak_for(Precision::fp8) * h200.efficiency.experts_compute);
    const double memory_s = moe_layers * bytes / (h200.hbm_bytes_per_s * h200.efficiency.experts_memory);
    CHECK(timing.time_s == Approx(std::hypot(compute_s, memory_s) + 5 * moe_layers * h200.efficiency.kernel_overhead_s)
                               .epsilon(1e-9));
  }
  // Against the measurement: sgl-project/sglang PR 11730, Triton fused-MoE kernel for
  // Qwen3-235B-A22B FP8 at TP8 on H200 (untuned config): 31.7, 66.9, 92.4 and 125.0 us
  // per layer at 1, 8, 16 and 32 tokens. Within 20% each (the per-launch overhead is
  // the H100 operator fit's, not this kernel's).
  const std::vector<std::pair<long, double>> measured_us = {{1, 31.7}, {8, 66.9}, {16, 92.4}, {32, 125.0}};
  for (const auto& [tokens, us] : measured_us) {
    INFO(tokens << " tokens: measured " << us << " us");
    CHECK(layer_time_s(tokens).first.time_s / moe_layers * 1e6 == Approx(us).epsilon(0.20));
  }
}

TEST_CASE("many tokens per expert: the fused-MoE kernel runs at the preset's experts_compute, as vLLM's default "
          "configuration measures") {
  // vllm-project/vllm PR 24700: benchmark_moe.py on an H100, Qwen3-30B-A3B in FP8
  // w8a8 (E=128, N=768, K=2048, top-8), vLLM main's default configuration (its times
  // differ from the PR's proposed defaults at every batch size: no tuned file in use).
  const ModelSpec& m = test::catalog().models.at("qwen3-30b-a3b");
  const GpuSpec& h100 = test::catalog().gpus.at("h100-sxm");
  const MoeSpec& e = *m.moe;
  REQUIRE(e.experts == 128);
  REQUIRE(e.top_k == 8);
  REQUIRE(e.expert_ffn_dim == 768);
  REQUIRE(m.d_model == 2048);
  int moe_layers = 0;
  for (int l = 0; l < m.layers; ++l) moe_layers += m.ffn(l) == Ffn::experts ? 1 : 0;
  REQUIRE(moe_layers > 0);
  const std::vector<std::pair<long, double>> measured_us = {{1024, 536.33}, {2048, 911.64}, {4096, 1647.57}};
  for (const auto& [tokens, us] : measured_us) {
    INFO(tokens << " tokens: measured " << us << " us");
    const std::vector<SequenceWork> batch(static_cast<std::size_t>(tokens), SequenceWork{1, 1000, true});
    const StageWork w = stage_work(m, {Precision::fp8, Precision::bf16}, Sharding{1, 1, 0}, batch);
    const KernelTiming t = stage_time(h100, Precision::fp8, w).by_class[static_cast<int>(KernelClass::experts)];
    // Formula: every token's top-8 assignments, 2 x 3 x d_model x N FLOPs each, at
    // experts_compute of the FP8 peak; the kernel is compute-bound here.
    const double flops = 2.0 * static_cast<double>(tokens) * e.top_k * 3.0 * m.d_model * e.expert_ffn_dim;
    CHECK(w[KernelClass::experts].flops == Approx(moe_layers * flops).epsilon(1e-9));
    CHECK(t.compute_bound);
    const double compute_s = flops / (h100.peak_for(Precision::fp8) * h100.efficiency.experts_compute);
    CHECK(t.time_s / moe_layers >= compute_s);
    // Against the measurement, within 10% (the per-launch overhead and the blend of
    // the two roofs are the dense operator fit's, not this kernel's).
    CHECK(t.time_s / moe_layers * 1e6 == Approx(us).epsilon(0.10));
  }
}

TEST_CASE("prefill attention on an H100 runs at FlashAttention-3's measured speed from 512 to 16k keys") {
  // FlashAttention-3's forward pass, BF16, head dim 128, as its paper sizes it: batch x
  // sequence length = 16k tokens, 16 heads (2,048 query columns), each query row
  // attending to all S keys. Measured TFLOP/s (4 x batch x S^2 x 2048 FLOPs over the
  // time): the FA3 paper's chart and pytorch/benchmark PR 2391's flash_v3 run.
  const GpuSpec& h100 = test::catalog().gpus.at("h100-sxm");
  const double tokens = 16384, width = 2048;
  const std::vector<double> lengths = {512, 1024, 2048, 4096, 8192, 16384};
  const std::vector<double> paper = {467, 565, 625, 638, 646, 648};
  const std::vector<double> tritonbench = {430.32, 517.10, 565.54, 590.23, 614.23, 620.73};
  for (std::size_t i = 0; i < lengths.size(); ++i) {
    const double s = lengths[i];
    INFO(s << " keys: measured " << paper[i] << " and " << tritonbench[i] << " TFLOP/s");
    StageWork w;
    KernelWork& attention = w[KernelClass::attention];
    attention.flops = 4.0 * tokens * s * width;
    attention.flops_per_key = 4.0 * tokens * width;
    attention.hbm_bytes = 4.0 * tokens * width * 2.0;  // Q, K, V and O once, BF16
    attention.kernels = 1;
    const KernelTiming t = stage_time(h100, Precision::bf16, w).by_class[static_cast<int>(KernelClass::attention)];
    CHECK(t.compute_bound);
    // The query tiles' fixed work performs no FLOPs: never below the FLOPs at the
    // preset's efficiency, and slower at short key lengths than at long ones.
    CHECK(t.time_s >= attention.flops / (989.4e12 * h100.efficiency.attention_compute));
    const double tflops = attention.flops / t.time_s / 1e12;
    // The fit leaves every point of both series within 6.0% (the series themselves
    // differ by 4-9%): 6.5% allowed.
    CHECK(tflops == Approx(paper[i]).epsilon(0.065));
    CHECK(tflops == Approx(tritonbench[i]).epsilon(0.065));
  }
}

TEST_CASE("softmax attention's FLOPs per key are 4 x query width x query tokens, decode and prefill alike") {
  const ModelSpec& m = test::catalog().models.at("llama-3.1-8b");
  const std::vector<SequenceWork> batch = {SequenceWork{1, 3000, true}, SequenceWork{512, 100, true}};
  const StageWork w = stage_work(m, {Precision::bf16, Precision::bf16}, Sharding{2, 1, 0}, batch);
  const double query_width = static_cast<double>(m.heads) * m.head_dim / 2;  // TP2
  CHECK(w[KernelClass::attention].flops_per_key == Approx(m.layers * 4.0 * query_width * 513).epsilon(1e-12));
  // And the FLOPs: every query token times the keys it sees (c + n/2 on average).
  CHECK(w[KernelClass::attention].flops ==
        Approx(m.layers * 4.0 * query_width * (1 * (3000 + 0.5) + 512 * (100 + 256))).epsilon(1e-12));
}

TEST_CASE("busy power is static + J/byte x bytes/s + J/FLOP x FLOP/s, capped at the board limit") {
  for (const auto& [name, gpu] : test::catalog().gpus) {
    INFO(name);
    const PowerCoefficients& k = gpu.power;
    const WorkRates light{0.5e12, 20e12, 0};  // a decode step's order of magnitude
    const double expected = k.static_w + k.j_per_hbm_byte * 0.5e12 + k.j_per_flop_bf16 * 20e12;
    CHECK(busy_power_w(gpu, light) == Approx(std::min(expected, gpu.power_max_w)).epsilon(1e-12));
    const WorkRates fp8{0, 0, 100e12};
    CHECK(busy_power_w(gpu, fp8) ==
          Approx(std::min(k.static_w + k.j_per_flop_fp8 * 100e12, gpu.power_max_w)).epsilon(1e-12));
    const WorkRates fp4{0, 0, 0, 100e12};
    CHECK(busy_power_w(gpu, fp4) ==
          Approx(std::min(k.static_w + k.j_per_flop_fp4 * 100e12, gpu.power_max_w)).epsilon(1e-12));
    // Far beyond any roof the formula would exceed the board limit: the cap holds.
    const WorkRates beyond{1e15, 1e18, 0};
    CHECK(k.static_w + k.j_per_hbm_byte * 1e15 + k.j_per_flop_bf16 * 1e18 > gpu.power_max_w);
    CHECK(busy_power_w(gpu, beyond) == gpu.power_max_w);
    CHECK(communication_power_w(gpu) == Approx(k.static_w + k.collective_w));
    CHECK(host_wait_power_w(gpu) == Approx(k.static_w));
  }
}

TEST_CASE("no preset's collective power exceeds HBM streaming at its scale-up link's rate both ways") {
  // A GPU in a collective reads what it sends and writes what it receives through its
  // HBM, at most at the link's rate in each direction: what it can draw above static
  // power is at most 2 x link bytes/s x J per HBM byte (tools/fit_serving.py bounds
  // the fit so; the link's own energy is counted apart, per byte). 0.1% for the
  // catalog's four significant figures.
  for (const auto& [name, gpu] : test::catalog().gpus) {
    INFO(name << " on " << gpu.scale_up);
    const double link_bytes_per_s = test::catalog().fabrics.at(gpu.scale_up).bandwidth_bytes_per_s;
    CHECK(gpu.power.collective_w >= 0);
    CHECK(gpu.power.collective_w <= 2 * link_bytes_per_s * gpu.power.j_per_hbm_byte * 1.001);
  }
}

TEST_CASE("an H200 does not draw less than an H100 on the same memory-bound work (same die, faster HBM)") {
  const GpuSpec& h100 = test::catalog().gpus.at("h100-sxm");
  const GpuSpec& h200 = test::catalog().gpus.at("h200");
  // 10 GB of weights streamed at each GPU's memory roof, 2 FLOPs per byte.
  const double bytes = 10e9;
  const double h100_s = bytes / (h100.hbm_bytes_per_s * h100.efficiency.memory);
  const double h200_s = bytes / (h200.hbm_bytes_per_s * h200.efficiency.memory);
  const double h100_w = busy_power_w(h100, WorkRates{bytes / h100_s, 2 * bytes / h100_s, 0});
  const double h200_w = busy_power_w(h200, WorkRates{bytes / h200_s, 2 * bytes / h200_s, 0});
  INFO("H100 " << h100_w << " W, H200 " << h200_w << " W");
  CHECK(h200_w >= h100_w);
}

TEST_CASE("FP4 matmuls run on FP4 tensor cores where the GPU has them, their roof drawing what BF16's does") {
  // B200: FP4 peak 9,000 dense TFLOPS at compute_fp4 against BF16's 2,250 at compute,
  // at the same 1,000 W; no preset gives j_per_flop_fp4, so the catalog takes
  // j_per_flop_bf16 x (2,250 x compute) / (9,000 x compute_fp4).
  const GpuSpec& b200 = test::catalog().gpus.at("b200");
  REQUIRE(b200.peak_for(Precision::nvfp4) == 4 * b200.peak_for(Precision::bf16));
  CHECK(b200.power.j_per_flop_fp4 ==
        Approx(b200.power.j_per_flop_bf16 * b200.efficiency.compute / (4 * b200.efficiency.compute_fp4)).epsilon(1e-12));
  StageWork work;
  work[KernelClass::mlp].flops = 6e12;        // a matmul
  work[KernelClass::attention].flops = 1e12;  // not a matmul: BF16
  for (Precision p : {Precision::nvfp4, Precision::mxfp4}) {
    const WorkRates on_b200 = work_rates(b200, p, work, 0.5);
    CHECK(on_b200.fp4_flops_per_s == Approx(12e12));
    CHECK(on_b200.fp8_flops_per_s == 0.0);
    CHECK(on_b200.bf16_flops_per_s == Approx(2e12));
  }
  // An H100 has no FP4 tensor cores: FP4 weights are dequantised and multiplied in BF16.
  const GpuSpec& h100 = test::catalog().gpus.at("h100-sxm");
  REQUIRE(h100.peak_flops_per_s.count(Precision::nvfp4) == 0);
  const WorkRates on_h100 = work_rates(h100, Precision::nvfp4, work, 0.5);
  CHECK(on_h100.fp4_flops_per_s == 0.0);
  CHECK(on_h100.bf16_flops_per_s == Approx(14e12));
}

TEST_CASE("each kernel class's roof is its peak and efficiencies on the GPU, for every preset and precision") {
  for (const auto& [name, gpu] : test::catalog().gpus) {
    for (const Precision weights : {Precision::bf16, Precision::fp8, Precision::nvfp4, Precision::int4}) {
      INFO(name << " " << precision_name(weights));
      const StagePeaks peaks = stage_peaks(gpu, weights);
      const bool native = weights != Precision::bf16 && weights != Precision::int4 && gpu.peak_flops_per_s.count(weights);
      const double bf16 = gpu.peak_flops_per_s.at(Precision::bf16);
      const double fp8 = gpu.peak_flops_per_s.count(Precision::fp8) ? gpu.peak_flops_per_s.at(Precision::fp8) : bf16;
      for (int i = 0; i < kKernelClasses; ++i) {
        const auto c = static_cast<KernelClass>(i);
        const ClassRoof& roof = peaks.by_class[static_cast<std::size_t>(i)];
        const bool matmul = c == KernelClass::projections || c == KernelClass::mlp || c == KernelClass::lm_head ||
                            c == KernelClass::experts;
        const double peak = matmul ? (native ? gpu.peak_flops_per_s.at(weights) : bf16)
                            : c == KernelClass::indexer ? fp8
                                                        : bf16;
        const double memory = c == KernelClass::attention || c == KernelClass::indexer ? gpu.efficiency.attention_memory
                              : c == KernelClass::experts                              ? gpu.efficiency.experts_memory
                                                                                       : gpu.efficiency.memory;
        const double overhead =
            c == KernelClass::elementwise ? gpu.efficiency.elementwise_kernel_s : gpu.efficiency.kernel_overhead_s;
        CHECK(roof.peak_flops_per_s == peak);
        const bool fp8_matmul = matmul && weights == Precision::fp8 && native;
        const bool fp4_matmul = matmul && weights == Precision::nvfp4 && native;
        const double compute = c == KernelClass::experts     ? gpu.efficiency.experts_compute
                               : c == KernelClass::attention ? gpu.efficiency.attention_compute
                               : fp8_matmul                  ? gpu.efficiency.compute_fp8
                               : fp4_matmul                  ? gpu.efficiency.compute_fp4
                                                             : gpu.efficiency.compute;
        CHECK(roof.compute_flops_per_s == Approx(peak * compute).epsilon(1e-15));
        CHECK(roof.memory_bytes_per_s == Approx(gpu.hbm_bytes_per_s * memory).epsilon(1e-15));
        CHECK(roof.overhead_per_kernel_s == overhead);
        CHECK(roof.overhead_keys == (c == KernelClass::attention ? gpu.efficiency.attention_row_overhead_tokens : 0.0));
      }
    }
  }
}
