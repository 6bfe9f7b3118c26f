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
#include <cstring>
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
  // nearbyint(ldexp(term, kFractionBits)) (round half to even), worked out on the
  // double's bits: no library calls on the hot path of every meter.
  static Units to_units(double term) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, &term, sizeof bits);
    const int biased_exponent = static_cast<int>((bits >> 52) & 0x7ff);
    std::uint64_t mantissa = bits & ((std::uint64_t{1} << 52) - 1);
    if (biased_exponent == 0x7ff) out_of_range(term);  // infinite or not a number
    if (biased_exponent != 0) mantissa |= std::uint64_t{1} << 52;
    // term = mantissa * 2^(exponent), so the units are mantissa * 2^(exponent + kFractionBits).
    const int exponent = (biased_exponent == 0 ? 1 : biased_exponent) - 1075;
    const int shift = exponent + kFractionBits;
    Bits magnitude = 0;
    if (mantissa == 0) {
      magnitude = 0;
    } else if (shift >= 0) {
      const int length = 64 - __builtin_clzll(mantissa);
      if (length + shift > 126) out_of_range(term);
      magnitude = static_cast<Bits>(mantissa) << shift;
    } else if (shift > -64) {
      const int r = -shift;
      std::uint64_t whole = mantissa >> r;
      const std::uint64_t rest = mantissa & ((std::uint64_t{1} << r) - 1);
      const std::uint64_t half = std::uint64_t{1} << (r - 1);
      if (rest > half || (rest == half && (whole & 1) != 0)) ++whole;
      magnitude = whole;
    }  // else below 2^-64 of a unit's half: 0
    const Units units = static_cast<Units>(magnitude);
    return (bits >> 63) != 0 ? -units : units;
  }
  [[noreturn]] static void out_of_range(double term) {
    throw std::overflow_error("ExactSum: term out of range (or not a number): " + std::to_string(term));
  }

  Units units_ = 0;
};

}  // namespace convsim
