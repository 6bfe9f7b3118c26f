#pragma once
// Energy accounts of a run: every meter, and what the requests were charged.
//
// Meters (computed here from the run's times, independently of the charges):
//   GPUs: each GPU's active energy plus idle power over the rest of the span;
//   host: the nodes in use at node_idle_w all run long, plus the CPUs' extra power
//     over each replica's iterations (its share of its nodes) and the memory and
//     drives' extra power over the KV transfers (models/system_power.hpp);
//   switches: each GPU in use's fabric switch ports all run long;
//   optics: across nodes, each GPU in use's share of the links' optical modules all
//     run long;
//   network: bytes moved times each link's energy per byte;
//   power supplies: the nodes' GPUs and host parts times psu_loss_fraction
//     (models/system_power.hpp), charged with what it is lost on.
// Charges: each request's record carries its GPU, network and host energy while
// served, and its share of the reservation between its turns (reserved_energy_j).
// Conservation: charged + unattributed = every meter, where unattributed is the
// replicas' hardware at idle while charged to nobody (no conversation open on the
// replica, repairs, the end of the run) and the idle node slots no replica uses.

#include "sim/accounting/records.hpp"
#include "sim/scenario/scenario.hpp"

namespace convsim {

// What a replica's hardware draws beside its GPUs' boards: its share of its nodes'
// host power (GPUs / gpus_per_node), its GPUs' switch ports and link optics, and the
// power-supply losses on the host share. A request's host_energy_j is charged from these.
struct ReplicaPower {
  double gpu_idle_w = 0;   // its GPUs at idle
  // While it waits: host share, switch ports, optics, and the supplies' loss on the
  // host share and on the idle GPUs.
  double host_idle_w = 0;
  // While it iterates: host share (CPUs active), switch ports, optics, and the loss on
  // the host share.
  double host_busy_w = 0;
  double psu_loss = 0;     // J lost per J its GPUs draw while iterating (charged with that energy)
  double idle_w() const { return gpu_idle_w + host_idle_w; }
};
ReplicaPower replica_power(const Scenario& scenario, int gpus);

// One whole node of the cluster at its power supplies' inlets (its share of the
// fabrics' switches and optics included): with every GPU idle (a context open,
// nothing to run), and the most it draws while working (every GPU at its cap, or its
// board limit, and the CPUs active). What a meter on its feeds would read; its
// supplies must be sized for the second.
struct NodeWallPower {
  double idle_w = 0;
  double busy_max_w = 0;
};
NodeWallPower node_wall_power(const Scenario& scenario);

// The fraction of a node's host memory and drives a replica's KV transfers use.
double node_fraction(const Scenario& scenario, int gpus);

struct EnergySplit {
  // Meters.
  double gpu_active_j = 0;  // GPU energy charged to requests (their energy_j summed)
  double gpu_idle_j = 0;    // the rest of the GPUs' meters
  double network_j = 0;     // links, per byte
  double host_j = 0;        // nodes in use: CPUs, memory, drives, NICs, fans, other
  double switch_j = 0;      // fabric switch ports of the GPUs in use
  double optics_j = 0;      // optical modules of the scale-out links of the GPUs in use
  double psu_loss_j = 0;    // the nodes' power supplies: (GPUs + host) * psu_loss_fraction
  double pue = 1;
  double gpu_j() const { return gpu_active_j + gpu_idle_j; }
  double it_j() const { return gpu_j() + network_j + host_j + switch_j + optics_j + psu_loss_j; }
  double pue_overhead_j() const { return (pue - 1.0) * it_j(); }  // cooling, power delivery
  double facility_j() const { return pue * it_j(); }              // at the facility's meter
  // Charges (IT energy): rows while served, rows' reservation shares, and the rest.
  double served_j = 0;
  double reserved_j = 0;
  double unattributed_j = 0;
};

// The GPUs' own meter: sum over GPUs of active energy + idle_power * (span - active time).
double metered_gpu_energy_j(const RunResult& result);

EnergySplit energy_split(const RunResult& result, const Scenario& scenario);

// The GPUs' idle energy: what their meter read beyond the replies' iterations. Both
// are sums of the same terms in another order, so on a run with no idle time the
// difference is rounding, which may fall below zero: a shortfall within 1e-12 of
// the meter reads as 0 J; a larger one (rows charged more than was metered) is
// returned as it is, for the conservation checks to catch.
double gpu_idle_energy_j(double metered_gpu_j, double gpu_active_j);

// A request's IT energy while served: GPU + network + host.
double reply_it_energy_j(const ReplyRecord& reply);
// The same at the facility's meter: times PUE.
double reply_facility_energy_j(const ReplyRecord& reply, const Scenario& scenario);
// Everything it is charged, reservation included, at the facility's meter.
double reply_all_in_facility_energy_j(const ReplyRecord& reply, const Scenario& scenario);
// Grams of CO2e of its all-in facility energy at cluster.grid_gco2e_per_kwh.
double reply_gco2e(const ReplyRecord& reply, const Scenario& scenario);
// Dollars: its all-in facility energy at cluster.usd_per_kwh, plus its GPU-seconds
// (served and reserved) at cluster.gpu_hour_usd.
double reply_cost_usd(const ReplyRecord& reply, const Scenario& scenario);

// Nodes holding at least one GPU in use.
int nodes_in_use(const Scenario& scenario);

}  // namespace convsim
