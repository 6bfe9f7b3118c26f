// write_g9 must print exactly what printf's "%.9g" prints: its fast path rounds a
// scaled long double, so the checks are against the C library's own formatting
// (an independent, exact implementation) on hand-worked cases, on values at the
// edges of the fast path and of the notation switch, and on a million random ones.

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>

#include <catch2/catch.hpp>

#include "sim/output/number_text.hpp"

namespace {

std::string g9(double v) {
  char text[32];
  return std::string(text, convsim::write_g9(text, v));
}

std::string printf_g9(double v) {
  char text[64];
  const int n = std::snprintf(text, sizeof text, "%.9g", v);
  return std::string(text, static_cast<std::size_t>(n));
}

}  // namespace

TEST_CASE("write_g9 prints hand-worked nine-digit cases") {
  CHECK(g9(0.0) == "0");
  CHECK(g9(-0.0) == "-0");
  CHECK(g9(0.1) == "0.1");              // the double is 0.1000000000000000055...: nine digits are 0.100000000
  CHECK(g9(2.0 / 3.0) == "0.666666667");  // 0.6666666666... rounds up in the ninth digit
  CHECK(g9(-2.0 / 3.0) == "-0.666666667");
  CHECK(g9(123456789.0) == "123456789");
  CHECK(g9(123456789.4) == "123456789");
  CHECK(g9(123456789.6) == "123456790");
  CHECK(g9(999999999.6) == "1e+09");         // rounds up to the next power of ten
  CHECK(g9(1e9) == "1e+09");                 // nine digits before the point: scientific
  CHECK(g9(1234567895.0) == "1.2345679e+09");  // an exact tie, to even (glibc's rounding)
  CHECK(g9(1234567885.0) == "1.23456788e+09");  // an exact tie, to even
  CHECK(g9(0.0001) == "0.0001");             // exponent -4: still fixed
  CHECK(g9(0.00001) == "1e-05");             // exponent -5: scientific
  CHECK(g9(1.5e-7) == "1.5e-07");
  CHECK(g9(6.02214076e23) == "6.02214076e+23");
  CHECK(g9(1e100) == "1e+100");
  CHECK(g9(2.5) == "2.5");
}

TEST_CASE("write_g9 prints non-finite values and the edges of its fast path as printf does") {
  for (const double v : {std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
                         std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::denorm_min(),
                         std::numeric_limits<double>::max(), std::numeric_limits<double>::min()}) {
    CHECK(g9(v) == printf_g9(v));
  }
  for (const double edge : {1e-30, 1e38, 1e-5, 1e-4, 1e8, 1e9, 0.5, 1.0, 10.0}) {
    double v = edge;
    for (int step = 0; step < 4; ++step) v = std::nextafter(v, 0.0);
    for (int step = 0; step < 8; ++step, v = std::nextafter(v, 2 * edge)) {
      CHECK(g9(v) == printf_g9(v));
      CHECK(g9(-v) == printf_g9(-v));
    }
  }
}

TEST_CASE("write_g9 matches printf on a million random doubles") {
  std::mt19937_64 rng(20261203);
  std::uniform_real_distribution<double> exponent(-35, 40);
  int mismatches = 0;
  std::string first;
  for (int i = 0; i < 1'000'000; ++i) {
    double v;
    switch (i % 4) {
      case 0: {  // any bit pattern
        const std::uint64_t bits = rng();
        std::memcpy(&v, &bits, sizeof v);
        break;
      }
      case 1:  // log-uniform over the fast path and beyond
        v = std::pow(10.0, exponent(rng));
        break;
      case 2:  // decimals with few digits, as timings and energies often are
        v = static_cast<double>(rng() % 10'000'000) / 1000.0;
        break;
      default:  // near ties of the ninth digit
        v = (static_cast<double>(rng() % 1'000'000'000) + 0.5) * std::pow(10.0, static_cast<int>(rng() % 20) - 10);
    }
    if (rng() % 2 == 1) v = -v;
    if (g9(v) != printf_g9(v)) {
      if (mismatches++ == 0) first = printf_g9(v) + " printed as " + g9(v);
    }
  }
  INFO(first);
  CHECK(mismatches == 0);
}
