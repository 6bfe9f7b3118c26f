#include "sim/accounting/energy.hpp"

#include <algorithm>


namespace convsim {

double metered_gpu_energy_j(const RunResult& result) {
  double sum = 0;
  for (const GpuMeter& g : result.gpus) {
    sum += g.active_energy_j + g.idle_power_w * (result.end_s - g.active_time_s);
  }
  return sum;
}

double reply_host_energy_j(const ReplyRecord& reply, const Scenario& s) {
  return reply.host_delay_s * s.cluster.host_power_w_per_node * s.parallelism.gpus_per_replica() /
         s.cluster.gpus_per_node;
}

int nodes_in_use(const Scenario& scenario) {
  const int per_node = scenario.cluster.gpus_per_node;
  return (scenario.parallelism.gpus_used() + per_node - 1) / per_node;
}

EnergySplit energy_split(const RunResult& result, const Scenario& scenario) {
  EnergySplit e;
  for (const ReplyRecord& r : result.replies) e.gpu_active_j += r.energy_j;
  for (std::size_t k = 0; k < result.replica_busy_s.size(); ++k) {
    e.gpu_idle_j += scenario.cluster.gpu.power_idle_w * result.replica_gpus[k] * (result.end_s - result.replica_busy_s[k]);
  }
  e.network_j = result.network_energy_j;
  e.host_j = scenario.cluster.host_power_w_per_node * nodes_in_use(scenario) * result.end_s;
  e.facility_j = (scenario.cluster.pue - 1.0) * e.it_j();
  return e;
}

double reply_facility_energy_j(const ReplyRecord& reply, const Scenario& scenario) {
  return (reply.energy_j + reply.network_energy_j) * scenario.cluster.pue;
}

}  // namespace convsim
