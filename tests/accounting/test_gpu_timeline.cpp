// GpuTimeline: each GPU's bins come from its own activity alone; readers see every
// GPU at the common (widest) width.

#include <algorithm>
#include <vector>

#include <catch2/catch.hpp>

#include "sim/accounting/gpu_timeline.hpp"

using convsim::GpuTimeline;

namespace {

// GPU 0's activity: 300 one-second iterations, busy 0.7 s and communicating 0.1 s.
void gpu0_activity(GpuTimeline& t) {
  for (int k = 0; k < 300; ++k) t.add(0, k * 1.0, 0.7, 0.1, 400.0, 1e9 + k);
}

}  // namespace

TEST_CASE("a GPU's bins do not depend on the activity of the other GPUs") {
  GpuTimeline alone(2, 0.25), beside(2, 0.25);
  gpu0_activity(alone);
  beside.add(1, 0.0, 1.0, 0.0, 10.0, 0.0);
  gpu0_activity(beside);
  beside.add(1, 5000.0, 1.0, 0.0, 10.0, 0.0);  // GPU 1 outgrows 512 bins much further
  REQUIRE(alone.own_bin_s(0) == beside.own_bin_s(0));
  const auto& a = alone.own_bins(0);
  const auto& b = beside.own_bins(0);
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].busy_s == b[i].busy_s);
    CHECK(a[i].active_energy_j == b[i].active_energy_j);
  }
  // 300 s of activity at 0.25 s would be 1,200 bins: widened twice to 1 s (300 bins).
  CHECK(alone.own_bin_s(0) == 1.0);
  // GPU 1 reaches 5001 s: 0.25 * 2^k with 5001 / width < 512 -> 16 s.
  CHECK(beside.bin_s() == 16.0);
}

TEST_CASE("bins at the common width keep each GPU's busy time and energy") {
  GpuTimeline t(2, 0.25);
  gpu0_activity(t);
  t.add(1, 5000.0, 1.0, 0.0, 10.0, 0.0);
  const std::vector<GpuTimeline::Bin> bins = t.bins(0);
  double busy_s = 0, energy_j = 0, memory_bytes = 0;
  for (const GpuTimeline::Bin& b : bins) {
    busy_s += b.busy_s;
    energy_j += b.active_energy_j;
    memory_bytes = std::max(memory_bytes, b.memory_bytes);
  }
  CHECK(bins.size() == 19);  // 300 s in 16 s bins
  CHECK(busy_s == Approx(300 * 0.7).epsilon(1e-12));
  CHECK(energy_j == Approx(300 * 400.0).epsilon(1e-12));
  CHECK(memory_bytes == 1e9 + 299);
}

TEST_CASE("GPUs sharing a track read what each would have recorded alone, written once") {
  // GPUs 1 and 2 share GPU 1's track; both are told the same activity, as a stage's
  // GPUs are. Each reads the bins GPU 0 records from that activity on a track of its own.
  GpuTimeline shared(3, 0.25);
  shared.share({1, 2});
  gpu0_activity(shared);
  for (int k = 0; k < 300; ++k) {
    shared.add(1, k * 1.0, 0.7, 0.1, 400.0, 1e9 + k);
    shared.add(2, k * 1.0, 0.7, 0.1, 400.0, 1e9 + k);
  }
  const std::vector<GpuTimeline::Bin> alone = shared.bins(0);
  for (int gpu : {1, 2}) {
    INFO("gpu " << gpu);
    const std::vector<GpuTimeline::Bin> got = shared.bins(gpu);
    REQUIRE(got.size() == alone.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      CHECK(got[i].busy_s == alone[i].busy_s);  // not doubled by the second GPU's call
      CHECK(got[i].active_energy_j == alone[i].active_energy_j);
      CHECK(got[i].memory_bytes == alone[i].memory_bytes);
    }
    CHECK(shared.own_bin_s(gpu) == shared.own_bin_s(0));
  }
}
