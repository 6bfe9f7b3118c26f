#pragma once
// Work placed on the platform as SimGrid activities. Each call is one parallel
// task (ptask_L07): one activity however many GPUs take part, so the number of
// activities per iteration does not grow with layers or GPUs. All calls block the
// calling actor until the activity completes.
//
// A ring all-reduce of S bytes over p GPUs costs 2(p-1) * latency +
// 2(p-1)/p * S / bandwidth. The bandwidth term runs here as real traffic (each GPU
// sends its share to the next, so concurrent traffic on the same links shares
// them); the route's latency is paid once by the activity, and the caller adds the
// other 2(p-1) - 1 hop latencies of each collective to the GPUs' timeline.

#include <vector>

#include <simgrid/s4u.hpp>

namespace convsim {

using HostList = std::vector<simgrid::s4u::Host*>;

// 2(p-1)/p * buffer: bytes each GPU sends (and receives) in one ring all-reduce.
double ring_allreduce_link_bytes(int p, double buffer_bytes);

// 2(p-1): latency terms of one ring all-reduce.
int ring_allreduce_steps(int p);

// Every host computes for `duration_s`. REQUIRES: duration_s >= 0.
void run_compute(const HostList& hosts, double duration_s);

// The bandwidth phase of `count` ring all-reduces of `buffer_bytes` over `hosts`.
// Returns the bytes put on links (all GPUs together).
double run_ring_allreduce(const HostList& hosts, double buffer_bytes, int count);

// Host src[i] sends `bytes_each` to dst[i], all at once. Pairs with src == dst are
// skipped (no loopback traffic). Returns the bytes put on links.
double run_pairwise_send(const HostList& src, const HostList& dst, double bytes_each);

}  // namespace convsim
