// convsim catalog: the presets with the figures that matter for sizing.

#include <iostream>

#include <fmt/format.h>

#include "models/architecture.hpp"
#include "sim/cli/commands.hpp"

namespace convsim::cli {

int command_catalog(const std::string& what) {
  const Catalog catalog = load_catalog(default_catalog_dir());
  if (what.empty() || what == "models") {
    std::cout << fmt::format("{:<16} {:>10} {:>10} {:>10} {:>14} {:>10}\n", "model", "params", "bf16 GB", "fp8 GB",
                             "KV kB/token", "context");
    for (const auto& [name, m] : catalog.models) {
      const double params = total_params(m);
      std::cout << fmt::format("{:<16} {:>9.2f}B {:>10.1f} {:>10.1f} {:>14.1f} {:>10}\n", name, params / 1e9,
                               params * 2 / 1e9, params / 1e9, kv_bytes_per_token(m, 2.0) / 1e3,
                               m.max_context_tokens);
    }
  }
  if (what.empty() || what == "gpus") {
    std::cout << fmt::format("\n{:<10} {:>12} {:>12} {:>8} {:>10} {:>8} {:>8}\n", "gpu", "bf16 TFLOP/s",
                             "fp8 TFLOP/s", "HBM GB", "HBM TB/s", "idle W", "max W");
    for (const auto& [name, g] : catalog.gpus) {
      std::cout << fmt::format("{:<10} {:>12.0f} {:>12.0f} {:>8.0f} {:>10.2f} {:>8.0f} {:>8.0f}\n", name,
                               g.peak_for(Precision::bf16) / 1e12, g.peak_for(Precision::fp8) / 1e12,
                               g.hbm_bytes / 1e9, g.hbm_bytes_per_s / 1e12, g.power_idle_w, g.power_max_w);
    }
  }
  if (what.empty() || what == "fabrics") {
    std::cout << fmt::format("\n{:<10} {:<10} {:>10} {:>11} {:>9}\n", "fabric", "kind", "GB/s/dir", "latency us",
                             "pJ/byte");
    for (const auto& [name, f] : catalog.fabrics) {
      std::cout << fmt::format("{:<10} {:<10} {:>10.0f} {:>11.1f} {:>9.1f}\n", name,
                               f.kind == FabricKind::scale_up ? "scale-up" : "scale-out",
                               f.bandwidth_bytes_per_s / 1e9, f.latency_s * 1e6, f.energy_j_per_byte * 1e12);
    }
  }
  return 0;
}

}  // namespace convsim::cli
