#pragma once
// Summary statistics over reply records.

#include <vector>

namespace convsim {

struct Percentiles {
  double mean = 0;
  double p50 = 0;
  double p90 = 0;
  double p99 = 0;
  long count = 0;
};

// Percentiles by linear interpolation between closest ranks; zeros for no values.
Percentiles percentiles(std::vector<double> values);

}  // namespace convsim
