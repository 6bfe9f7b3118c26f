#include "sim/scenario/catalog.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include <fmt/core.h>

#include "sim/scenario/config_error.hpp"
#include "sim/scenario/yaml_reader.hpp"

namespace convsim {

namespace {

namespace fs = std::filesystem;

std::vector<std::string> precision_list() {
  std::vector<std::string> names;
  const std::string all(precision_names());
  std::size_t start = 0;
  while (start < all.size()) {
    const std::size_t comma = all.find(", ", start);
    names.push_back(all.substr(start, comma == std::string::npos ? comma : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 2;
  }
  return names;
}

// The key `name` must be the file's stem, so a preset is found where its name says.
void check_name_matches_file(const MapReader& map, const std::string& name,
                             const std::string& stem) {
  if (name != stem) {
    map.locator().fail(map.spot("name"),
                       fmt::format("name '{}' must equal the file name '{}' (without .yaml)",
                                   name, stem));
  }
}

GpuSpec read_gpu(const MapReader& m) {
  m.allow_only({"name", "description", "peak_flops_per_s", "hbm_bytes", "hbm_bytes_per_s",
                "power_idle_w", "power_max_w", "efficiency", "power_coefficients", "sources", "notes"});
  const Locator& at = m.locator();
  GpuSpec gpu;
  gpu.name = m.string("name");
  gpu.description = m.string("description");

  const MapReader peaks = m.child("peak_flops_per_s");
  peaks.allow_only(precision_list());  // also rejects duplicates
  for (const auto& entry : peaks.node()) {
    const std::string& name = entry.first.Scalar();
    const auto precision = parse_precision(name);
    gpu.peak_flops_per_s[*precision] = peaks.number(name, Limits::positive());
  }
  if (!peaks.has("bf16")) peaks.get("bf16");  // reports the missing key

  gpu.hbm_bytes = m.number("hbm_bytes", Limits::positive());
  gpu.hbm_bytes_per_s = m.number("hbm_bytes_per_s", Limits::positive());
  gpu.power_idle_w = m.number("power_idle_w", Limits::at_least(0));
  gpu.power_max_w = m.number("power_max_w", Limits::positive());
  if (!(gpu.power_idle_w < gpu.power_max_w)) {
    at.fail(m.spot("power_idle_w"),
            fmt::format("power_idle_w = {} must be < power_max_w = {}",
                        format_number(gpu.power_idle_w), format_number(gpu.power_max_w)));
  }
  if (m.has("efficiency")) {
    const MapReader eff = m.child("efficiency");
    eff.allow_only({"compute", "memory", "attention_memory", "kernel_overhead_s", "elementwise_kernel_s"});
    const Limits fraction{0.0, true, 1.0};  // (0, 1]
    gpu.efficiency.compute = eff.number_or("compute", gpu.efficiency.compute, fraction);
    gpu.efficiency.memory = eff.number_or("memory", gpu.efficiency.memory, fraction);
    gpu.efficiency.attention_memory = eff.number_or("attention_memory", gpu.efficiency.attention_memory, fraction);
    gpu.efficiency.kernel_overhead_s =
        eff.number_or("kernel_overhead_s", gpu.efficiency.kernel_overhead_s, Limits::at_least(0));
    gpu.efficiency.elementwise_kernel_s =
        eff.number_or("elementwise_kernel_s", gpu.efficiency.elementwise_kernel_s, Limits::at_least(0));
  }
  if (m.has("power_coefficients")) {
    const MapReader k = m.child("power_coefficients");
    k.allow_only({"memory", "compute", "communication"});
    gpu.power.memory = k.number_or("memory", gpu.power.memory, Limits::at_least(0));
    gpu.power.compute = k.number_or("compute", gpu.power.compute, Limits::at_least(0));
    gpu.power.communication = k.number_or("communication", gpu.power.communication, Limits::between(0, 1));
  }
  gpu.sources = m.string_list("sources");
  m.string_or("notes", "");
  return gpu;
}

FabricSpec read_fabric(const MapReader& m) {
  m.allow_only({"name", "kind", "description", "bandwidth_bytes_per_s", "latency_s",
                "energy_j_per_byte", "sources", "notes"});
  FabricSpec fabric;
  fabric.name = m.string("name");
  fabric.kind = m.choice("kind", {"scale_up", "scale_out"}) == "scale_up"
                    ? FabricKind::scale_up
                    : FabricKind::scale_out;
  fabric.description = m.string("description");
  fabric.bandwidth_bytes_per_s = m.number("bandwidth_bytes_per_s", Limits::positive());
  fabric.latency_s = m.number("latency_s", Limits::at_least(0));
  fabric.energy_j_per_byte = m.number("energy_j_per_byte", Limits::at_least(0));
  fabric.sources = m.string_list("sources");
  m.string_or("notes", "");
  return fabric;
}

template <typename Spec>
void load_folder(const fs::path& folder, std::map<std::string, Spec>& out,
                 Spec (*read)(const MapReader&), const char* what) {
  std::error_code error;
  if (!fs::is_directory(folder, error)) return;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(folder, error)) {
    if (entry.path().extension() == ".yaml") files.push_back(entry.path());
  }
  if (error) throw ConfigError(fmt::format("{}: cannot read catalog folder", folder.string()));
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    const std::string path = file.string();
    const YAML::Node root = parse_yaml(read_text_file(path), path);
    const Locator at(path);
    const MapReader map(at, root, "", what);
    Spec spec = read(map);
    check_name_matches_file(map, spec.name, file.stem().string());
    out.emplace(spec.name, std::move(spec));
  }
}

ModelSpec read_model_preset(const MapReader& m) { return read_model_spec(m, false); }

}  // namespace

std::string default_catalog_dir() {
  if (const char* dir = std::getenv("CONVSIM_CATALOG"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  return CONVSIM_SOURCE_DIR "/models/catalog";
}

Catalog load_catalog(const std::string& dir) {
  std::error_code error;
  if (!fs::is_directory(dir, error)) {
    throw ConfigError(fmt::format("{}: cannot read catalog folder", dir));
  }
  Catalog catalog;
  catalog.dir = dir;
  const fs::path root(dir);
  load_folder<ModelSpec>(root / "models", catalog.models, &read_model_preset, "the model preset");
  load_folder<GpuSpec>(root / "gpus", catalog.gpus, &read_gpu, "the GPU preset");
  load_folder<FabricSpec>(root / "fabrics", catalog.fabrics, &read_fabric, "the fabric preset");
  return catalog;
}

}  // namespace convsim
