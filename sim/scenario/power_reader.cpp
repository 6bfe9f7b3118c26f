#include "sim/scenario/power_reader.hpp"

#include <fmt/format.h>

#include "models/grid_regions.hpp"
#include "sim/scenario/text_util.hpp"

namespace convsim {

namespace {

constexpr const char* kNoSystem = "none";

std::vector<std::string> system_names(const Catalog& catalog) {
  std::vector<std::string> names{kNoSystem};
  for (const std::string& name : catalog.systems.names()) names.push_back(name);
  return names;
}

// The preset carrying the cluster's GPU, preferring one with as many GPUs per node
// (the first in name order of each kind). Reads that preset only.
const SystemSpec* default_system(const Catalog& catalog, const ClusterSpec& spec) {
  const std::string* found = nullptr;
  const std::vector<SystemCarrier> carriers = system_carriers(catalog);
  for (const SystemCarrier& c : carriers) {
    if (c.gpu != spec.gpu.name) continue;
    if (c.gpus_per_node == spec.gpus_per_node) {
      found = &c.name;
      break;
    }
    if (found == nullptr) found = &c.name;
  }
  return found == nullptr ? nullptr : &catalog.systems.at(*found);
}

// A preset describes its own nodes; a cluster node of another size gets the same
// parts per GPU.
SystemSpec scaled_to(const SystemSpec& system, int gpus_per_node) {
  SystemSpec s = system;
  const double k = static_cast<double>(gpus_per_node) / system.gpus_per_node;
  for (double* w : {&s.cpu_idle_w, &s.cpu_active_w, &s.dram_idle_w, &s.dram_active_w, &s.nvme_idle_w,
                    &s.nvme_read_w, &s.nvme_write_w, &s.nic_w_per_port, &s.fans_w, &s.power_max_w}) {
    *w *= k;
  }
  s.gpus_per_node = gpus_per_node;
  return s;
}

}  // namespace

void read_cluster_power(const MapReader& c, const Catalog& catalog, ClusterSpec& spec,
                        std::vector<std::string>& warnings) {
  const Locator& at = c.locator();
  if (c.has("system")) {
    const std::string name = c.choice("system", system_names(catalog));
    if (name != kNoSystem) {
      const SystemSpec& system = catalog.systems.at(name);
      if (system.gpu != spec.gpu.name) {
        warnings.push_back(fmt::format("{}: warning: cluster.system: '{}' carries {} GPUs, cluster.gpu is {}",
                                       at.where(c.spot("system")), name, system.gpu, spec.gpu.name));
      }
      spec.system = scaled_to(system, spec.gpus_per_node);
    } else {
      spec.system = SystemSpec{};
      spec.system.name = kNoSystem;
    }
  } else if (const SystemSpec* system = default_system(catalog, spec)) {
    spec.system = scaled_to(*system, spec.gpus_per_node);
  } else {
    spec.system = SystemSpec{};
    spec.system.name = kNoSystem;
    warnings.push_back(fmt::format("{}: warning: cluster.system: no system preset carries {} GPUs, so no CPU, "
                                   "memory, drive or NIC power is counted; give one of: {}",
                                   at.where(c.has("gpu") ? c.spot("gpu") : c.node()), spec.gpu.name,
                                   join(system_names(catalog))));
  }
  spec.system.gpus_per_node = spec.gpus_per_node;
  if (c.has("system_power")) {
    const MapReader terms = c.child("system_power");
    terms.allow_only({"cpu_idle_w", "cpu_active_w", "dram_idle_w", "dram_active_w", "nvme_drives", "nvme_idle_w",
                      "nvme_read_w", "nvme_write_w", "nic_ports", "nic_w_per_port", "fans_w", "psu_efficiency"});
    read_system_power_terms(terms, spec.system);
  }
  spec.system.other_w = spec.host_power_w_per_node;

  if (c.has("grid_region") && c.has("grid_gco2e_per_kwh")) {
    at.fail(c.spot("grid_gco2e_per_kwh"),
            "cluster.grid_gco2e_per_kwh and cluster.grid_region: give one of them, not both");
  }
  if (c.has("grid_gco2e_per_kwh")) {
    spec.grid_region = "";
    spec.grid_gco2e_per_kwh = c.number("grid_gco2e_per_kwh", Limits::between(0, 2000));
  } else {
    std::vector<std::string> regions;
    for (const GridRegion& r : grid_regions()) regions.push_back(r.name);
    spec.grid_region = c.choice_or("grid_region", spec.grid_region, regions);
    spec.grid_gco2e_per_kwh = *grid_gco2e_per_kwh(spec.grid_region);
  }
  spec.usd_per_kwh = c.number_or("usd_per_kwh", spec.usd_per_kwh, Limits::between(0, 10));
  spec.gpu_hour_usd = c.number_or("gpu_hour_usd", spec.system.gpu_hour_usd, Limits::between(0, 1000));
}

}  // namespace convsim
