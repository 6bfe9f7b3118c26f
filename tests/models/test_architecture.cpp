#include <catch2/catch.hpp>

#include "models/architecture.hpp"
#include "models/transformer_cost.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;

TEST_CASE("every catalog model's parameter count is within 2% of its published total") {
  for (const auto& [name, model] : test::catalog().models) {
    INFO(name << ": computed " << total_params(model) << ", published " << model.params_published);
    CHECK(total_params(model) == Approx(model.params_published).epsilon(0.02));
  }
}

TEST_CASE("KV bytes per token are 2 * layers * kv_heads * head_dim * element bytes") {
  const ModelSpec& m = test::catalog().models.at("llama-3.1-8b");
  // Llama-3.1-8B: 32 layers, 8 KV heads of 128: 2 * 32 * 8 * 128 * 2 bytes = 131072.
  CHECK(kv_bytes_per_token(m, 2.0) == 131072.0);
  CHECK(kv_bytes_per_token(m, 1.0) == 65536.0);
}

TEST_CASE("a stage's layers and KV heads split evenly, the first stages taking the remainder") {
  CHECK(stage_layers(126, 8, 0) == 16);  // 126 = 6 * 16 + 2 * 15
  CHECK(stage_layers(126, 8, 5) == 16);
  CHECK(stage_layers(126, 8, 6) == 15);
  int sum = 0;
  for (int s = 0; s < 8; ++s) sum += stage_layers(126, 8, s);
  CHECK(sum == 126);
  const ModelSpec& m = test::catalog().models.at("llama-3.1-70b");
  CHECK(kv_heads_per_gpu(m, 4) == 2);
  CHECK(kv_heads_per_gpu(m, 16) == 1);  // fewer KV heads than GPUs: replicated
}

TEST_CASE("the weights held by all GPUs of a sharding add up to the model's weight bytes") {
  for (const auto& [name, model] : test::catalog().models) {
    for (int pp : {1, 2, 4}) {
      double sum = 0;
      for (int s = 0; s < pp; ++s) sum += stage_weight_bytes(model, Precision::bf16, Sharding{1, pp, s});
      INFO(name << " pp " << pp);
      CHECK(sum == Approx(2.0 * total_params(model)).epsilon(1e-9));
    }
  }
}
