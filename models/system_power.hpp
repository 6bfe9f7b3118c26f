#pragma once
// Power of everything in a node and its fabric besides the GPU boards: CPUs, memory,
// NVMe drives, NICs, fans, and the switches and optics of the scale-up and scale-out
// fabrics.
// The GPU boards themselves are models/power.hpp's.
//
// A node draws, all run long, its idle power:
//   cpu_idle_w + dram_idle_w + nvme_drives * nvme_idle_w + nic_ports * nic_w_per_port
//   + fans_w + other_w
// and on top of it, while it works:
//   - (cpu_active_w - cpu_idle_w) * (share of its GPUs in an iteration), since the
//     host threads that schedule, launch kernels and sample tokens run while the
//     GPUs iterate;
//   - (dram_active_w - dram_idle_w) while a KV cache moves to or from host memory
//     (or passes through it to NVMe), in proportion to the node's GPUs moving it;
//   - nvme_drives * (nvme_read_w - nvme_idle_w) while a cache is read back from
//     NVMe, nvme_drives * (nvme_write_w - nvme_idle_w) while one is written.
// Each GPU in use also carries its fabric switch ports, drawn all run long:
//   scale_up.switch_w_per_port * scale_up.switch_ports_per_gpu
//   + scale_out.switch_w_per_port * (1 + 2 / oversubscription)   (clusters of > 1 node)
// (a two-level fabric: the leaf port of its NIC, and its share of the leaf's uplink
// port and of the spine port at the other end), and, across nodes, the optical
// modules at both ends of those links, drawn all run long:
//   scale_out.optics_w_per_port * (2 + 2 / oversubscription)   (clusters of > 1 node)
// (the NIC's module and the leaf's down-port module, and the share of the uplink's
// modules at the leaf and the spine). A transceiver's lasers and DSP run while its link
// is up: its vendor states one power per lane configuration, not per byte carried.
// Whatever a link spends per byte on top is FabricSpec::energy_j_per_byte.
//
// The node's power supplies convert all of it, GPU boards included, at
// psu_efficiency: the node draws (GPU boards + the parts above) / psu_efficiency at
// its inlets, and the difference, (1 / psu_efficiency - 1) per joule its parts use,
// is lost in them (psu_loss_fraction). The fabric switches' figures are their
// vendors' typical input power, taken as drawn at their inlets.
//
// Presets (models/catalog/systems/) cite their figures; any term may be set to 0 (and
// psu_efficiency to 1) to study the GPUs alone (cluster.system_power in a scenario).

#include <string>
#include <vector>

#include "models/hardware.hpp"

namespace convsim {

struct SystemSpec {
  std::string name;         // "none": no host hardware counted
  std::string description;
  std::string gpu;          // the GPU preset the system carries
  int gpus_per_node = 8;
  double power_max_w = 0;   // the vendor's maximum system power (reference only)
  double cpu_idle_w = 0;    // all sockets of a node
  double cpu_active_w = 0;
  double dram_idle_w = 0;   // all DIMMs of a node
  double dram_active_w = 0;
  int nvme_drives = 0;
  double nvme_idle_w = 0;   // per drive
  double nvme_read_w = 0;
  double nvme_write_w = 0;
  int nic_ports = 0;
  double nic_w_per_port = 0;
  double fans_w = 0;
  double other_w = 0;       // anything else drawn all run long (cluster.host_power_w_per_node)
  double psu_efficiency = 1;  // of the node's power supplies, in [0.5, 1]; 1: no loss counted
  double gpu_hour_usd = 0;  // price of one GPU-hour of this system
  std::vector<std::string> sources;
};

// What one node draws all run long.
double node_idle_w(const SystemSpec& system);

// Joules lost in a node's power supplies per joule its GPUs and other parts draw:
// 1 / psu_efficiency - 1.
double psu_loss_fraction(const SystemSpec& system);

// The switch power each GPU in use carries (see above).
double switch_w_per_gpu(const FabricSpec& scale_up, const FabricSpec& scale_out, int nodes, double oversubscription);

// The optical module power each GPU in use carries (see above).
double optics_w_per_gpu(const FabricSpec& scale_out, int nodes, double oversubscription);

// A node's extra draw above idle while it works, each term for the whole node.
double cpu_extra_w(const SystemSpec& system);
double dram_extra_w(const SystemSpec& system);
double nvme_read_extra_w(const SystemSpec& system);
double nvme_write_extra_w(const SystemSpec& system);

}  // namespace convsim
