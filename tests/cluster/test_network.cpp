// Network timings on the SimGrid platform. Each TEST_CASE runs one simulation in its
// own process (ctest runs every case separately); values are collected inside the
// actor and checked after Engine::run().

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include <catch2/catch.hpp>
#include <simgrid/s4u.hpp>

#include "sim/cluster/collectives.hpp"
#include "sim/cluster/platform.hpp"
#include "sim/validation/calibration.hpp"
#include "tests/support/platform_fixture.hpp"
#include "tests/support/scenario_fixture.hpp"

namespace sg4 = simgrid::s4u;
using namespace convsim;
using test::simulate;
using test::timed;

using test::h100_cluster;

TEST_CASE("an uncontended transfer takes latency + bytes / bandwidth, inside a node and across nodes") {
  const ClusterSpec cluster = h100_cluster(2);
  const double bytes = 1e9;
  double nvlink_s = 0, ib_s = 0;
  simulate(cluster, [&](const Platform& p) {
    nvlink_s = timed([&] { run_pairwise_send({p.gpus[0]}, {p.gpus[1]}, bytes); });
    ib_s = timed([&] { run_pairwise_send({p.gpus[0]}, {p.gpus[8]}, bytes); });
  });
  const double nvlink_expected_s = cluster.scale_up.latency_s + bytes / cluster.scale_up.bandwidth_bytes_per_s;
  const double ib_expected_s = cluster.scale_out.latency_s + bytes / cluster.scale_out.bandwidth_bytes_per_s;
  INFO("NVLink expectation " << nvlink_expected_s << " actual " << nvlink_s);
  CHECK(nvlink_s == Approx(nvlink_expected_s).epsilon(1e-9));
  INFO("InfiniBand expectation " << ib_expected_s << " actual " << ib_s);
  CHECK(ib_s == Approx(ib_expected_s).epsilon(1e-9));
}

TEST_CASE("a ring all-reduce moves 2(p-1)/p of the buffer through each GPU's port") {
  const ClusterSpec cluster = h100_cluster(1);
  const double buffer_bytes = 64.0 * 1024 * 1024;
  double one_s = 0, three_s = 0;
  simulate(cluster, [&](const Platform& p) {
    one_s = timed([&] { run_ring_allreduce(p.gpus, buffer_bytes, 1); });
    three_s = timed([&] { run_ring_allreduce(p.gpus, buffer_bytes, 3); });
  });
  const double bandwidth = cluster.scale_up.bandwidth_bytes_per_s, latency = cluster.scale_up.latency_s;
  // The activity pays the route latency once; the engine adds the other 2(p-1) - 1.
  const double expected_s = latency + 2.0 * 7 / 8 * buffer_bytes / bandwidth;
  INFO("Expectation " << expected_s << " s, actual " << one_s << " s");
  CHECK(one_s == Approx(expected_s).epsilon(1e-9));
  CHECK(three_s == Approx(latency + 3 * 2.0 * 7 / 8 * buffer_bytes / bandwidth).epsilon(1e-9));
  CHECK(ring_allreduce_steps(8) == 14);
}

TEST_CASE("two all-reduces sharing the same ports take twice as long as one") {
  const ClusterSpec cluster = h100_cluster(1);
  const double buffer_bytes = 256.0 * 1024 * 1024;
  double alone_s = 0, shared_s = 0;
  simulate(cluster, [&](const Platform& p) {
    alone_s = timed([&] { run_ring_allreduce(p.gpus, buffer_bytes, 1); });
    shared_s = timed([&] {
      sg4::ActorPtr other = sg4::Actor::create("other", p.gpus[1], [&] { run_ring_allreduce(p.gpus, buffer_bytes, 1); });
      run_ring_allreduce(p.gpus, buffer_bytes, 1);
      other->join();
    });
  });
  const double latency = cluster.scale_up.latency_s;
  INFO("alone " << alone_s << " s, sharing " << shared_s << " s");
  CHECK(shared_s - latency == Approx(2 * (alone_s - latency)).epsilon(1e-6));
}

TEST_CASE("the ring all-reduce model is within 25% of NCCL on a DGX H100 for 1-64 MiB buffers") {
  // Measured medians, data/calibration/vidur_h100_dgx_all_reduce.csv, 8 GPUs; the
  // model is the ring formula of sim/validation/calibration.hpp over nvlink4.
  const FabricSpec& nvlink = test::catalog().fabrics.at("nvlink4");
  const std::vector<CollectiveCase> cases = allreduce_cases(nvlink, default_calibration_dir());
  for (const double mib : {1.0, 4.0, 16.0, 64.0}) {
    const auto point = std::find_if(cases.begin(), cases.end(),
                                    [&](const CollectiveCase& c) { return c.bytes == mib * 1024 * 1024; });
    REQUIRE(point != cases.end());
    const double model_s = point->predicted_s;
    INFO(point->bytes << " bytes: measured " << point->measured_s << " s, model " << model_s << " s");
    CHECK(std::abs(model_s - point->measured_s) / point->measured_s < 0.25);
  }
}

TEST_CASE("on a large cluster's per-node zones, transfers take latency + bytes / bandwidth as on a small one") {
  const ClusterSpec cluster = h100_cluster(kFlatZoneMaxNodes + 4);
  const double bytes = 1e9;
  double nvlink_s = 0, ib_s = 0, far_s = 0;
  simulate(cluster, [&](const Platform& p) {
    nvlink_s = timed([&] { run_pairwise_send({p.gpus[8]}, {p.gpus[9]}, bytes); });
    ib_s = timed([&] { run_pairwise_send({p.gpus[0]}, {p.gpus[8]}, bytes); });
    far_s = timed([&] { run_pairwise_send({p.gpus[3]}, {p.gpus[8 * (kFlatZoneMaxNodes + 3) + 5]}, bytes); });
  });
  CHECK(nvlink_s == Approx(cluster.scale_up.latency_s + bytes / cluster.scale_up.bandwidth_bytes_per_s).epsilon(1e-9));
  const double ib_expected_s = cluster.scale_out.latency_s + bytes / cluster.scale_out.bandwidth_bytes_per_s;
  CHECK(ib_s == Approx(ib_expected_s).epsilon(1e-9));
  CHECK(far_s == Approx(ib_expected_s).epsilon(1e-9));
}

namespace {

// Each GPU of node 0 sends `bytes` to the same GPU of node 1, all at once.
double node_to_node_s(const ClusterSpec& cluster, double bytes) {
  double all_s = 0;
  simulate(cluster, [&](const Platform& p) {
    HostList src, dst;
    for (int g = 0; g < 8; ++g) {
      src.push_back(p.gpus[g]);
      dst.push_back(p.gpus[8 + g]);
    }
    all_s = timed([&] { run_pairwise_send(src, dst, bytes); });
  });
  return all_s;
}

}  // namespace

TEST_CASE("eight GPUs of one node sending to another node at once each get their NIC's full rate") {
  const ClusterSpec cluster = h100_cluster(kFlatZoneMaxNodes + 1);
  const double bytes = 1e9;
  const double all_s = node_to_node_s(cluster, bytes);
  CHECK(all_s == Approx(cluster.scale_out.latency_s + bytes / cluster.scale_out.bandwidth_bytes_per_s).epsilon(1e-9));
}

TEST_CASE("eight GPUs sending across a 2:1 oversubscribed uplink each get half their NIC's rate") {
  ClusterSpec cluster = h100_cluster(2);
  cluster.oversubscription = 2;
  const double bytes = 1e9;
  const double all_s = node_to_node_s(cluster, bytes);
  // The uplink carries 8 x 50 / 2 = 200 GB/s shared by 8 flows: 25 GB/s each.
  CHECK(all_s == Approx(cluster.scale_out.latency_s + bytes / (cluster.scale_out.bandwidth_bytes_per_s / 2)).epsilon(1e-9));
}

// ---- A whole NVLink 5 domain: 72 GPUs of a GB200 NVL72 rack as one node ----

namespace {

ClusterSpec gb200_nvl72() {
  ClusterSpec c;
  c.gpu = test::catalog().gpus.at("gb200");
  c.nodes = 1;
  c.gpus_per_node = 72;
  c.scale_up = test::catalog().fabrics.at("nvlink5");
  c.scale_out = test::catalog().fabrics.at("ib-xdr");
  return c;
}

}  // namespace

TEST_CASE("a 72-GPU tensor-parallel all-reduce on NVLink 5 follows the ring formula") {
  const ClusterSpec cluster = gb200_nvl72();
  const double buffer_bytes = 64.0 * 1024 * 1024;  // above the custom kernels' 8 MiB: NCCL's ring
  const AllReducePlan plan = plan_allreduce(72, buffer_bytes, true);
  double allreduce_s = 0;
  simulate(cluster, [&](const Platform& p) { allreduce_s = timed([&] { run_allreduce(p.gpus, plan, 1); }); });
  const double bandwidth = cluster.scale_up.bandwidth_bytes_per_s, latency = cluster.scale_up.latency_s;
  // Ring: 2(p-1)/p of the buffer through each GPU's port, 2(p-1) latency steps (the
  // activity pays one; the engine adds the rest).
  const double expected_s = latency + 2.0 * 71 / 72 * buffer_bytes / bandwidth;
  INFO("Expectation " << expected_s << " s, actual " << allreduce_s << " s");
  CHECK(plan.algorithm == AllReducePlan::Algorithm::ring);
  CHECK(plan.latency_steps == 2 * 71);
  CHECK(plan.port_bytes == Approx(2.0 * 71 / 72 * buffer_bytes));
  CHECK(allreduce_s == Approx(expected_s).epsilon(1e-9));
}

TEST_CASE("a 72-GPU expert-parallel all-to-all on NVLink 5 moves (p-1)/p of each GPU's buffer through its port") {
  const ClusterSpec cluster = gb200_nvl72();
  const double per_peer_bytes = 1.0e6;  // each GPU's buffer: 72 slices, one kept
  double all_to_all_s = 0;
  simulate(cluster, [&](const Platform& p) {
    std::vector<Flow> flows;
    for (sg4::Host* a : p.gpus) {
      for (sg4::Host* b : p.gpus) {
        if (a != b) flows.push_back(Flow{a, b, per_peer_bytes});
      }
    }
    all_to_all_s = timed([&] { start_flows(flows)->wait(); });
  });
  const double buffer_bytes = 72 * per_peer_bytes;
  const double expected_s =
      cluster.scale_up.latency_s + 71.0 / 72.0 * buffer_bytes / cluster.scale_up.bandwidth_bytes_per_s;
  INFO("Expectation " << expected_s << " s, actual " << all_to_all_s << " s");
  CHECK(all_to_all_s == Approx(expected_s).epsilon(1e-9));
}
