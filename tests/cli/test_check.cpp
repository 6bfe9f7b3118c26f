// convsim check: the one line on a TP group's all-reduces, by buffer size, as the
// scenario's engine runs them on its GPU (vLLM's tables in its profile, the custom
// kernels' limits of csrc/custom_all_reduce.cuh).

#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "tests/support/cli_run.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace ::convsim::test;

namespace {

// The output of `convsim check` of `scenario` (a path under the source tree) with `sets`.
std::string check_output(const Workspace& w, const std::string& sets,
                         const std::string& scenario_file = "scenarios/podcast-10h.yaml") {
  const std::string scenario = source_path(scenario_file);
  REQUIRE(run_convsim(fmt::format("check '{}' {}", scenario, sets), w.path("log")) == 0);
  return read_file(w.path("log"));
}

}  // namespace

TEST_CASE("convsim check says which all-reduce a TP group runs at which buffer size") {
  const Workspace w("check-allreduce");
  // vLLM on B200 at TP 8: custom kernels below 1 MiB, one stage below 256 KiB, then
  // multimem below 128 MiB (all_reduce_utils.py, SM 10.0).
  const std::string b200 = check_output(w, "--set cluster.gpu=b200");
  INFO(b200);
  CHECK(b200.find("  tensor-parallel all-reduce (vllm on b200, tp 8): the engine's kernels below 1 MiB (one stage "
                  "below 256 KiB), symmetric memory (multimem) below 128 MiB, NCCL's ring above\n") !=
        std::string::npos);
  // SGLang keeps its kernels to their 8 MiB buffer; at TP 4 one stage below 512 KiB.
  const std::string sglang =
      check_output(w, "--set serving.engine=sglang --set parallelism.tp=4 --set parallelism.pp=16");
  INFO(sglang);
  CHECK(sglang.find("(sglang on h100-sxm, tp 4): the engine's kernels below 8 MiB (one stage below 512 KiB), NCCL's "
                    "ring above\n") != std::string::npos);
  // One GPU per stage: no all-reduce, no line.
  const std::string tp1 = check_output(w, "--set parallelism.tp=1", "scenarios/plan-70b-call-centre.yaml");
  INFO(tp1);
  CHECK(tp1.find("all-reduce") == std::string::npos);
}
