// Engine profiles (sim/scenario/engine_reader.cpp): host figures by GPU preset and
// symmetric-memory all-reduce limits by architecture, read into the profile, and
// refused at their key when malformed.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "sim/scenario/catalog.hpp"
#include "tests/support/catalog_fixture.hpp"

namespace convsim {
namespace {

using test::kEngine;
using test::kFabric;
using test::kGpu;
using test::load_error;
using test::TempCatalog;
using test::with_line;

constexpr double kMiB = 1024.0 * 1024.0;

// The error of a fixture catalog (kGpu, kFabric) whose vLLM profile is `engine`,
// prefixed by that profile's path.
std::string engine_error(const std::string& engine, std::string* path) {
  const TempCatalog tmp;
  tmp.write("gpus/h100-sxm.yaml", kGpu);
  tmp.write("fabrics/nvlink4.yaml", kFabric);
  *path = tmp.write("engines/vllm.yaml", engine);
  return load_error(tmp.dir());
}

// kEngine with `table` (symm_mem_allreduce and its entries) after its allreduce key.
std::string with_symm_mem(const std::string& table) {
  return with_line(kEngine, "allreduce: custom\n", "allreduce: custom\nsymm_mem_allreduce:\n" + table);
}

}  // namespace

TEST_CASE("an engine's host figures for a GPU preset replace its shared pair on that GPU only", "[scenario][catalog]") {
  const TempCatalog tmp;
  tmp.write("gpus/h100-sxm.yaml", kGpu);
  tmp.write("fabrics/nvlink4.yaml", kFabric);
  const std::string by_gpu = "host_by_gpu:\n  h100-sxm: {iteration_host_s: 0.0007, host_s_per_sequence: 35e-6}\n";
  tmp.write("engines/vllm.yaml", with_line(kEngine, "per_sequence_runs_on", by_gpu + "per_sequence_runs_on"));
  const Catalog c = load_catalog(tmp.dir());
  const EngineProfile& engine = c.engines.at("vllm");
  const EngineProfile on_h100 = engine.on_gpu("h100-sxm");
  CHECK(on_h100.iteration_host_s == 0.0007);
  CHECK(on_h100.host_s_per_sequence == 35e-6);
  const EngineProfile elsewhere = engine.on_gpu("a100-sxm");  // no entry: the shared pair
  CHECK(elsewhere.iteration_host_s == 0.0018);
  CHECK(elsewhere.host_s_per_sequence == 24e-6);
}

TEST_CASE("an engine's host figures name GPU presets, with the shared pair's ranges", "[scenario][catalog]") {
  struct Case {
    const char* rule;
    std::string entry;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"a GPU the catalog does not have", "  h100-sx: {iteration_host_s: 0.0007, host_s_per_sequence: 35e-6}\n",
       ":6:3: unknown key 'h100-sx' in host_by_gpu; did you mean 'h100-sxm'?"},
      {"a name nothing like a GPU preset", "  tpu: {iteration_host_s: 0.0007, host_s_per_sequence: 35e-6}\n",
       ":6:3: unknown key 'tpu' in host_by_gpu; allowed: h100-sxm"},
      {"a GPU named twice",
       "  h100-sxm: {iteration_host_s: 0.0007, host_s_per_sequence: 35e-6}\n"
       "  h100-sxm: {iteration_host_s: 0.0009, host_s_per_sequence: 35e-6}\n",
       ":7:3: duplicate key 'h100-sxm' in host_by_gpu"},
      {"a negative time per sequence", "  h100-sxm: {iteration_host_s: 0.0007, host_s_per_sequence: -1}\n",
       ":6:61: host_by_gpu.h100-sxm.host_s_per_sequence must be in [0, 0.01], got -1"},
      {"a missing figure", "  h100-sxm: {iteration_host_s: 0.0007}\n",
       ":6:13: host_by_gpu.h100-sxm: missing required key 'host_s_per_sequence'"},
  };
  for (const Case& c : cases) {
    INFO(c.rule);
    std::string path;
    const std::string error =
        engine_error(with_line(kEngine, "per_sequence_runs_on", "host_by_gpu:\n" + c.entry + "per_sequence_runs_on"),
                     &path);
    CHECK(error == path + c.expected);
  }
}

TEST_CASE("an engine's symmetric-memory limits are read per GPU architecture, in MiB, by TP world size",
          "[scenario][catalog]") {
  const TempCatalog tmp;
  tmp.write("gpus/h100-sxm.yaml", kGpu);
  tmp.write("fabrics/nvlink4.yaml", kFabric);
  tmp.write("engines/vllm.yaml", with_symm_mem("  sm90:\n    gpus: [h100-sxm]\n"
                                                "    custom_max_mib: {4: 32, 8: 0.25}\n"
                                                "    max_mib: {4: 32, 8: 64}\n"
                                                "    multimem_world_sizes: [8]\n"));
  const Catalog c = load_catalog(tmp.dir());
  const EngineProfile& engine = c.engines.at("vllm");
  const SymmMemAllReduce* symm = engine.symm_mem_on("h100-sxm");
  REQUIRE(symm != nullptr);
  CHECK(symm->custom_max_bytes.at(4) == 32 * kMiB);
  CHECK(symm->custom_max_bytes.at(8) == 256 * 1024);
  CHECK(symm->max_bytes.at(8) == 64 * kMiB);
  CHECK(symm->multimem_world_sizes == std::vector<int>{8});
  CHECK(engine.symm_mem_on("b200") == nullptr);  // a GPU no architecture names: off
}

TEST_CASE("malformed symmetric-memory limits are refused at their key", "[scenario][catalog]") {
  struct Case {
    const char* rule;
    std::string table;
    std::string expected;
  };
  const std::string limits = "    custom_max_mib: {8: 1}\n    max_mib: {8: 128}\n";
  const std::vector<Case> cases = {
      {"a GPU the catalog does not have", "  sm100:\n    gpus: [b200]\n" + limits,
       ":11:11: gpus: 'b200' is not a GPU preset; allowed: h100-sxm"},
      {"a world size the custom kernels do not serve", "  sm90:\n    gpus: [h100-sxm]\n"
                                                       "    custom_max_mib: {3: 1}\n    max_mib: {3: 128}\n",
       ":12:22: custom_max_mib: the world sizes are 2, 4, 6 and 8 (the custom kernels'), not '3'"},
      {"a limit of nothing", "  sm90:\n    gpus: [h100-sxm]\n    custom_max_mib: {8: 0}\n    max_mib: {8: 128}\n",
       ":12:25: symm_mem_allreduce.sm90.custom_max_mib.8 must be in [0.0009765625, 4096], got 0"},
      {"symmetric memory stopping before the custom kernels",
       "  sm90:\n    gpus: [h100-sxm]\n    custom_max_mib: {8: 4}\n    max_mib: {8: 2}\n",
       ":13:14: max_mib: world size 8 needs a limit of at least its custom_max_mib (4 MiB)"},
      {"a multimem world size without a limit",
       "  sm90:\n    gpus: [h100-sxm]\n" + limits + "    multimem_world_sizes: [4]\n",
       ":14:28: a multimem world size must be one of max_mib's world sizes"},
      {"a GPU in two architectures",
       "  sm90:\n    gpus: [h100-sxm]\n" + limits + "  sm90b:\n    gpus: [h100-sxm]\n" + limits,
       ":15:11: gpus: 'h100-sxm' is named by two architectures"},
      {"an unknown key", "  sm90:\n    gpus: [h100-sxm]\n" + limits + "    one_shot_mib: {8: 1}\n",
       ":14:5: unknown key 'one_shot_mib' in symm_mem_allreduce.sm90; allowed: gpus, custom_max_mib, max_mib, "
       "multimem_world_sizes"},
  };
  for (const Case& c : cases) {
    INFO(c.rule);
    std::string path;
    const std::string error = engine_error(with_symm_mem(c.table), &path);
    CHECK(error == path + c.expected);
  }
  INFO("symmetric memory with NCCL everywhere");
  std::string path;
  const std::string error = engine_error(
      with_line(with_symm_mem("  sm90:\n    gpus: [h100-sxm]\n" + limits), "allreduce: custom", "allreduce: nccl"),
      &path);
  CHECK(error ==
        path + ":10:3: symm_mem_allreduce sets where the custom kernels stop; with allreduce: nccl there are none");
}

}  // namespace convsim
