#include "models/system_power.hpp"

namespace convsim {

double node_idle_w(const SystemSpec& s) {
  return s.cpu_idle_w + s.dram_idle_w + s.nvme_drives * s.nvme_idle_w + s.nic_ports * s.nic_w_per_port + s.fans_w +
         s.other_w;
}

double switch_w_per_gpu(const FabricSpec& scale_up, const FabricSpec& scale_out, int nodes, double oversubscription) {
  const double up_w = scale_up.switch_w_per_port * scale_up.switch_ports_per_gpu;
  const double out_w = nodes > 1 ? scale_out.switch_w_per_port * (1.0 + 2.0 / oversubscription) : 0.0;
  return up_w + out_w;
}

double optics_w_per_gpu(const FabricSpec& scale_out, int nodes, double oversubscription) {
  return nodes > 1 ? scale_out.optics_w_per_port * (2.0 + 2.0 / oversubscription) : 0.0;
}

double psu_loss_fraction(const SystemSpec& s) { return 1.0 / s.psu_efficiency - 1.0; }

double cpu_extra_w(const SystemSpec& s) { return s.cpu_active_w - s.cpu_idle_w; }
double dram_extra_w(const SystemSpec& s) { return s.dram_active_w - s.dram_idle_w; }
double nvme_read_extra_w(const SystemSpec& s) { return s.nvme_drives * (s.nvme_read_w - s.nvme_idle_w); }
double nvme_write_extra_w(const SystemSpec& s) { return s.nvme_drives * (s.nvme_write_w - s.nvme_idle_w); }

}  // namespace convsim
