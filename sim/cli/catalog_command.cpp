// convsim catalog: the presets with the figures that matter for sizing.

#include <iostream>

#include <fmt/format.h>

#include "models/architecture.hpp"
#include "models/system_power.hpp"
#include "sim/cli/commands.hpp"
#include "sim/scenario/hf_config.hpp"

namespace convsim::cli {

int command_catalog(const std::string& what) {
  const Catalog catalog = load_catalog(default_catalog_dir());
  if (what.empty() || what == "models") {
    std::cout << fmt::format("{:<22} {:<7} {:>9} {:>9} {:>9} {:>9} {:>9} {:>12} {:>12} {:>9}\n", "model", "kind",
                             "params", "active", "bf16 GB", "fp8 GB", "nvfp4 GB", "KV kB/token", "state MB/seq",
                             "context");
    for (const auto& [name, m] : catalog.models) {
      const double params = total_params(m);
      // Weight bytes with the model's quantised parts in that precision (the rest BF16).
      std::cout << fmt::format("{:<22} {:<7} {:>8.2f}B {:>8.2f}B {:>9.1f} {:>9.1f} {:>9.1f} {:>12.1f} {:>12.2f} {:>9}\n",
                               name, m.architecture, params / 1e9, active_params(m) / 1e9,
                               weight_bytes(m, Precision::bf16) / 1e9, weight_bytes(m, Precision::fp8) / 1e9,
                               weight_bytes(m, Precision::nvfp4) / 1e9, kv_bytes_per_token(m, 2.0) / 1e3,
                               state_bytes_per_sequence(m, 2.0) / 1e6, m.max_context_tokens);
    }
    std::cout << "(KV per token at BF16 over the attention layers; sliding-window layers stop at their window)\n";
  }
  if (what.empty() || what == "gpus") {
    std::cout << fmt::format("\n{:<10} {:>12} {:>12} {:>12} {:>13} {:>13} {:>8} {:>10} {:>8} {:>8}\n", "gpu",
                             "bf16 TFLOP/s", "fp8 TFLOP/s", "int8 TOP/s", "nvfp4 TFLOP/s", "mxfp4 TFLOP/s", "HBM GB",
                             "HBM TB/s", "idle W", "max W");
    for (const auto& [name, g] : catalog.gpus) {
      auto peak = [&g](Precision p) {
        auto it = g.peak_flops_per_s.find(p);
        return it == g.peak_flops_per_s.end() ? std::string("-") : fmt::format("{:.0f}", it->second / 1e12);
      };
      std::cout << fmt::format("{:<10} {:>12} {:>12} {:>12} {:>13} {:>13} {:>8.0f} {:>10.2f} {:>8.0f} {:>8.0f}\n", name,
                               peak(Precision::bf16), peak(Precision::fp8), peak(Precision::int8),
                               peak(Precision::nvfp4), peak(Precision::mxfp4), g.hbm_bytes / 1e9,
                               g.hbm_bytes_per_s / 1e12, g.power_idle_w, g.power_max_w);
    }
  }
  if (what.empty() || what == "fabrics") {
    std::cout << fmt::format("\n{:<18} {:<10} {:>10} {:>11} {:>9} {:>12} {:>13}\n", "fabric", "kind", "GB/s/dir",
                             "latency us", "pJ/byte", "switch W/GPU", "optics W/port");
    for (const auto& [name, f] : catalog.fabrics) {
      std::cout << fmt::format("{:<18} {:<10} {:>10.0f} {:>11.1f} {:>9.1f} {:>12.1f} {:>13.1f}\n", name,
                               f.kind == FabricKind::scale_up ? "scale-up" : "scale-out",
                               f.bandwidth_bytes_per_s / 1e9, f.latency_s * 1e6, f.energy_j_per_byte * 1e12,
                               f.switch_w_per_port * f.switch_ports_per_gpu, f.optics_w_per_port);
    }
    std::cout << "(switch W per GPU: scale-up ports per GPU; scale-out one leaf port, plus the uplink and spine ports "
                 "across nodes; optics W per port: each end of a scale-out link)\n";
  }
  if (what.empty() || what == "systems") {
    std::cout << fmt::format("\n{:<12} {:<9} {:>5} {:>9} {:>12} {:>13} {:>10} {:>9}\n", "system", "gpu", "GPUs",
                             "max kW", "host idle W", "CPU active W", "NIC ports", "$/GPU-h");
    for (const auto& [name, sys] : catalog.systems) {
      std::cout << fmt::format("{:<12} {:<9} {:>5} {:>9.1f} {:>12.0f} {:>13.0f} {:>10} {:>9.2f}\n", name, sys.gpu,
                               sys.gpus_per_node, sys.power_max_w / 1e3, node_idle_w(sys), sys.cpu_active_w,
                               sys.nic_ports, sys.gpu_hour_usd);
    }
  }
  return 0;
}

int command_catalog_import(const std::string& path) {
  std::cout << hf_config_preset_yaml(path);
  return 0;
}

}  // namespace convsim::cli
