// The catalog of presets: a fixture catalog written by the test loads into the
// typed specs; malformed presets are rejected with located messages; the real
// catalog loads and its models' published parameter counts match their shapes.

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>
#include <unistd.h>

#include "models/architecture.hpp"
#include "sim/scenario/catalog.hpp"
#include "sim/scenario/config_error.hpp"
#include "tests/support/catalog_fixture.hpp"

namespace convsim {
namespace {

namespace fs = std::filesystem;
using test::error_of;
using test::kEngine;
using test::kFabric;
using test::kGpu;
using test::kModel;
using test::load_error;
using test::TempCatalog;
using test::with_line;

}  // namespace

TEST_CASE("a fixture catalog loads into the typed presets", "[scenario][catalog]") {
  const TempCatalog tmp;
  tmp.write("gpus/h100-sxm.yaml", kGpu);
  tmp.write("fabrics/nvlink4.yaml", kFabric);
  tmp.write("models/llama-2-7b.yaml", kModel);
  tmp.write("models/README.md", "not a preset; ignored\n");

  const Catalog c = load_catalog(tmp.dir());
  REQUIRE(c.gpus.count("h100-sxm") == 1);
  const GpuSpec& gpu = c.gpus.at("h100-sxm");
  CHECK(gpu.peak_flops_per_s.at(Precision::bf16) == 989e12);
  CHECK(gpu.peak_flops_per_s.at(Precision::fp8) == 1979e12);
  CHECK(gpu.peak_for(Precision::int4) == 989e12);  // falls back to bf16
  CHECK(gpu.hbm_bytes == 80e9);
  CHECK(gpu.hbm_bytes_per_s == 3.35e12);
  CHECK(gpu.power_idle_w == 70);
  CHECK(gpu.power_max_w == 700);
  CHECK(gpu.efficiency.compute == 0.6);
  CHECK(gpu.efficiency.memory == 0.9);
  CHECK(gpu.efficiency.kernel_overhead_s == Efficiency{}.kernel_overhead_s);  // default
  CHECK(gpu.sources == std::vector<std::string>{"NVIDIA H100 datasheet"});

  REQUIRE(c.fabrics.count("nvlink4") == 1);
  const FabricSpec& fabric = c.fabrics.at("nvlink4");
  CHECK(fabric.kind == FabricKind::scale_up);
  CHECK(fabric.bandwidth_bytes_per_s == 450e9);
  CHECK(fabric.latency_s == 3e-6);
  CHECK(fabric.energy_j_per_byte == 1.3e-11);

  REQUIRE(c.models.size() == 1);
  const ModelSpec& model = c.models.at("llama-2-7b");
  CHECK(model.layers == 32);
  CHECK(model.ffn_dim == 11008);
  CHECK(model.gated_mlp);
  CHECK_FALSE(model.tied_embeddings);
  CHECK(model.max_context_tokens == 4096);
  CHECK(model.params_published == 6.74e9);
}

TEST_CASE("an opened catalog reads only the presets looked up, and a malformed one fails where it is used",
          "[scenario][catalog]") {
  const TempCatalog tmp;
  tmp.write("gpus/h100-sxm.yaml", kGpu);
  tmp.write("fabrics/nvlink4.yaml", kFabric);
  tmp.write("models/llama-2-7b.yaml", kModel);
  tmp.write("models/broken.yaml", "name: broken\nlayers: [\n");

  const Catalog c = open_catalog(tmp.dir());
  CHECK(c.models.names() == std::vector<std::string>{"broken", "llama-2-7b"});  // listed, not read
  CHECK(c.models.size() == 2);
  CHECK(c.gpus.at("h100-sxm").hbm_bytes == 80e9);
  CHECK(c.models.at("llama-2-7b").layers == 32);
  const std::string error = error_of([&] { c.models.find("broken"); });
  CHECK(error.rfind(tmp.dir() + "/models/broken.yaml:", 0) == 0);
  CHECK(c.models.count("broken") == 1);  // still unread: the next use fails the same way
  CHECK_THROWS_AS(c.models.begin(), ConfigError);
  CHECK(load_error(tmp.dir()).rfind(tmp.dir() + "/models/broken.yaml:", 0) == 0);
}

TEST_CASE("an opened catalog checks a GPU's scale-up fabric when the GPU is looked up", "[scenario][catalog]") {
  const TempCatalog tmp;
  tmp.write("gpus/h100-sxm.yaml", with_line(kGpu, "power_max_w: 700", "power_max_w: 700\nscale_up: ib-ndr"));
  tmp.write("fabrics/nvlink4.yaml", kFabric);
  const Catalog c = open_catalog(tmp.dir());
  const std::string error = error_of([&] { c.gpus.find("h100-sxm"); });
  CHECK(error == tmp.dir() + "/gpus/h100-sxm.yaml:8:11: scale_up: 'ib-ndr' is not a scale-up fabric preset; "
                             "allowed: nvlink4");
}

TEST_CASE("default_catalog_dir follows CONVSIM_CATALOG or else the source tree",
          "[scenario][catalog]") {
  const char* saved = std::getenv("CONVSIM_CATALOG");
  const std::string saved_value = saved ? saved : "";
  ::setenv("CONVSIM_CATALOG", "/somewhere/catalog", 1);
  CHECK(default_catalog_dir() == "/somewhere/catalog");
  ::unsetenv("CONVSIM_CATALOG");
  CHECK(default_catalog_dir() == std::string(CONVSIM_SOURCE_DIR) + "/models/catalog");
  if (saved) ::setenv("CONVSIM_CATALOG", saved_value.c_str(), 1);
}

TEST_CASE("malformed presets are rejected with located messages", "[scenario][catalog]") {
  struct Case {
    const char* rule;
    std::string file;  // relative to the catalog folder
    std::string text;
    std::string expected;  // after "<catalog>/<file>"
  };
  const std::vector<Case> cases = {
      {"unknown key with a did-you-mean", "gpus/h100-sxm.yaml",
       with_line(kGpu, "hbm_bytes: 80e9", "hbm_byte: 80e9"),
       ":4:1: unknown key 'hbm_byte' in the GPU preset; did you mean 'hbm_bytes'?"},
      {"peak of an unknown precision", "gpus/h100-sxm.yaml",
       with_line(kGpu, "fp8: 1979e12", "fp4: 1979e12"),
       ":3:34: unknown key 'fp4' in peak_flops_per_s; did you mean 'fp8'?"},
      {"bf16 peak is required", "gpus/h100-sxm.yaml",
       with_line(kGpu, "{bf16: 989e12, fp8: 1979e12}", "{fp8: 1979e12}"),
       ":3:19: peak_flops_per_s: missing required key 'bf16'"},
      {"idle power must stay below the board limit", "gpus/h100-sxm.yaml",
       with_line(kGpu, "power_idle_w: 70", "power_idle_w: 700"),
       ":6:15: power_idle_w = 700 must be < power_max_w = 700"},
      {"the bare idle is not above the idle with a context", "gpus/h100-sxm.yaml",
       with_line(kGpu, "power_idle_w: 70", "power_idle_w: 70\npower_bare_idle_w: 90"),
       ":7:20: power_bare_idle_w = 90 must be <= power_idle_w = 70: an open CUDA context adds to the bare idle, it "
       "does not take from it"},
      {"the minimum power limit lies above the bare idle", "gpus/h100-sxm.yaml",
       with_line(kGpu, "power_idle_w: 70", "power_idle_w: 70\npower_bare_idle_w: 60\nmin_power_limit_w: 60"),
       ":8:20: min_power_limit_w = 60 must be in (power_bare_idle_w, power_max_w] = (60, 700]: a cap at or below "
       "the GPU's draw at its lowest clock leaves no clock to run at"},
      {"efficiency is a fraction", "gpus/h100-sxm.yaml",
       with_line(kGpu, "compute: 0.6", "compute: 1.5"),
       ":8:23: efficiency.compute must be in (0, 1], got 1.5"},
      {"the experts' compute efficiency is a fraction", "gpus/h100-sxm.yaml",
       with_line(kGpu, "memory: 0.9}", "memory: 0.9, experts_compute: 0}"),
       ":8:58: efficiency.experts_compute must be in (0, 1], got 0"},
      {"the attention kernels' compute efficiency is a fraction", "gpus/h100-sxm.yaml",
       with_line(kGpu, "memory: 0.9}", "memory: 0.9, attention_compute: 1.2}"),
       ":8:60: efficiency.attention_compute must be in (0, 1], got 1.2"},
      {"the FP8 GEMMs' compute efficiency is a fraction", "gpus/h100-sxm.yaml",
       with_line(kGpu, "memory: 0.9}", "memory: 0.9, compute_fp8: 1.5}"),
       ":8:54: efficiency.compute_fp8 must be in (0, 1], got 1.5"},
      {"the FP4 GEMMs' compute efficiency is a fraction", "gpus/h100-sxm.yaml",
       with_line(kGpu, "memory: 0.9}", "memory: 0.9, compute_fp4: 0}"),
       ":8:54: efficiency.compute_fp4 must be in (0, 1], got 0"},
      {"a query tile's fixed work is not negative", "gpus/h100-sxm.yaml",
       with_line(kGpu, "memory: 0.9}", "memory: 0.9, attention_row_overhead_tokens: -52}"),
       ":8:72: efficiency.attention_row_overhead_tokens must be in [0, 65536], got -52"},
      {"a missing required key points at the preset", "gpus/h100-sxm.yaml",
       with_line(kGpu, "hbm_bytes_per_s: 3.35e12\n", ""),
       ":1:1: missing required key 'hbm_bytes_per_s'"},
      {"the file name must be the preset's name", "gpus/h100.yaml", kGpu,
       ":1:7: name 'h100-sxm' must equal the file name 'h100' (without .yaml)"},
      {"a GPU's scale_up names a scale-up fabric preset", "gpus/h100-sxm.yaml",
       with_line(kGpu, "power_max_w: 700", "power_max_w: 700\nscale_up: nvlink9"),
       ":8:11: scale_up: 'nvlink9' is not a scale-up fabric preset; allowed: none"},
      {"fabric kind is scale_up or scale_out", "fabrics/nvlink4.yaml",
       with_line(kFabric, "kind: scale_up", "kind: scale_sideways"),
       ":2:7: kind: unknown value 'scale_sideways'; allowed: scale_up, scale_out"},
      {"optics belong to links between nodes", "fabrics/nvlink4.yaml",
       with_line(kFabric, "energy_j_per_byte: 1.3e-11", "energy_j_per_byte: 1.3e-11\noptics_w_per_port: 8.5"),
       ":7:20: optics_w_per_port is a scale-out fabric's (optical modules on the links between nodes); a scale-up "
       "fabric's links are counted by energy_j_per_byte and switch_w_per_port"},
      {"optics power is not negative", "fabrics/nvlink4.yaml",
       with_line(with_line(kFabric, "kind: scale_up", "kind: scale_out"), "energy_j_per_byte: 1.3e-11",
                 "energy_j_per_byte: 1.3e-11\noptics_w_per_port: -8.5"),
       ":7:20: optics_w_per_port must be >= 0, got -8.5"},
      {"a multicast all-reduce is no faster than the link", "fabrics/nvlink4.yaml",
       with_line(kFabric, "latency_s: 3e-6", "latency_s: 3e-6\nmulticast_allreduce_bytes_per_s: 500e9"),
       ":6:34: multicast_allreduce_bytes_per_s must be in [0, 450000000000], got 500e9"},
      {"only scale-up switches reduce", "fabrics/nvlink4.yaml",
       with_line(with_line(kFabric, "kind: scale_up", "kind: scale_out"), "latency_s: 3e-6",
                 "latency_s: 3e-6\nmulticast_allreduce_bytes_per_s: 200e9"),
       ":6:34: multicast_allreduce_bytes_per_s is a scale-up switch's that reduces (NVLink SHARP), above 0 and at "
       "most bandwidth_bytes_per_s"},
      {"the architecture is one of dense, moe, hybrid, ssm", "models/llama-2-7b.yaml",
       with_line(kModel, "architecture: dense", "architecture: rnn"),
       ":3:15: architecture: unknown value 'rnn'; allowed: dense, moe, hybrid, ssm"},
      {"experts in the FFN pattern need a moe: section", "models/llama-2-7b.yaml",
       with_line(kModel, "ffn_dim: 11008", "ffn_dim: 11008\nffn_pattern: E"),
       ":10:14: ffn_pattern: a mixture-of-experts model needs both an E in ffn_pattern and a moe: section"},
      {"state-space layers need an ssm: section", "models/llama-2-7b.yaml",
       with_line(kModel, "ffn_dim: 11008", "ffn_dim: 11008\nmixer_pattern: SA"),
       ":10:16: mixer_pattern: state-space layers (S) need an ssm: section"},
      {"sliding-window layers need a window", "models/llama-2-7b.yaml",
       with_line(kModel, "ffn_dim: 11008", "ffn_dim: 11008\nmixer_pattern: WA"),
       ":10:16: mixer_pattern: sliding-window layers (W) need window_tokens"},
      {"a layer pattern uses known letters only", "models/llama-2-7b.yaml",
       with_line(kModel, "ffn_dim: 11008", "ffn_dim: 11008\nmixer_pattern: AX"),
       ":10:16: mixer_pattern: unknown letter 'X' in 'AX'; allowed: A (attention), W (sliding window), "
       "S (state space), N (none)"},
      {"a model labelled moe has experts", "models/llama-2-7b.yaml",
       with_line(kModel, "architecture: dense", "architecture: moe"),
       ":3:15: architecture: 'moe' does not match the layers (no experts, no state-space layers): moe has experts, "
       "ssm and hybrid have state-space layers (S), dense has neither"},
      {"no more active parameters than parameters", "models/llama-2-7b.yaml",
       with_line(kModel, "params_published: 6.74e9", "params_published: 6.74e9\nactive_params_published: 7e9"),
       ":15:26: active_params_published = 7000000000 must be <= params_published = 6740000000: a token goes through "
       "at most every parameter"},
      {"kv_heads must divide heads", "models/llama-2-7b.yaml",
       with_line(kModel, "kv_heads: 32", "kv_heads: 6"),
       ":7:11: kv_heads = 6 must divide heads = 32"},
      {"sizes are positive integers", "models/llama-2-7b.yaml",
       with_line(kModel, "layers: 32", "layers: 0"),
       ":4:9: layers must be in [1, 10000], got 0"},
      {"sources are a list", "models/llama-2-7b.yaml",
       with_line(kModel, "sources: [Touvron et al. 2023, Llama 2]", "sources: Touvron"),
       ":15:10: sources: expected a non-empty list of strings, got 'Touvron'"},
      {"an FP4 energy per FLOP is not negative", "gpus/h100-sxm.yaml",
       with_line(kGpu, "efficiency: {compute: 0.6, memory: 0.9}\n",
                 "efficiency: {compute: 0.6, memory: 0.9}\npower_coefficients: {static_w: 150, j_per_hbm_byte: 1.4e-10, "
                 "j_per_flop_bf16: 8e-13, j_per_flop_fp4: -1e-13, collective_w: 0}\n"),
       ":9:102: power_coefficients.j_per_flop_fp4 must be >= 0, got -1e-13"},
      // BF16 roof 989e12 x 0.6 = 5.934e14 FLOP/s: 150 + 1e-12 x 5.934e14 = 743.4 W; at most
      // (700 - 150) / 5.934e14 = 9.269e-13 J.
      {"the tensor cores at their roof draw at most the board limit", "gpus/h100-sxm.yaml",
       with_line(kGpu, "efficiency: {compute: 0.6, memory: 0.9}\n",
                 "efficiency: {compute: 0.6, memory: 0.9}\npower_coefficients: {static_w: 150, j_per_hbm_byte: 1.4e-10, j_per_flop_bf16: 1e-12, collective_w: 0}\n"),
       ":9:79: j_per_flop_bf16 = 1e-12 J puts a GPU with its tensor cores at their bf16 roof (5.934e+14 FLOP/s) at "
       "static_w + j_per_flop_bf16 x FLOP/s = 743.4 W, above power_max_w = 700 W: allowed at most 9.269e-13 J"},
      // FP8 roof 1979e12 x 0.6 = 1.1874e15 FLOP/s: 150 + 5e-13 x 1.1874e15 = 743.7 W; at
      // most 550 / 1.1874e15 = 4.632e-13 J (BF16's 8e-13 J at its roof: 624.7 W).
      {"so do the FP8 tensor cores at theirs", "gpus/h100-sxm.yaml",
       with_line(kGpu, "efficiency: {compute: 0.6, memory: 0.9}\n",
                 "efficiency: {compute: 0.6, memory: 0.9}\npower_coefficients: {static_w: 150, j_per_hbm_byte: 1.4e-10, j_per_flop_bf16: 8e-13, j_per_flop_fp8: 5e-13, collective_w: 0}\n"),
       ":9:102: j_per_flop_fp8 = 5e-13 J puts a GPU with its tensor cores at their fp8 roof (1.187e+15 FLOP/s) at "
       "static_w + j_per_flop_fp8 x FLOP/s = 743.7 W, above power_max_w = 700 W: allowed at most 4.632e-13 J"},
      {"an engine's time per iteration is a profile's, not a stall's", "engines/vllm.yaml",
       with_line(kEngine, "iteration_host_s: 0.0018", "iteration_host_s: 5"),
       ":3:19: iteration_host_s must be in [0, 1], got 5"},
      {"a GPU's fixed cost per kernel is microseconds, at most a millisecond", "gpus/h100-sxm.yaml",
       with_line(kGpu, "efficiency: {compute: 0.6, memory: 0.9}", "efficiency: {compute: 0.6, kernel_overhead_s: 1e9}"),
       ":8:47: efficiency.kernel_overhead_s must be in [0, 0.001], got 1e9"},
      {"an engine's per-sequence time is not negative", "engines/vllm.yaml",
       with_line(kEngine, "host_s_per_sequence: 24e-6", "host_s_per_sequence: -24e-6"),
       ":4:22: host_s_per_sequence must be in [0, 0.01], got -24e-6"},
      {"an engine's per-sequence time runs on the host or the GPU", "engines/vllm.yaml",
       with_line(kEngine, "per_sequence_runs_on: gpu", "per_sequence_runs_on: cpu"),
       ":5:23: per_sequence_runs_on: unknown value 'cpu'; allowed: host, gpu"},
      {"an engine's expert-parallel kernels see all rows or the local ones", "engines/vllm.yaml",
       with_line(kEngine, "moe_expert_rows: all", "moe_expert_rows: some"),
       ":10:18: moe_expert_rows: unknown value 'some'; allowed: all, local"},
      {"an engine profile states which rows its expert-parallel kernels see", "engines/vllm.yaml",
       with_line(kEngine, "moe_expert_rows: all\n", ""),
       ":1:1: missing required key 'moe_expert_rows'"},
      {"an engine quantises matmul inputs apart or fused into their producers", "engines/vllm.yaml",
       with_line(kEngine, "activation_quantisation: separate", "activation_quantisation: sometimes"),
       ":11:26: activation_quantisation: unknown value 'sometimes'; allowed: separate, fused"},
      {"an engine profile states how it quantises matmul inputs", "engines/vllm.yaml",
       with_line(kEngine, "activation_quantisation: separate\n", ""),
       ":1:1: missing required key 'activation_quantisation'"},
      {"an engine profile says whether its prefix cache serves SSM models", "engines/vllm.yaml",
       with_line(kEngine, "ssm_prefix_caching: disabled", "ssm_prefix_caching: sometimes"),
       ":12:21: ssm_prefix_caching: unknown value 'sometimes'; allowed: cached, disabled"},
      {"an engine profile states its prefix cache's SSM support", "engines/vllm.yaml",
       with_line(kEngine, "ssm_prefix_caching: disabled\n", ""),
       ":1:1: missing required key 'ssm_prefix_caching'"},
      {"an engine profile names an implemented engine", "engines/vllm.yaml",
       with_line(kEngine, "name: vllm", "name: tgi"),
       ":1:7: no serving engine implementation is named 'tgi' (there are: vllm, sglang, trtllm)"},
      {"YAML syntax errors are located", "models/llama-2-7b.yaml",
       with_line(kModel, "layers: 32", "layers: 32: 33"),
       ":4:11: YAML syntax error: illegal map value"},
  };
  for (const Case& c : cases) {
    INFO(c.rule);
    const TempCatalog tmp;
    const std::string path = tmp.write(c.file, c.text);
    CHECK(load_error(tmp.dir()) == path + c.expected);
  }
}

TEST_CASE("a missing catalog folder is an error", "[scenario][catalog]") {
  CHECK(load_error("/nonexistent-convsim-catalog") ==
        "/nonexistent-convsim-catalog: cannot read catalog folder");
}

TEST_CASE("the real catalog loads and each model's shape gives its published parameter count",
          "[scenario][catalog]") {
  const std::string dir = default_catalog_dir();
  bool has_files = false;
  std::error_code error;
  for (const auto& entry : fs::recursive_directory_iterator(dir, error)) {
    if (entry.path().extension() == ".yaml") has_files = true;
  }
  REQUIRE(has_files);  // an empty catalog is a broken checkout, not a pass
  Catalog catalog;
  try {
    catalog = load_catalog(dir);
  } catch (const ConfigError& e) {
    FAIL(e.what());
  }
  for (const auto& [name, model] : catalog.models) {
    const double computed = total_params(model);
    INFO(name << ": total_params from the shape = " << computed
              << ", params_published = " << model.params_published);
    CHECK(std::fabs(computed - model.params_published) <= 0.02 * model.params_published);
  }
}

TEST_CASE("an FP8 or FP4 FLOP costs BF16's over the ratio of the roofs unless a preset says otherwise",
          "[scenario][catalog]") {
  // The tensor cores of each precision at their roof draw what BF16's do: on the
  // fixture H100 (989 and 1979 TFLOP/s) an FP8 FLOP costs 989/1979 of a BF16 one; a
  // B300's FP4 runs at 13.5 PFLOP/s against 2.25 for BF16, so its FLOP costs a sixth,
  // not the quarter that halving per precision would give (and its roof would then
  // draw 1.5x what the BF16 roof does).
  const TempCatalog tmp;
  tmp.write("gpus/h100-sxm.yaml", with_line(kGpu, "efficiency: {compute: 0.6, memory: 0.9}\n",
                                            "efficiency: {compute: 0.6, memory: 0.9}\npower_coefficients: {static_w: "
                                            "150, j_per_hbm_byte: 1.4e-10, j_per_flop_bf16: 8e-13, collective_w: 0}\n"));
  tmp.write("fabrics/nvlink4.yaml", kFabric);
  tmp.write("models/llama-2-7b.yaml", kModel);
  const Catalog fixture = load_catalog(tmp.dir());
  CHECK(fixture.gpus.at("h100-sxm").power.j_per_flop_fp8 == Approx(8e-13 * 989e12 / 1979e12).epsilon(1e-12));
  // Where FP8 GEMMs reach another fraction of their peak than BF16's (the roofs are
  // peak x efficiency), the FP8 roof still draws what the BF16 roof does: at 0.5 of
  // the FP8 peak against 0.6 of BF16's, 8e-13 x (989 x 0.6) / (1979 x 0.5) J.
  const TempCatalog fp8;
  fp8.write("gpus/h100-sxm.yaml",
            with_line(kGpu, "efficiency: {compute: 0.6, memory: 0.9}\n",
                      "efficiency: {compute: 0.6, compute_fp8: 0.5, memory: 0.9}\npower_coefficients: {static_w: "
                      "150, j_per_hbm_byte: 1.4e-10, j_per_flop_bf16: 8e-13, collective_w: 0}\n"));
  fp8.write("fabrics/nvlink4.yaml", kFabric);
  fp8.write("models/llama-2-7b.yaml", kModel);
  const GpuSpec at_fp8 = load_catalog(fp8.dir()).gpus.at("h100-sxm");
  CHECK(at_fp8.power.j_per_flop_fp8 == Approx(8e-13 * 989e12 * 0.6 / (1979e12 * 0.5)).epsilon(1e-12));
  CHECK(at_fp8.power.static_w + at_fp8.power.j_per_flop_fp8 * 1979e12 * 0.5 ==
        Approx(150 + 8e-13 * 989e12 * 0.6).epsilon(1e-12));
  const Catalog catalog = load_catalog(default_catalog_dir());
  // The real catalog: each roof is peak x its precision's efficiency (B300 FP4 at six
  // times the BF16 peak, B200 FP8 at twice and FP4 at four times).
  const GpuSpec& b300 = catalog.gpus.at("b300");
  REQUIRE(b300.peak_for(Precision::nvfp4) == Approx(6 * b300.peak_for(Precision::bf16)));
  const Efficiency& e300 = b300.efficiency;
  CHECK(b300.power.j_per_flop_fp4 ==
        Approx(b300.power.j_per_flop_bf16 * e300.compute / (6 * e300.compute_fp4)).epsilon(1e-12));
  const GpuSpec& b200 = catalog.gpus.at("b200");
  const Efficiency& e200 = b200.efficiency;
  CHECK(b200.power.j_per_flop_fp8 ==
        Approx(b200.power.j_per_flop_bf16 * e200.compute / (2 * e200.compute_fp8)).epsilon(1e-12));
  CHECK(b200.power.j_per_flop_fp4 ==
        Approx(b200.power.j_per_flop_bf16 * e200.compute / (4 * e200.compute_fp4)).epsilon(1e-12));
}

TEST_CASE("a system preset's carrier read from its two header lines equals the preset's own", "[scenario][catalog]") {
  // The real catalog: every system's GPU and GPUs per node, header scan against full read.
  const Catalog opened = open_catalog(default_catalog_dir());
  const std::vector<SystemCarrier> carriers = system_carriers(opened);
  const Catalog loaded = load_catalog(default_catalog_dir());
  REQUIRE(carriers.size() == loaded.systems.size());
  REQUIRE(!carriers.empty());
  for (const SystemCarrier& c : carriers) {
    INFO(c.name);
    CHECK(c.gpu == loaded.systems.at(c.name).gpu);
    CHECK(c.gpus_per_node == loaded.systems.at(c.name).gpus_per_node);
  }
  // Header lines that are not plain one-line values are read as YAML: a quoted GPU
  // name and a flow-style document give the same carrier; a malformed one its error.
  const std::string tail =
      "power_max_w: 10200\ncpu_idle_w: 200\ncpu_active_w: 700\ndram_idle_w: 96\ndram_active_w: 192\n"
      "nvme_drives: 8\nnvme_idle_w: 5\nnvme_read_w: 14\nnvme_write_w: 18\nnic_ports: 12\nnic_w_per_port: 20.7\n"
      "fans_w: 300\npsu_efficiency: 0.95\ngpu_hour_usd: 3\nsources: [a datasheet]\n";
  const TempCatalog tmp;
  tmp.write("systems/quoted.yaml", "name: quoted\ndescription: q\ngpu: \"h100-sxm\"\ngpus_per_node: 8 # a DGX\n" + tail);
  tmp.write("systems/plain.yaml", "name: plain\ndescription: p\ngpu: b200   # comment\ngpus_per_node: 4\n" + tail);
  tmp.write("gpus/h100-sxm.yaml", kGpu);
  tmp.write("gpus/b200.yaml", with_line(kGpu, "name: h100-sxm", "name: b200"));
  const Catalog c = open_catalog(tmp.dir());
  const std::vector<SystemCarrier> two = system_carriers(c);
  REQUIRE(two.size() == 2);
  CHECK(two[0].name == "plain");
  CHECK(two[0].gpu == "b200");
  CHECK(two[0].gpus_per_node == 4);
  CHECK(c.systems.unread_file("plain") != nullptr);  // taken from its header lines alone
  CHECK(two[1].name == "quoted");
  CHECK(two[1].gpu == "h100-sxm");
  CHECK(two[1].gpus_per_node == 8);
  CHECK(c.systems.unread_file("quoted") == nullptr);  // read as YAML
  const TempCatalog bad;
  const std::string path = bad.write("systems/broken.yaml", "name: broken\ndescription: b\ngpu: [h100-sxm\n" + tail);
  CHECK(error_of([&] { system_carriers(open_catalog(bad.dir())); }).rfind(path + ":", 0) == 0);
}

TEST_CASE("a system preset naming a GPU the catalog does not have is refused at its gpu key", "[scenario][catalog]") {
  const TempCatalog tmp;
  tmp.write("gpus/h100-sxm.yaml", kGpu);
  tmp.write("systems/typo.yaml", "name: typo\ndescription: t\ngpu: h100-sx\ngpus_per_node: 8\npower_max_w: 10200\n"
                                 "gpu_hour_usd: 3\nsources: [a datasheet]\n");
  const Catalog c = open_catalog(tmp.dir());
  CHECK(error_of([&] { system_carriers(c); }) ==
        tmp.dir() + "/systems/typo.yaml:3:6: gpu: unknown GPU preset 'h100-sx'; available: h100-sxm");
}

}  // namespace convsim
