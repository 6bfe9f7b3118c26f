// The run's records: work totals add up scaled by their weight.

#include <catch2/catch.hpp>

#include "sim/accounting/records.hpp"

using convsim::WorkTotals;

TEST_CASE("work totals add another's figures times a weight, field by field") {
  WorkTotals sum{1, 2, 3, 4, 5, 6};
  const WorkTotals stage{0.5, 0.25, 0.125, 1e9, 2e12, 3e12};
  sum.add(stage, 8);  // a stage of 8 GPUs doing the same
  CHECK(sum.compute_s == 1 + 8 * 0.5);
  CHECK(sum.comm_s == 2 + 8 * 0.25);
  CHECK(sum.host_s == 3 + 8 * 0.125);
  CHECK(sum.hbm_bytes == 4 + 8 * 1e9);
  CHECK(sum.bf16_flops == 5 + 8 * 2e12);
  CHECK(sum.fp8_flops == 6 + 8 * 3e12);
}
