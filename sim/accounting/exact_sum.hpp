#pragma once
// A sum of doubles whose value does not depend on the order of its terms.
//
// Each term is rounded to a multiple of 2^-kFractionBits (about 5e-20) and added to
// a 128-bit integer, so that a + b + c and c + a + b give the same bits. A run's
// totals over many replicas (link energy, bytes moved, tokens) are summed so: the
// replicas' events interleave in an order that depends on which replicas share the
// process, and a run split into shards (convsim run --shard) must add up to the
// same bits as the whole run. Two ExactSums add exactly.
//
// Range: |sum| < 2^(126 - kFractionBits), about 4e18 (joules, seconds, bytes,
// tokens of a run stay far below). Terms below 2^-kFractionBits in magnitude are
// lost, deterministically.

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace convsim {

class ExactSum {
 public:
  static constexpr int kFractionBits = 64;
  __extension__ typedef __int128 Units;
  __extension__ typedef unsigned __int128 Bits;

  ExactSum() = default;

  ExactSum& operator+=(double term) {
    units_ += to_units(term);
    return *this;
  }
  ExactSum& operator+=(const ExactSum& other) {
    units_ += other.units_;
    return *this;
  }

  // The sum, rounded to the nearest double.
  double value() const { return std::ldexp(static_cast<double>(units_), -kFractionBits); }

  // The exact state, as two 64-bit halves (for writing a shard's totals to a file).
  std::uint64_t high_bits() const { return static_cast<std::uint64_t>(static_cast<Bits>(units_) >> 64); }
  std::uint64_t low_bits() const { return static_cast<std::uint64_t>(static_cast<Bits>(units_)); }
  static ExactSum from_bits(std::uint64_t high, std::uint64_t low) {
    ExactSum s;
    s.units_ = static_cast<Units>((static_cast<Bits>(high) << 64) | low);
    return s;
  }

 private:
  static Units to_units(double term) {
    const double scaled = std::nearbyint(std::ldexp(term, kFractionBits));
    if (!(std::fabs(scaled) < 0x1p126)) {
      throw std::overflow_error("ExactSum: term out of range (or not a number): " + std::to_string(term));
    }
    return static_cast<Units>(scaled);
  }

  Units units_ = 0;
};

}  // namespace convsim
