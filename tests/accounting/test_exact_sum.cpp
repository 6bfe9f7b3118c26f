// ExactSum: a sum whose bits do not depend on the order of its terms.

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "sim/accounting/exact_sum.hpp"

using convsim::ExactSum;

TEST_CASE("an ExactSum has the same bits in any order of its terms, where a double sum does not") {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> exponent(-12, 9);
  std::vector<double> terms;
  for (int k = 0; k < 2000; ++k) terms.push_back(std::pow(10.0, exponent(rng)));
  ExactSum forward;
  double naive_forward = 0;
  for (double t : terms) {
    forward += t;
    naive_forward += t;
  }
  std::reverse(terms.begin(), terms.end());
  ExactSum backward;
  double naive_backward = 0;
  for (double t : terms) {
    backward += t;
    naive_backward += t;
  }
  CHECK(forward.value() == backward.value());
  CHECK(naive_forward != naive_backward);  // why it exists: this set of terms rounds by order
  CHECK(forward.value() == Approx(naive_forward).epsilon(1e-14));
}

TEST_CASE("two ExactSums added are the sum of all their terms, and survive their two 64-bit halves") {
  const std::vector<double> a = {1e-9, 3.25, 7e6, -2.5}, b = {0.1, 1e12, 5e-15};
  ExactSum sa, sb, all;
  for (double t : a) sa += t, all += t;
  for (double t : b) sb += t, all += t;
  ExactSum joined = sa;
  joined += sb;
  CHECK(joined.value() == all.value());
  const ExactSum copy = ExactSum::from_bits(joined.high_bits(), joined.low_bits());
  CHECK(copy.value() == joined.value());
  ExactSum negative;
  negative += -3.5;
  CHECK(ExactSum::from_bits(negative.high_bits(), negative.low_bits()).value() == -3.5);
}

TEST_CASE("an ExactSum refuses a term out of its range or not a number") {
  ExactSum s;
  CHECK_THROWS_AS(s += 1e40, std::overflow_error);
  CHECK_THROWS_AS(s += std::nan(""), std::overflow_error);
}

TEST_CASE("an ExactSum's one term is the term rounded to the nearest 2^-64, ties to even") {
  // The rounding the class documents, written with the library: nearbyint(ldexp(t, 64)).
  auto rounded = [](double t) { return std::ldexp(std::nearbyint(std::ldexp(t, 64)), -64); };
  auto one = [](double t) {
    ExactSum s;
    s += t;
    return s.value();
  };
  // Ties at half a unit go to the even unit: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -1.5 -> -2.
  CHECK(one(std::ldexp(1.0, -65)) == 0.0);
  CHECK(one(std::ldexp(3.0, -65)) == std::ldexp(2.0, -64));
  CHECK(one(std::ldexp(5.0, -65)) == std::ldexp(2.0, -64));
  CHECK(one(-std::ldexp(3.0, -65)) == -std::ldexp(2.0, -64));
  CHECK(one(std::ldexp(1.0, -70) * 0.75) == 0.0);
  CHECK(one(4.9e-324) == 0.0);  // the smallest subnormal
  CHECK(one(-0.0) == 0.0);
  CHECK(one(std::ldexp(1.0, 62) - std::ldexp(1.0, 9)) == std::ldexp(1.0, 62) - std::ldexp(1.0, 9));  // the largest
  CHECK_THROWS_AS(one(std::ldexp(1.0, 62)), std::overflow_error);
  CHECK_THROWS_AS(one(-std::numeric_limits<double>::infinity()), std::overflow_error);
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> exponent(-80, 60);
  std::uniform_real_distribution<double> mantissa(-1, 1);
  for (int k = 0; k < 20000; ++k) {
    const double t = mantissa(rng) * std::pow(2.0, exponent(rng));
    INFO("term " << t);
    REQUIRE(one(t) == rounded(t));
  }
}
