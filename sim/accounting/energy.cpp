#include "sim/accounting/energy.hpp"

#include "models/system_power.hpp"

namespace convsim {

namespace {

constexpr double kJoulesPerKwh = 3.6e6;
constexpr double kSecondsPerHour = 3600.0;

double switch_w(const ClusterSpec& c) {
  return switch_w_per_gpu(c.scale_up, c.scale_out, c.nodes, c.oversubscription);
}

double optics_w(const ClusterSpec& c) { return optics_w_per_gpu(c.scale_out, c.nodes, c.oversubscription); }

}  // namespace

double node_fraction(const Scenario& scenario, int gpus) {
  return static_cast<double>(gpus) / scenario.cluster.gpus_per_node;
}

ReplicaPower replica_power(const Scenario& scenario, int gpus) {
  const ClusterSpec& c = scenario.cluster;
  const double share = node_fraction(scenario, gpus);
  const double loss = psu_loss_fraction(c.system);
  ReplicaPower p;
  p.gpu_idle_w = gpus * c.gpu.power_idle_w;
  p.psu_loss = loss;
  const double fabric_w = gpus * (switch_w(c) + optics_w(c));
  p.host_idle_w = (1 + loss) * share * node_idle_w(c.system) + fabric_w + loss * p.gpu_idle_w;
  p.host_busy_w = (1 + loss) * share * (node_idle_w(c.system) + cpu_extra_w(c.system)) + fabric_w;
  return p;
}

NodeWallPower node_wall_power(const Scenario& scenario) {
  const ClusterSpec& c = scenario.cluster;
  const int gpus = c.gpus_per_node;
  const ReplicaPower p = replica_power(scenario, gpus);
  const double gpu_max_w = c.gpu.power_limit_w();
  return NodeWallPower{p.idle_w(), gpus * gpu_max_w * (1 + p.psu_loss) + p.host_busy_w};
}

double metered_gpu_energy_j(const RunResult& result) {
  double sum = 0;
  for (const GpuMeter& g : result.gpus) {
    sum += g.active_energy_j + g.idle_power_w * (result.end_s - g.active_time_s);
  }
  return sum;
}

double gpu_idle_energy_j(double metered_gpu_j, double gpu_active_j) {
  const double idle_j = metered_gpu_j - gpu_active_j;
  return idle_j < 0 && -idle_j <= 1e-12 * metered_gpu_j ? 0.0 : idle_j;
}

int nodes_in_use(const Scenario& scenario) {
  const int per_node = scenario.cluster.gpus_per_node;
  return (scenario.parallelism.gpus_used() + per_node - 1) / per_node;
}

EnergySplit energy_split(const RunResult& result, const Scenario& scenario) {
  const ClusterSpec& c = scenario.cluster;
  EnergySplit e;
  e.pue = c.pue;
  // Summed exactly: the records' order of completion interleaves replicas.
  ExactSum gpu_active_j, served_j, reserved_j;
  for (const ReplyRecord& r : result.replies) {
    gpu_active_j += r.energy_j;
    served_j += reply_it_energy_j(r);
    reserved_j += r.reserved_energy_j;
  }
  e.gpu_active_j = gpu_active_j.value();
  e.served_j = served_j.value();
  e.reserved_j = reserved_j.value();
  e.gpu_idle_j = gpu_idle_energy_j(metered_gpu_energy_j(result), e.gpu_active_j);
  e.network_j = result.network_energy_j.value();
  const int nodes = nodes_in_use(scenario);
  const int gpus_used = scenario.parallelism.gpus_used();
  double cpu_busy_node_s = 0;
  for (std::size_t k = 0; k < result.replica_busy_s.size(); ++k) {
    cpu_busy_node_s += node_fraction(scenario, result.replica_gpus[k]) * result.replica_busy_s[k];
  }
  e.host_j = nodes * node_idle_w(c.system) * result.end_s + cpu_extra_w(c.system) * cpu_busy_node_s +
             dram_extra_w(c.system) * result.dram_active_node_s.value() +
             nvme_read_extra_w(c.system) * result.nvme_read_node_s.value() +
             nvme_write_extra_w(c.system) * result.nvme_write_node_s.value();
  e.switch_j = gpus_used * switch_w(c) * result.end_s;
  e.optics_j = gpus_used * optics_w(c) * result.end_s;
  const double loss = psu_loss_fraction(c.system);
  e.psu_loss_j = loss * (e.gpu_j() + e.host_j);
  for (std::size_t k = 0; k < result.replica_unattributed_s.size(); ++k) {
    e.unattributed_j += replica_power(scenario, result.replica_gpus[k]).idle_w() * result.replica_unattributed_s[k];
  }
  const int idle_slots = nodes * c.gpus_per_node - gpus_used;  // node shares no replica holds
  e.unattributed_j += (1 + loss) * node_fraction(scenario, idle_slots) * node_idle_w(c.system) * result.end_s;
  return e;
}

double reply_it_energy_j(const ReplyRecord& r) { return r.energy_j + r.network_energy_j + r.host_energy_j; }

double reply_facility_energy_j(const ReplyRecord& reply, const Scenario& scenario) {
  return reply_it_energy_j(reply) * scenario.cluster.pue;
}

double reply_all_in_facility_energy_j(const ReplyRecord& reply, const Scenario& scenario) {
  return (reply_it_energy_j(reply) + reply.reserved_energy_j) * scenario.cluster.pue;
}

double reply_gco2e(const ReplyRecord& reply, const Scenario& scenario) {
  return reply_all_in_facility_energy_j(reply, scenario) / kJoulesPerKwh * scenario.cluster.grid_gco2e_per_kwh;
}

double reply_cost_usd(const ReplyRecord& reply, const Scenario& scenario) {
  const double energy_usd = reply_all_in_facility_energy_j(reply, scenario) / kJoulesPerKwh * scenario.cluster.usd_per_kwh;
  const double gpu_hours = (reply.gpu_s + reply.reserved_gpu_s) / kSecondsPerHour;
  return energy_usd + gpu_hours * scenario.cluster.gpu_hour_usd;
}

}  // namespace convsim
