#include "sim/cluster/collectives.hpp"

#include <algorithm>

namespace sg4 = simgrid::s4u;

namespace convsim {

double ring_allreduce_link_bytes(int p, double buffer_bytes) {
  return p <= 1 ? 0.0 : 2.0 * (p - 1) / p * buffer_bytes;
}

int ring_allreduce_steps(int p) { return p <= 1 ? 0 : 2 * (p - 1); }

bool custom_kernels_serve(int p) { return p == 2 || p == 4 || p == 6 || p == 8; }

double one_stage_max_bytes(int p) {
  if (p == 2) return kCustomAllReduceMaxBytes;
  return p <= 4 ? 512.0 * 1024 : 256.0 * 1024;
}

AllReducePlan plan_allreduce(int p, double buffer_bytes, const AllReduceRoute& route) {
  AllReducePlan plan;
  if (p <= 1) return plan;
  if (route.direct && route.custom && custom_kernels_serve(p) && buffer_bytes < route.custom_max_bytes) {
    if (buffer_bytes < one_stage_max_bytes(p)) {
      plan.algorithm = AllReducePlan::Algorithm::one_shot;
      plan.latency_steps = 2;
      plan.port_bytes = (p - 1) * buffer_bytes;
    } else {
      plan.algorithm = AllReducePlan::Algorithm::two_shot;
      plan.latency_steps = 4;
      plan.port_bytes = ring_allreduce_link_bytes(p, buffer_bytes);
    }
    return plan;
  }
  if (route.direct && route.custom && buffer_bytes < route.symm_mem_max_bytes) {
    if (route.multimem && route.multicast_rate_fraction > 0) {
      plan.algorithm = AllReducePlan::Algorithm::multimem;
      plan.latency_steps = 3;
      plan.port_bytes = buffer_bytes;
      plan.link_rate_fraction = route.multicast_rate_fraction;
    } else {
      plan.algorithm = AllReducePlan::Algorithm::two_shot;
      plan.latency_steps = 4;
      plan.port_bytes = ring_allreduce_link_bytes(p, buffer_bytes);
    }
    return plan;
  }
  plan.latency_steps = ring_allreduce_steps(p);
  plan.port_bytes = ring_allreduce_link_bytes(p, buffer_bytes);
  return plan;
}

AllReducePlan plan_allreduce(int p, double buffer_bytes, bool nvlink_connected) {
  AllReduceRoute route;
  route.direct = nvlink_connected;
  return plan_allreduce(p, buffer_bytes, route);
}

double run_ring_allreduce(const HostList& hosts, double buffer_bytes, int count) {
  AllReducePlan ring;
  ring.port_bytes = ring_allreduce_link_bytes(static_cast<int>(hosts.size()), buffer_bytes);
  ring.latency_steps = ring_allreduce_steps(static_cast<int>(hosts.size()));
  return run_allreduce(hosts, ring, count);
}

double run_allreduce(const HostList& hosts, const AllReducePlan& plan, int count) {
  const int p = static_cast<int>(hosts.size());
  const double per_link = plan.link_time_bytes() * count;
  if (p <= 1 || per_link <= 0) return 0.0;
  std::vector<double> flops(p, 0.0);
  std::vector<double> bytes(static_cast<std::size_t>(p) * p, 0.0);
  for (int i = 0; i < p; ++i) bytes[static_cast<std::size_t>(i) * p + (i + 1) % p] = per_link;
  sg4::this_actor::parallel_execute(hosts, flops, bytes);
  return plan.port_bytes * count * p;
}

namespace {

// One parallel task moving bytes_each from src[i] to dst[i]; nullptr when empty.
sg4::ExecPtr pairwise_task(const HostList& src, const HostList& dst, double bytes_each, double* moved) {
  HostList hosts;
  std::vector<std::pair<int, int>> pairs;
  auto index_of = [&hosts](sg4::Host* h) {
    auto it = std::find(hosts.begin(), hosts.end(), h);
    if (it != hosts.end()) return static_cast<int>(it - hosts.begin());
    hosts.push_back(h);
    return static_cast<int>(hosts.size()) - 1;
  };
  for (std::size_t i = 0; i < src.size(); ++i) {
    if (src[i] == dst[i]) continue;
    pairs.emplace_back(index_of(src[i]), index_of(dst[i]));
  }
  *moved = 0;
  if (pairs.empty() || bytes_each <= 0) return nullptr;
  const std::size_t n = hosts.size();
  std::vector<double> bytes(n * n, 0.0);
  for (auto [a, b] : pairs) bytes[static_cast<std::size_t>(a) * n + b] += bytes_each;
  *moved = bytes_each * static_cast<double>(pairs.size());
  return sg4::Exec::init()->set_flops_amounts(std::vector<double>(n, 0.0))->set_bytes_amounts(bytes)->set_hosts(hosts);
}

}  // namespace

sg4::ExecPtr start_flows(const std::vector<Flow>& flows) {
  HostList hosts;
  std::vector<std::pair<std::size_t, std::size_t>> pairs;
  std::vector<double> amounts;
  auto index_of = [&hosts](sg4::Host* h) {
    auto it = std::find(hosts.begin(), hosts.end(), h);
    if (it != hosts.end()) return static_cast<std::size_t>(it - hosts.begin());
    hosts.push_back(h);
    return hosts.size() - 1;
  };
  for (const Flow& f : flows) {
    if (f.src == f.dst || f.bytes <= 0) continue;
    pairs.emplace_back(index_of(f.src), index_of(f.dst));
    amounts.push_back(f.bytes);
  }
  if (pairs.empty()) return nullptr;
  const std::size_t n = hosts.size();
  std::vector<double> bytes(n * n, 0.0);
  for (std::size_t k = 0; k < pairs.size(); ++k) bytes[pairs[k].first * n + pairs[k].second] += amounts[k];
  sg4::ExecPtr task =
      sg4::Exec::init()->set_flops_amounts(std::vector<double>(n, 0.0))->set_bytes_amounts(bytes)->set_hosts(hosts);
  task->start();
  return task;
}

sg4::ExecPtr start_pairwise_send(const HostList& src, const HostList& dst, double bytes_each) {
  double moved = 0;
  sg4::ExecPtr task = pairwise_task(src, dst, bytes_each, &moved);
  if (task) task->start();
  return task;
}

double run_pairwise_send(const HostList& src, const HostList& dst, double bytes_each) {
  double moved = 0;
  sg4::ExecPtr task = pairwise_task(src, dst, bytes_each, &moved);
  if (task) task->start()->wait();
  return moved;
}

}  // namespace convsim
