#pragma once
// Random numbers for the workload. The generator and the transforms are written
// out here (SplitMix64, Box-Muller, inverse CDF) so a scenario and seed give the same
// draws with any standard library.

#include <cstdint>

#include "sim/scenario/scenario.hpp"

namespace convsim {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  // An independent stream for sub-generator `index` (a session, a request slot).
  Rng fork(std::uint64_t index) const;
  std::uint64_t next_u64();
  double uniform01();     // in (0, 1)
  double standard_normal();
  double exponential(double rate_per_s);

 private:
  std::uint64_t state_;
};

double sample(const Distribution& distribution, Rng& rng);

// Expected value, for documentation and checks.
double mean(const Distribution& distribution);

}  // namespace convsim
