#include "sim/workload/distribution.hpp"

#include <cmath>

namespace convsim {

Rng Rng::fork(std::uint64_t index) const {
  Rng child(state_ ^ (0x9E3779B97F4A7C15ULL * (index + 1)));
  child.next_u64();
  return child;
}

std::uint64_t Rng::next_u64() {  // SplitMix64 (Steele, Lea, Flood 2014)
  std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

double Rng::uniform01() {
  return (static_cast<double>(next_u64() >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

double Rng::standard_normal() {  // Box-Muller, one of the pair
  const double u1 = uniform01();
  const double u2 = uniform01();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

double Rng::exponential(double rate_per_s) { return -std::log(uniform01()) / rate_per_s; }

double sample(const Distribution& d, Rng& rng) {
  switch (d.kind) {
    case Distribution::Kind::fixed: return d.value;
    case Distribution::Kind::lognormal: return d.median * std::exp(d.sigma * rng.standard_normal());
    case Distribution::Kind::uniform: return d.low + (d.high - d.low) * rng.uniform01();
  }
  return d.value;
}

double mean(const Distribution& d) {
  switch (d.kind) {
    case Distribution::Kind::fixed: return d.value;
    case Distribution::Kind::lognormal: return d.median * std::exp(d.sigma * d.sigma / 2.0);
    case Distribution::Kind::uniform: return (d.low + d.high) / 2.0;
  }
  return d.value;
}

}  // namespace convsim
