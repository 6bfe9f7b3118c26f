// How an engine's all-reduce is planned (sim/cluster/collectives.cpp): the custom
// kernels' one- and two-stage algorithms by world size and buffer, symmetric memory
// between the engine's limits, NCCL's ring beyond; and a multimem all-reduce run on
// the platform, against vLLM's measured times on 8 H100s.

#include <cmath>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "sim/cluster/collectives.hpp"
#include "sim/cluster/platform.hpp"
#include "tests/support/platform_fixture.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;
using test::simulate;
using test::timed;

namespace {

constexpr double kKiB = 1024.0, kMiB = 1024.0 * 1024.0;
using Algorithm = AllReducePlan::Algorithm;

// vLLM on an SM 10.0 GPU at TP 8 (its all_reduce_utils.py tables): custom kernels
// below 1 MiB, symmetric memory by multimem below 128 MiB.
AllReduceRoute vllm_b200_tp8(double multicast_rate_fraction) {
  AllReduceRoute r;
  r.direct = true;
  r.custom_max_bytes = 1 * kMiB;
  r.symm_mem_max_bytes = 128 * kMiB;
  r.multimem = true;
  r.multicast_rate_fraction = multicast_rate_fraction;
  return r;
}

}  // namespace

TEST_CASE("the custom kernels run one stage for small buffers by world size, two above, NCCL's ring beyond 8 MiB") {
  // csrc/custom_all_reduce.cuh: one stage at p = 2, at p <= 4 below 512 KiB, at p <= 8 below 256 KiB.
  const AllReducePlan small = plan_allreduce(8, 64 * kKiB, true);
  CHECK(small.algorithm == Algorithm::one_shot);
  CHECK(small.latency_steps == 2);
  CHECK(small.port_bytes == 7 * 64 * kKiB);
  CHECK(plan_allreduce(8, 300 * kKiB, true).algorithm == Algorithm::two_shot);
  CHECK(plan_allreduce(4, 300 * kKiB, true).algorithm == Algorithm::one_shot);
  CHECK(plan_allreduce(4, 600 * kKiB, true).algorithm == Algorithm::two_shot);
  CHECK(plan_allreduce(2, 4 * kMiB, true).algorithm == Algorithm::one_shot);
  const AllReducePlan medium = plan_allreduce(8, 4 * kMiB, true);
  CHECK(medium.algorithm == Algorithm::two_shot);
  CHECK(medium.latency_steps == 4);
  CHECK(medium.port_bytes == Approx(2.0 * 7 / 8 * 4 * kMiB));
  const AllReducePlan large = plan_allreduce(8, 16 * kMiB, true);
  CHECK(large.algorithm == Algorithm::ring);
  CHECK(large.latency_steps == 14);
  CHECK(plan_allreduce(8, 64 * kKiB, false).algorithm == Algorithm::ring);  // not fully connected
  CHECK(plan_allreduce(16, 64 * kKiB, true).algorithm == Algorithm::ring);  // the kernels serve 2, 4, 6, 8
  CHECK(plan_allreduce(1, 64 * kKiB, true).latency_steps == 0);
  AllReduceRoute nccl;
  nccl.direct = true;
  nccl.custom = false;  // an engine with allreduce: nccl
  CHECK(plan_allreduce(8, 64 * kKiB, nccl).algorithm == Algorithm::ring);
}

TEST_CASE("with symmetric memory the custom kernels stop at the engine's limit and multimem takes over") {
  const AllReduceRoute route = vllm_b200_tp8(0.4);
  CHECK(plan_allreduce(8, 512 * kKiB, route).algorithm == Algorithm::two_shot);  // custom, second stage
  const AllReducePlan mm = plan_allreduce(8, 8 * kMiB, route);
  CHECK(mm.algorithm == Algorithm::multimem);
  CHECK(mm.latency_steps == 3);
  CHECK(mm.port_bytes == 8 * kMiB);  // the buffer once each way through each port
  CHECK(mm.link_time_bytes() == Approx(8 * kMiB / 0.4));
  CHECK(plan_allreduce(8, 128 * kMiB, route).algorithm == Algorithm::ring);  // at the limit: NCCL
  AllReduceRoute two_shot = route;
  two_shot.multimem = false;  // a world size symmetric memory serves by two-shot
  const AllReducePlan ts = plan_allreduce(8, 8 * kMiB, two_shot);
  CHECK(ts.algorithm == Algorithm::two_shot);
  CHECK(ts.port_bytes == Approx(2.0 * 7 / 8 * 8 * kMiB));
  AllReduceRoute no_multicast = route;
  no_multicast.multicast_rate_fraction = 0;  // no switch that reduces: two-shot
  CHECK(plan_allreduce(8, 8 * kMiB, no_multicast).algorithm == Algorithm::two_shot);
}

TEST_CASE("a multimem all-reduce on 8 H100s takes what vLLM measured, within 10%, from 4 to 64 MiB") {
  const ClusterSpec cluster = test::h100_cluster(1);
  const FabricSpec& up = cluster.scale_up;
  REQUIRE(up.multicast_allreduce_bytes_per_s > 0);
  AllReduceRoute route = vllm_b200_tp8(up.multicast_allreduce_bytes_per_s / up.bandwidth_bytes_per_s);
  route.custom_max_bytes = 256 * kKiB;  // SM 9.0's limits at TP 8
  route.symm_mem_max_bytes = 64 * kMiB + 1;
  // vllm PR 42324, H100, symm_mem_multimem column (ms per all-reduce, BF16, CUDA graphs).
  const std::vector<std::pair<double, double>> measured = {
      {4, 0.027e-3}, {8, 0.046e-3}, {16, 0.087e-3}, {32, 0.165e-3}, {64, 0.320e-3}};
  std::vector<double> model_s(measured.size()), moved(measured.size());
  simulate(cluster, [&](const Platform& p) {
    for (std::size_t i = 0; i < measured.size(); ++i) {
      const AllReducePlan plan = plan_allreduce(8, measured[i].first * kMiB, route);
      REQUIRE(plan.algorithm == Algorithm::multimem);
      // The activity pays one latency step; the engine adds the other two.
      model_s[i] = timed([&] { moved[i] = run_allreduce(p.gpus, plan, 1); }) + 2 * up.latency_s;
    }
  });
  for (std::size_t i = 0; i < measured.size(); ++i) {
    const double bytes = measured[i].first * kMiB;
    INFO(measured[i].first << " MiB: measured " << measured[i].second << " s, model " << model_s[i] << " s");
    CHECK(model_s[i] == Approx(3 * up.latency_s + bytes / up.multicast_allreduce_bytes_per_s).epsilon(1e-9));
    CHECK(std::abs(model_s[i] - measured[i].second) / measured[i].second < 0.10);
    CHECK(moved[i] == Approx(8 * bytes));  // each GPU's port carries the buffer once
  }
}
