#include "sim/scenario/catalog.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <vector>

#include <fmt/core.h>
#include <fmt/ranges.h>

#include "models/power.hpp"
#include "sim/scenario/config_error.hpp"
#include "sim/scenario/engine_reader.hpp"
#include "sim/scenario/power_coefficients_reader.hpp"
#include "sim/scenario/text_util.hpp"
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
                "power_idle_w", "power_bare_idle_w", "power_max_w", "scale_up", "max_sm_clock_mhz", "min_power_limit_w", "efficiency",
                "power_coefficients", "sources", "notes"});
  const Locator& at = m.locator();
  GpuSpec gpu;
  gpu.name = m.string("name");
  gpu.description = m.string("description");
  gpu.scale_up = m.string_or("scale_up", gpu.scale_up);  // a fabric preset's name, checked by load_catalog

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
  gpu.power_bare_idle_w = m.number_or("power_bare_idle_w", gpu.power_idle_w, Limits::at_least(0));
  if (!(gpu.power_bare_idle_w <= gpu.power_idle_w)) {
    at.fail(m.spot("power_bare_idle_w"),
            fmt::format("power_bare_idle_w = {} must be <= power_idle_w = {}: an open CUDA context adds to the "
                        "bare idle, it does not take from it",
                        format_number(gpu.power_bare_idle_w), format_number(gpu.power_idle_w)));
  }
  // Optional: without them a scenario cannot lock this GPU's clock or cap its power.
  gpu.max_sm_clock_mhz = m.number_or("max_sm_clock_mhz", 0.0, Limits::positive());
  if (m.has("min_power_limit_w")) {
    gpu.min_power_limit_w = m.number("min_power_limit_w", Limits::positive());
    if (!(gpu.power_bare_idle_w < gpu.min_power_limit_w && gpu.min_power_limit_w <= gpu.power_max_w)) {
      at.fail(m.spot("min_power_limit_w"),
              fmt::format("min_power_limit_w = {} must be in (power_bare_idle_w, power_max_w] = ({}, {}]: a cap at "
                          "or below the GPU's draw at its lowest clock leaves no clock to run at",
                          format_number(gpu.min_power_limit_w), format_number(gpu.power_bare_idle_w),
                          format_number(gpu.power_max_w)));
    }
  }
  if (m.has("efficiency")) {
    const MapReader eff = m.child("efficiency");
    eff.allow_only(
        {"compute", "compute_fp8", "compute_fp4", "memory", "attention_memory", "attention_compute", "attention_row_overhead_tokens",
         "experts_memory", "experts_compute", "kernel_overhead_s", "elementwise_kernel_s"});
    const Limits fraction{0.0, true, 1.0};  // (0, 1]
    gpu.efficiency.compute = eff.number_or("compute", gpu.efficiency.compute, fraction);
    gpu.efficiency.memory = eff.number_or("memory", gpu.efficiency.memory, fraction);
    gpu.efficiency.attention_memory = eff.number_or("attention_memory", gpu.efficiency.attention_memory, fraction);
    gpu.efficiency.experts_memory = eff.number_or("experts_memory", gpu.efficiency.memory, fraction);
    gpu.efficiency.experts_compute = eff.number_or("experts_compute", gpu.efficiency.compute, fraction);
    gpu.efficiency.attention_compute = eff.number_or("attention_compute", gpu.efficiency.compute, fraction);
    gpu.efficiency.compute_fp8 = eff.number_or("compute_fp8", gpu.efficiency.compute, fraction);
    gpu.efficiency.compute_fp4 = eff.number_or("compute_fp4", gpu.efficiency.compute, fraction);
    // A query tile's fixed work is tens to hundreds of key positions (H100: 52); 65,536
    // would be a tile costing as much as a long context's whole loop.
    gpu.efficiency.attention_row_overhead_tokens = eff.number_or(
        "attention_row_overhead_tokens", gpu.efficiency.attention_row_overhead_tokens, Limits::between(0, 65536));
    // A kernel's fixed cost is microseconds; a millisecond is already a thousand of them.
    const Limits per_kernel = Limits::between(0, 1e-3);
    gpu.efficiency.kernel_overhead_s = eff.number_or("kernel_overhead_s", gpu.efficiency.kernel_overhead_s, per_kernel);
    gpu.efficiency.elementwise_kernel_s =
        eff.number_or("elementwise_kernel_s", gpu.efficiency.elementwise_kernel_s, per_kernel);
  }
  if (m.has("power_coefficients")) {
    const MapReader k = m.child("power_coefficients");
    gpu.power = read_power_coefficients(k, gpu, {"fitted_by"});
    k.string_or("fitted_by", "");
  }
  gpu.sources = m.string_list("sources");
  m.string_or("notes", "");
  return gpu;
}

FabricSpec read_fabric(const MapReader& m) {
  m.allow_only({"name", "kind", "description", "bandwidth_bytes_per_s", "latency_s",
                "multicast_allreduce_bytes_per_s", "energy_j_per_byte", "switch_w_per_port", "switch_ports_per_gpu",
                "optics_w_per_port", "sources",
                "notes"});
  FabricSpec fabric;
  fabric.name = m.string("name");
  fabric.kind = m.choice("kind", {"scale_up", "scale_out"}) == "scale_up"
                    ? FabricKind::scale_up
                    : FabricKind::scale_out;
  fabric.description = m.string("description");
  fabric.bandwidth_bytes_per_s = m.number("bandwidth_bytes_per_s", Limits::positive());
  fabric.latency_s = m.number("latency_s", Limits::at_least(0));
  if (m.has("multicast_allreduce_bytes_per_s")) {
    // Each port carries the whole buffer each way: no faster than the link.
    fabric.multicast_allreduce_bytes_per_s =
        m.number("multicast_allreduce_bytes_per_s", Limits::between(0, fabric.bandwidth_bytes_per_s));
    if (fabric.kind != FabricKind::scale_up || fabric.multicast_allreduce_bytes_per_s <= 0) {
      m.locator().fail(m.spot("multicast_allreduce_bytes_per_s"),
                       "multicast_allreduce_bytes_per_s is a scale-up switch's that reduces (NVLink SHARP), above 0 "
                       "and at most bandwidth_bytes_per_s");
    }
  }
  fabric.energy_j_per_byte = m.number("energy_j_per_byte", Limits::at_least(0));
  fabric.switch_w_per_port = m.number_or("switch_w_per_port", 0.0, Limits::at_least(0));
  fabric.switch_ports_per_gpu = m.int_or("switch_ports_per_gpu", 1, Limits::at_least(0));
  fabric.optics_w_per_port = m.number_or("optics_w_per_port", 0.0, Limits::at_least(0));
  if (fabric.kind == FabricKind::scale_up && m.has("optics_w_per_port")) {
    m.locator().fail(m.spot("optics_w_per_port"),
                     "optics_w_per_port is a scale-out fabric's (optical modules on the links between nodes); a "
                     "scale-up fabric's links are counted by energy_j_per_byte and switch_w_per_port");
  }
  fabric.sources = m.string_list("sources");
  m.string_or("notes", "");
  return fabric;
}

SystemSpec read_system(const MapReader& m) {
  m.allow_only({"name", "description", "gpu", "gpus_per_node", "power_max_w", "cpu_idle_w", "cpu_active_w",
                "dram_idle_w", "dram_active_w", "nvme_drives", "nvme_idle_w", "nvme_read_w", "nvme_write_w",
                "nic_ports", "nic_w_per_port", "fans_w", "psu_efficiency", "gpu_hour_usd", "sources", "notes"});
  SystemSpec s;
  s.name = m.string("name");
  s.description = m.string("description");
  s.gpu = m.string("gpu");
  s.gpus_per_node = m.int_value("gpus_per_node", Limits::at_least(1));
  s.power_max_w = m.number("power_max_w", Limits::positive());
  read_system_power_terms(m, s);
  s.gpu_hour_usd = m.number("gpu_hour_usd", Limits::at_least(0));
  s.sources = m.string_list("sources");
  m.string_or("notes", "");
  return s;
}

// The presets of one folder: name (the file's stem) -> path, in name order.
std::map<std::string, std::string> preset_files(const fs::path& folder) {
  std::map<std::string, std::string> files;
  std::error_code error;
  if (!fs::is_directory(folder, error)) return files;
  for (const auto& entry : fs::directory_iterator(folder, error)) {
    if (entry.path().extension() == ".yaml") files.emplace(entry.path().stem().string(), entry.path().string());
  }
  if (error) throw ConfigError(fmt::format("{}: cannot read catalog folder", folder.string()));
  return files;
}

// `read` is a function of the preset's MapReader returning its Spec.
template <typename Spec, typename Read>
Presets<Spec> preset_folder(const fs::path& folder, Read read, const char* what) {
  return Presets<Spec>(preset_files(folder), [read, what](const std::string& path) {
    const YAML::Node root = parse_yaml(read_text_file(path), path);
    const Locator at(path);
    const MapReader map(at, root, "", what);
    Spec spec = read(map);
    check_name_matches_file(map, spec.name, fs::path(path).stem().string());
    return spec;
  });
}

ModelSpec read_model_preset(const MapReader& m) { return read_model_spec(m, false); }

}  // namespace

void read_system_power_terms(const MapReader& m, SystemSpec& s) {
  const Limits watts = Limits::at_least(0);
  s.cpu_idle_w = m.number_or("cpu_idle_w", s.cpu_idle_w, watts);
  s.cpu_active_w = m.number_or("cpu_active_w", s.cpu_active_w, watts);
  s.dram_idle_w = m.number_or("dram_idle_w", s.dram_idle_w, watts);
  s.dram_active_w = m.number_or("dram_active_w", s.dram_active_w, watts);
  s.nvme_drives = m.int_or("nvme_drives", s.nvme_drives, Limits::at_least(0));
  s.nvme_idle_w = m.number_or("nvme_idle_w", s.nvme_idle_w, watts);
  s.nvme_read_w = m.number_or("nvme_read_w", s.nvme_read_w, watts);
  s.nvme_write_w = m.number_or("nvme_write_w", s.nvme_write_w, watts);
  s.nic_ports = m.int_or("nic_ports", s.nic_ports, Limits::at_least(0));
  s.nic_w_per_port = m.number_or("nic_w_per_port", s.nic_w_per_port, watts);
  s.fans_w = m.number_or("fans_w", s.fans_w, watts);
  // Below a half, more would be lost than delivered: no real supply, a typo.
  s.psu_efficiency = m.number_or("psu_efficiency", s.psu_efficiency, Limits::between(0.5, 1));
  // An active power below its idle power would make work cheaper than waiting.
  struct Pair {
    const char* idle;
    double SystemSpec::*idle_w;
    const char* active;
    double SystemSpec::*active_w;
  };
  const Pair pairs[] = {{"cpu_idle_w", &SystemSpec::cpu_idle_w, "cpu_active_w", &SystemSpec::cpu_active_w},
                        {"dram_idle_w", &SystemSpec::dram_idle_w, "dram_active_w", &SystemSpec::dram_active_w},
                        {"nvme_idle_w", &SystemSpec::nvme_idle_w, "nvme_read_w", &SystemSpec::nvme_read_w},
                        {"nvme_idle_w", &SystemSpec::nvme_idle_w, "nvme_write_w", &SystemSpec::nvme_write_w}};
  for (const Pair& p : pairs) {
    if (s.*p.active_w >= s.*p.idle_w) continue;
    const std::string prefix = m.path().empty() ? "" : m.path() + ".";
    m.locator().fail(m.has(p.active) ? m.spot(p.active) : m.spot(p.idle),
                     fmt::format("{}{} = {} must be >= {}{} = {}", prefix, p.active, format_number(s.*p.active_w),
                                 prefix, p.idle, format_number(s.*p.idle_w)));
  }
  // The host's parts, all at their busiest, are part of what the node's rated maximum
  // covers: together they cannot exceed it.
  const std::pair<const char*, double> parts[] = {
      {"cpu_active_w", s.cpu_active_w},
      {"dram_active_w", s.dram_active_w},
      {"nvme_write_w", s.nvme_drives * std::max(s.nvme_read_w, s.nvme_write_w)},
      {"nic_w_per_port", s.nic_ports * s.nic_w_per_port},
      {"fans_w", s.fans_w}};
  double busiest_w = 0;
  const char* largest = nullptr;
  double largest_w = -1;
  for (const auto& [key, w] : parts) {
    busiest_w += w;
    if (m.has(key) && w > largest_w) largest = key, largest_w = w;
  }
  if (s.power_max_w > 0 && busiest_w > s.power_max_w) {
    const std::string prefix = m.path().empty() ? "" : m.path() + ".";
    m.locator().fail(largest ? m.spot(largest) : m.node(),
                     fmt::format("{}: the host's parts at their busiest draw {} W (CPUs, DRAM, drives, NIC ports, "
                                 "fans), above the node's rated maximum of {} W",
                                 prefix.empty() ? s.name : prefix.substr(0, prefix.size() - 1), format_number(busiest_w),
                                 format_number(s.power_max_w)));
  }
}

namespace {

// `key: value` at the start of a line of `text` (a top-level key of a YAML map),
// the value a plain scalar with nothing but a comment after it; empty otherwise.
std::string top_level_plain_value(const std::string& text, const std::string& key) {
  const std::string start = key + ":";
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t end = std::min(text.find('\n', at), text.size());
    if (text.compare(at, start.size(), start) == 0) {
      std::string value = text.substr(at + start.size(), end - at - start.size());
      const std::size_t comment = value.find(" #");
      if (comment != std::string::npos) value.resize(comment);
      const std::size_t first = value.find_first_not_of(" \t\r");
      if (first == std::string::npos) return "";
      value = value.substr(first, value.find_last_not_of(" \t\r") - first + 1);
      const bool plain = value.find_first_of("\"'{}[],&*!|>%@`#:") == std::string::npos;
      return plain ? value : "";
    }
    at = end + 1;
  }
  return "";
}

}  // namespace

std::vector<SystemCarrier> system_carriers(const Catalog& catalog) {
  std::vector<SystemCarrier> carriers;
  const std::vector<std::string> gpus = catalog.gpus.names();
  // A system preset's GPU is one of the catalog's: a misspelt one would leave its
  // GPU without host power, with only a warning at the scenario.
  const auto check_gpu = [&](const std::string& name, const std::string& gpu) {
    if (std::find(gpus.begin(), gpus.end(), gpu) != gpus.end()) return;
    const std::string file = (fs::path(catalog.dir) / "systems" / (name + ".yaml")).string();
    std::string where = file;
    std::error_code error;
    if (!catalog.dir.empty() && fs::is_regular_file(file, error)) {
      const std::string text = read_text_file(file);
      const std::size_t newline = text.find("\ngpu:");
      const std::size_t key = text.rfind("gpu:", 0) == 0 ? 0 : newline == std::string::npos ? newline : newline + 1;
      if (key != std::string::npos) {
        const std::size_t value = text.find_first_not_of(" \t", key + 4);
        const long line = std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(key), '\n') + 1;
        where = fmt::format("{}:{}:{}", file, line, value - key + 1);
      }
    }
    throw ConfigError(fmt::format("{}: gpu: unknown GPU preset '{}'; available: {}", where, gpu, join(gpus)));
  };
  for (const std::string& name : catalog.systems.names()) {
    if (const std::string* file = catalog.systems.unread_file(name)) {
      const std::string text = read_text_file(*file);
      const std::string gpu = top_level_plain_value(text, "gpu");
      const std::string per_node = top_level_plain_value(text, "gpus_per_node");
      const bool digits = !per_node.empty() && per_node.size() <= 6 &&
                          per_node.find_first_not_of("0123456789") == std::string::npos;
      if (!gpu.empty() && digits && std::stoi(per_node) >= 1) {
        check_gpu(name, gpu);
        carriers.push_back(SystemCarrier{name, gpu, std::stoi(per_node)});
        continue;
      }
    }
    const SystemSpec& system = catalog.systems.at(name);
    check_gpu(name, system.gpu);
    carriers.push_back(SystemCarrier{name, system.gpu, system.gpus_per_node});
  }
  return carriers;
}

std::string default_catalog_dir() {
  if (const char* dir = std::getenv("CONVSIM_CATALOG"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  return CONVSIM_SOURCE_DIR "/models/catalog";
}

Catalog open_catalog(const std::string& dir) {
  std::error_code error;
  if (!fs::is_directory(dir, error)) {
    throw ConfigError(fmt::format("{}: cannot read catalog folder", dir));
  }
  Catalog catalog;
  catalog.dir = dir;
  const fs::path root(dir);
  catalog.models = preset_folder<ModelSpec>(root / "models", &read_model_preset, "the model preset");
  catalog.fabrics = preset_folder<FabricSpec>(root / "fabrics", &read_fabric, "the fabric preset");
  // A GPU's scale_up names one of the scale-up fabrics, read here from their own files
  // (the reader keeps no reference to a catalog, which may be moved).
  const std::string fabrics = (root / "fabrics").string();
  catalog.gpus = preset_folder<GpuSpec>(root / "gpus", [fabrics](const MapReader& m) {
    GpuSpec gpu = read_gpu(m);
    check_name_matches_file(m, gpu.name, fs::path(m.locator().file()).stem().string());  // first, as for any preset
    const Presets<FabricSpec> known = preset_folder<FabricSpec>(fabrics, &read_fabric, "the fabric preset");
    const auto fabric = known.find(gpu.scale_up);
    if (fabric == known.end() || fabric->second.kind != FabricKind::scale_up) {
      std::vector<std::string> scale_up;
      for (const auto& [name, f] : known) {
        if (f.kind == FabricKind::scale_up) scale_up.push_back(name);
      }
      m.locator().fail(m.has("scale_up") ? m.spot("scale_up") : m.node(),
                       fmt::format("scale_up: '{}' is not a scale-up fabric preset; allowed: {}", gpu.scale_up,
                                   scale_up.empty() ? "none" : join(scale_up)));
    }
    return gpu;
  }, "the GPU preset");
  // An engine's host_by_gpu names GPU presets: checked against the folder's names.
  const std::vector<std::string> gpus = catalog.gpus.names();
  catalog.engines = preset_folder<EngineProfile>(
      root / "engines", [gpus](const MapReader& m) { return read_engine(m, gpus); }, "the engine profile");
  catalog.systems = preset_folder<SystemSpec>(root / "systems", &read_system, "the system preset");
  return catalog;
}

Catalog load_catalog(const std::string& dir) {
  Catalog catalog = open_catalog(dir);
  // In the order a malformed preset was always reported: models, fabrics, GPUs, engines, systems.
  catalog.models.read_all();
  catalog.fabrics.read_all();
  catalog.gpus.read_all();
  catalog.engines.read_all();
  catalog.systems.read_all();
  return catalog;
}

}  // namespace convsim
