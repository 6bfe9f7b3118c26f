#pragma once
// A catalog folder written by a test, and small presets to write into it: the
// fixtures of the catalog's tests (tests/scenario/test_catalog*.cpp).

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "sim/scenario/catalog.hpp"
#include "sim/scenario/config_error.hpp"

namespace convsim::test {


// A catalog folder under the system's temp folder, removed at the end of the test.
class TempCatalog {
 public:
  TempCatalog() {
    static int counter = 0;
    dir_ = std::filesystem::temp_directory_path() /
           ("convsim_catalog_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  ~TempCatalog() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  TempCatalog(const TempCatalog&) = delete;
  TempCatalog& operator=(const TempCatalog&) = delete;

  // Writes `text` to `relative` ("gpus/h100-sxm.yaml") and returns its full path.
  std::string write(const std::string& relative, const std::string& text) const {
    const std::filesystem::path path = dir_ / relative;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
    return path.string();
  }
  std::string dir() const { return dir_.string(); }

 private:
  std::filesystem::path dir_;
};

inline const std::string kGpu = R"(name: h100-sxm
description: NVIDIA H100 SXM5 80 GB
peak_flops_per_s: {bf16: 989e12, fp8: 1979e12}
hbm_bytes: 80e9
hbm_bytes_per_s: 3.35e12
power_idle_w: 70
power_max_w: 700
efficiency: {compute: 0.6, memory: 0.9}
sources: [NVIDIA H100 datasheet]
notes: dense peaks, no sparsity
)";

inline const std::string kFabric = R"(name: nvlink4
kind: scale_up
description: NVLink 4 through NVSwitch
bandwidth_bytes_per_s: 450e9
latency_s: 3e-6
energy_j_per_byte: 1.3e-11
sources: [NVIDIA DGX H100 user guide]
)";

// Llama-2-7B's published shape.
inline const std::string kModel = R"(name: llama-2-7b
description: Llama 2 7B
architecture: dense
layers: 32
d_model: 4096
heads: 32
kv_heads: 32
head_dim: 128
ffn_dim: 11008
gated_mlp: true
vocab_tokens: 32000
tied_embeddings: false
max_context_tokens: 4096
params_published: 6.74e9
sources: [Touvron et al. 2023, Llama 2]
)";

// A serving-engine profile with every required figure.
inline const std::string kEngine = R"(name: vllm
description: vLLM
iteration_host_s: 0.0018
host_s_per_sequence: 24e-6
per_sequence_runs_on: gpu
default_max_batch_seqs: 1024
default_prefill_chunk_tokens: 8192
allreduce: custom
moe_all_to_all_kernel_s: 41.6e-6
moe_expert_rows: all
activation_quantisation: separate
ssm_prefix_caching: disabled
sources: [vLLM engine arguments]
)";

// The message of the ConfigError `f` throws, or "(no error)".
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

inline std::string load_error(const std::string& dir) {
  return error_of([&] { load_catalog(dir); });
}

inline std::string with_line(const std::string& text, const std::string& from, const std::string& to) {
  std::string out = text;
  const auto at = out.find(from);
  REQUIRE(at != std::string::npos);
  out.replace(at, from.size(), to);
  return out;
}

}  // namespace convsim::test
