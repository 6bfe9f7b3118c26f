#pragma once
// Work placed on the platform as SimGrid activities. Each call is one parallel
// task (ptask_L07): one activity however many GPUs take part, so the number of
// activities per iteration does not grow with layers or GPUs. All calls block the
// calling actor until the activity completes.
//
// An all-reduce of S bytes over p GPUs costs steps * hop latency + per-port bytes /
// bandwidth, by algorithm (see AllReducePlan). The bandwidth term runs here as real
// traffic; the route's latency is paid once by the activity, and the caller adds
// the other latency steps to the GPUs' timeline.

#include <vector>

#include <simgrid/s4u.hpp>

namespace convsim {

using HostList = std::vector<simgrid::s4u::Host*>;

// 2(p-1)/p * buffer: bytes each GPU sends (and receives) in one ring all-reduce.
double ring_allreduce_link_bytes(int p, double buffer_bytes);

// 2(p-1): latency terms of one ring all-reduce.
int ring_allreduce_steps(int p);

// How a serving engine all-reduces a buffer over p GPUs, by size:
//   - its custom kernels (vLLM's vllm/distributed/device_communicators/
//     custom_all_reduce.py and csrc/custom_all_reduce.cuh), on fully NVLink-connected
//     groups of 2, 4, 6 or 8 GPUs, below custom_max_bytes (8 MiB, its buffer): one
//     stage (every GPU reads every peer's buffer: 2 latency steps, (p-1) * S per port)
//     at p = 2, at p <= 4 below 512 KiB and at p <= 8 below 256 KiB; two stages
//     (reduce-scatter then all-gather by direct peer access: 4 steps,
//     2(p-1)/p * S per port) above;
//   - then torch symmetric memory below symm_mem_max_bytes, where the engine uses it:
//     multimem (NVLink SHARP: each GPU loads its 1/p slice reduced by the switch and
//     stores the result to every peer by multicast; S per port each way, 3 steps: a
//     barrier, the pass, a barrier) at the rate the switch reduces, or two-shot as
//     the custom kernels';
//   - NCCL's ring otherwise (2(p-1) steps, 2(p-1)/p * S).
struct AllReducePlan {
  enum class Algorithm { one_shot, two_shot, multimem, ring };
  Algorithm algorithm = Algorithm::ring;
  int latency_steps = 0;
  double port_bytes = 0;  // bytes each GPU sends (and receives)
  // The fraction of the link's rate the bytes move at: below 1 for multimem, where
  // the switch's reduction sets the pace.
  double link_rate_fraction = 1;
  // port_bytes at the link's full rate: the time the transfer takes on the link.
  double link_time_bytes() const { return port_bytes / link_rate_fraction; }
};
inline constexpr double kCustomAllReduceMaxBytes = 8.0 * 1024 * 1024;

// What the engine may use for one TP group.
struct AllReduceRoute {
  bool direct = false;  // fully connected through an NVSwitch node (the custom kernels' condition)
  bool custom = true;   // the engine's own kernels (false: NCCL everywhere)
  double custom_max_bytes = kCustomAllReduceMaxBytes;
  double symm_mem_max_bytes = 0;  // 0: no symmetric memory
  bool multimem = false;          // symmetric memory by multimem (else two-shot)
  double multicast_rate_fraction = 0;  // the fabric's multicast all-reduce rate / its link rate
};

AllReducePlan plan_allreduce(int p, double buffer_bytes, const AllReduceRoute& route);
// Whether the custom kernels serve a group of p GPUs (2, 4, 6 or 8), and below which
// buffer size they run in one stage there.
bool custom_kernels_serve(int p);
double one_stage_max_bytes(int p);
// The custom kernels inside NVSwitch nodes (nvlink_connected), NCCL's ring otherwise.
AllReducePlan plan_allreduce(int p, double buffer_bytes, bool nvlink_connected);

// The bandwidth phase of `count` ring all-reduces of `buffer_bytes` over `hosts`.
// Returns the bytes put on links (all GPUs together).
double run_ring_allreduce(const HostList& hosts, double buffer_bytes, int count);

// The bandwidth phase of `count` all-reduces planned by `plan`. The traffic is laid
// out as a ring whose flows carry the plan's per-port bytes (at the link's full rate:
// link_time_bytes): with one port per GPU on a switch, every port then carries
// exactly the algorithm's load, with p flows instead of p(p-1). Returns the bytes
// put on links (port_bytes per GPU and all-reduce).
double run_allreduce(const HostList& hosts, const AllReducePlan& plan, int count);

// One flow of a parallel task: `bytes` from src to dst.
struct Flow {
  simgrid::s4u::Host* src = nullptr;
  simgrid::s4u::Host* dst = nullptr;
  double bytes = 0;
};

// Starts all `flows` as one parallel task (flows with src == dst or no bytes are
// skipped) and returns it, or nullptr when nothing moves. An uncontended task takes
// the slowest route's latency plus, over the links it crosses, the largest bytes /
// bandwidth.
simgrid::s4u::ExecPtr start_flows(const std::vector<Flow>& flows);

// Starts host src[i] sending `bytes_each` to dst[i], all at once, without waiting:
// the caller keeps the returned activity until it completes (nullptr when there is
// nothing to send).
simgrid::s4u::ExecPtr start_pairwise_send(const HostList& src, const HostList& dst, double bytes_each);

// Host src[i] sends `bytes_each` to dst[i], all at once. Pairs with src == dst are
// skipped (no loopback traffic). Returns the bytes put on links.
double run_pairwise_send(const HostList& src, const HostList& dst, double bytes_each);

}  // namespace convsim
