// The busiest expert-parallel rank and MLA's two forms, against hand-worked cases.

#include <cmath>

#include <catch2/catch.hpp>

#include "models/transformer_cost.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;

namespace {

// One MoE layer of 8 experts (top 2, 16 columns each) over a 32-wide model: the
// hand-worked expert-parallel cases below.
ModelSpec tiny_moe() {
  MoeSpec moe;
  moe.experts = 8;
  moe.top_k = 2;
  moe.expert_ffn_dim = 16;
  ModelSpec m;
  m.name = "tiny-moe";
  m.layers = 1;
  m.d_model = 32;
  m.heads = 2;
  m.kv_heads = 2;
  m.head_dim = 16;
  m.vocab_tokens = 64;
  m.ffn_pattern = "E";
  m.moe = moe;
  return m;
}

}  // namespace

TEST_CASE("the expected largest of n standard normals follows Blom's quantile (n - 0.375) / (n + 0.25)") {
  // Standard normal table: the 0.72222 quantile is 0.5895, the 0.92647 quantile 1.4342.
  CHECK(expected_max_standard_normal(1) == 0.0);
  CHECK(expected_max_standard_normal(2) == Approx(0.5895).margin(2e-4));
  CHECK(expected_max_standard_normal(8) == Approx(1.4342).margin(2e-4));
  // Exact values for comparison (Tippett 1925): 0.5642 for 2, 1.4236 for 8.
  CHECK(expected_max_standard_normal(2) == Approx(0.5642).margin(0.03));
  CHECK(expected_max_standard_normal(8) == Approx(1.4236).margin(0.03));
}

TEST_CASE("the busiest of 2 expert-parallel ranks: 8 experts, top 2, one token, worked by hand") {
  MoeSpec moe;
  moe.experts = 8;
  moe.top_k = 2;
  moe.expert_ffn_dim = 16;
  // q = 1 - (1 - 2/8)^1 = 0.25 that an expert is touched; a rank holds 4.
  // distinct: 4 x 0.25 + z2 sqrt(4 x 0.25 x 0.75) = 1 + 0.5895 x 0.8660 = 1.5105
  // assignments: 2 x 1/2 + z2 sqrt(2 x 1/2 x 1/2) = 1 + 0.5895 x 0.7071 = 1.4168
  const BusiestExpertRank r = busiest_expert_rank(moe, 2, 1.0);
  CHECK(r.distinct_experts == Approx(1.5105).margin(3e-4));
  CHECK(r.assignments == Approx(1.4168).margin(3e-4));
  // The mean rank: 4 x 0.25 = 1 distinct expert, 2 / 2 = 1 assignment.
  CHECK(r.mean_distinct_experts == Approx(1.0));
  CHECK(r.mean_assignments == Approx(1.0));
  // Without expert parallelism every GPU reads E q = 2 experts' slices, all 2 assignments.
  const BusiestExpertRank all = busiest_expert_rank(moe, 1, 1.0);
  CHECK(all.distinct_experts == Approx(2.0));
  CHECK(all.assignments == Approx(2.0));
  // Many tokens touch every expert: the busiest rank holds all 4 of its experts.
  CHECK(busiest_expert_rank(moe, 2, 1000.0).distinct_experts == Approx(4.0));
  // imbalance 1.5 scales the busiest rank's work, up to what it holds.
  moe.imbalance = 1.5;
  CHECK(busiest_expert_rank(moe, 2, 1.0).distinct_experts == Approx(1.5 * 1.5105).margin(5e-4));
}

TEST_CASE("MLA prefill FLOPs follow the un-absorbed form, decode the absorbed one (DeepSeek-V3)") {
  const ModelSpec& m = test::catalog().models.at("deepseek-v3");
  REQUIRE(m.mla);
  const double h = 128, nope = 128, rope = 64, v = 128, latent_rank = 512, layers = 61;
  // One prompt of 1,000 tokens over no context: n (c + n / 2) = 500,000 pairs per layer.
  const StageWork prefill = stage_work(m, Precisions{}, Sharding{}, {SequenceWork{1000, 0, true}});
  CHECK(prefill[KernelClass::attention].flops == Approx(layers * 2 * h * (nope + rope + v) * 500000.0));
  // One decode token over 999 cached: 1 x (999 + 1/2) pairs, absorbed 2 h (2 L + r) each.
  const StageWork decode = stage_work(m, Precisions{}, Sharding{}, {SequenceWork{1, 999, true}});
  CHECK(decode[KernelClass::attention].flops == Approx(layers * 2 * h * (2 * latent_rank + rope) * 999.5));
  // Per key (a query tile's fixed work is counted in these): each query token's FLOPs
  // for one more key, in the form its pairs run in.
  CHECK(prefill[KernelClass::attention].flops_per_key == Approx(layers * 2 * h * (nope + rope + v) * 1000));
  CHECK(decode[KernelClass::attention].flops_per_key == Approx(layers * 2 * h * (2 * latent_rank + rope)));
}

TEST_CASE("an expert-parallel step waits for the busiest GPU's bytes, while energy follows the mean GPU's") {
  const ModelSpec m = tiny_moe();
  const StageWork w = stage_work(m, Precisions{}, Sharding{2, 1, 0, 2, 1}, {SequenceWork{1, 0, true}});
  // One token on EP2 (the case above): the busiest rank reads 1.5105 experts, the mean
  // rank 1, each 3 d cols BF16 weights; assignments 1.4168 against 1, each moving
  // (2 d + 3 cols) BF16 activations through the grouped GEMMs and (3 cols + d) through
  // silu_and_mul and moe_sum.
  const double expert_bytes = 3.0 * 32 * 16 * 2.0;
  const double assignment_bytes = (2.0 * 32 + 3.0 * 16) * 2.0 + (3.0 * 16 + 32) * 2.0;
  CHECK(w.busiest_excess_bytes ==
        Approx((1.5105 - 1.0) * expert_bytes + (1.4168 - 1.0) * assignment_bytes).margin(0.5));
  CHECK(w.mean_gpu_hbm_bytes() == Approx(w.hbm_bytes() - w.busiest_excess_bytes));
}

TEST_CASE("vLLM's fused-experts kernels pass over every token's rows on every expert-parallel GPU") {
  const ModelSpec m = tiny_moe();
  Sharding local{2, 1, 0, 2, 1};
  Sharding all_rows = local;
  all_rows.moe_kernels_see_all_rows = true;
  const std::vector<SequenceWork> one_token{SequenceWork{1, 0, true}};
  const StageWork a = stage_work(m, Precisions{}, local, one_token);
  const StageWork b = stage_work(m, Precisions{}, all_rows, one_token);
  // One token, top 2: 2 rows. The busiest GPU's own experts take 1.4168 of them (the
  // case above), the mean GPU's 1; with every row passed, each GPU sees both.
  const double rows = 2.0, busiest = 1.4168, mean = 1.0;
  const double pass_bytes = (3.0 * 16 + 32) * 2.0;  // silu_and_mul reads 2 cols, writes 1; moe_sum reads d
  const double zero_bytes = (2.0 * 16 + 32) * 2.0;  // zeros stored by gate+up (2 cols) and down (d)
  CHECK(b[KernelClass::elementwise].hbm_bytes - a[KernelClass::elementwise].hbm_bytes ==
        Approx((rows - busiest) * pass_bytes).margin(0.05));
  CHECK(b[KernelClass::experts].hbm_bytes - a[KernelClass::experts].hbm_bytes ==
        Approx((rows - busiest) * zero_bytes).margin(0.05));
  // The mean GPU, which energy follows, sees one row more of each kind.
  CHECK(b.mean_gpu_hbm_bytes() - a.mean_gpu_hbm_bytes() == Approx((rows - mean) * (pass_bytes + zero_bytes)).margin(0.05));
  // Without expert parallelism every GPU holds every expert: nothing changes.
  Sharding tp_only{2, 1, 0, 1, 1};
  Sharding tp_only_all = tp_only;
  tp_only_all.moe_kernels_see_all_rows = true;
  CHECK(stage_work(m, Precisions{}, tp_only_all, one_token).hbm_bytes() ==
        stage_work(m, Precisions{}, tp_only, one_token).hbm_bytes());
}
