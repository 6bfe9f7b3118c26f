#include "sim/output/number_text.hpp"

#include <fmt/compile.h>
#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <limits>

namespace convsim {

namespace {

static_assert(std::numeric_limits<long double>::digits >= 64,
              "write_g9's fast path needs a 64-bit long double significand (x86 extended precision)");

// 10^k for k in [0, 40): exact up to 10^27 (5^27 < 2^64), then within a few units
// in the last place of a long double.
struct PowersOfTen {
  long double value[40];
  constexpr PowersOfTen() : value{} {
    long double p = 1;
    for (long double& v : value) {
      v = p;
      p *= 10;
    }
  }
};
constexpr PowersOfTen kPowersOfTen{};

// The range the fast path takes: scaling by at most 10^38 either way.
constexpr double kFastMin = 1e-30;
constexpr double kFastMax = 1e38;
// A scaled value this close to a half is left to the exact algorithm.
constexpr long double kTieMargin = 1e-6L;

char* write_exact(char* out, double v) { return fmt::format_to(out, FMT_COMPILE("{:.9g}"), v); }

// |v| * 10^(8 - exponent10).
long double scaled(long double magnitude, int exponent10) {
  const int k = 8 - exponent10;
  return k >= 0 ? magnitude * kPowersOfTen.value[k] : magnitude / kPowersOfTen.value[-k];
}

char* write_exponent(char* out, int exponent10) {
  *out++ = 'e';
  *out++ = exponent10 < 0 ? '-' : '+';
  int e = exponent10 < 0 ? -exponent10 : exponent10;
  if (e >= 100) {
    *out++ = static_cast<char>('0' + e / 100);
    e %= 100;
  }
  *out++ = static_cast<char>('0' + e / 10);
  *out++ = static_cast<char>('0' + e % 10);
  return out;
}

}  // namespace

char* write_g9(char* out, double v) {
  const double magnitude = std::fabs(v);
  if (v == 0) {  // "0" or "-0"
    if (std::signbit(v)) *out++ = '-';
    *out++ = '0';
    return out;
  }
  if (!(magnitude >= kFastMin && magnitude < kFastMax)) return write_exact(out, v);  // NaN too

  // The decimal exponent: 10^exponent10 <= |v| < 10^(exponent10 + 1), from the binary
  // one (log10(2) = 0.30103), corrected by one step if the estimate is off.
  int exponent2 = 0;
  std::frexp(magnitude, &exponent2);
  int exponent10 = static_cast<int>(std::floor((exponent2 - 1) * 0.30102999566398120));
  const long double m = magnitude;
  long double y = scaled(m, exponent10);
  if (y >= 1e9L) {
    y = scaled(m, ++exponent10);
  } else if (y < 1e8L) {
    y = scaled(m, --exponent10);
  }
  const long double whole = std::floor(y);
  const long double fraction = y - whole;
  if (std::fabs(fraction - 0.5L) < kTieMargin) return write_exact(out, v);
  std::uint64_t digits = static_cast<std::uint64_t>(whole) + (fraction > 0.5L ? 1 : 0);
  if (digits == 1'000'000'000) {  // 999999999.7 rounds up to the next power of ten
    digits = 100'000'000;
    ++exponent10;
  }
  char d[9];
  for (int i = 8; i >= 0; --i) {
    d[i] = static_cast<char>('0' + digits % 10);
    digits /= 10;
  }
  int significant = 9;
  while (significant > 1 && d[significant - 1] == '0') --significant;

  if (v < 0) *out++ = '-';
  if (exponent10 < -4 || exponent10 >= 9) {  // d.dddde+XX
    *out++ = d[0];
    if (significant > 1) {
      *out++ = '.';
      for (int i = 1; i < significant; ++i) *out++ = d[i];
    }
    return write_exponent(out, exponent10);
  }
  if (exponent10 >= 0) {  // ddd.ddd
    const int whole_digits = exponent10 + 1;
    for (int i = 0; i < whole_digits; ++i) *out++ = d[i];
    if (significant > whole_digits) {
      *out++ = '.';
      for (int i = whole_digits; i < significant; ++i) *out++ = d[i];
    }
    return out;
  }
  *out++ = '0';  // 0.000ddd
  *out++ = '.';
  for (int i = 0; i < -exponent10 - 1; ++i) *out++ = '0';
  for (int i = 0; i < significant; ++i) *out++ = d[i];
  return out;
}

std::string binary_bytes_text(double bytes) {
  constexpr double kKiB = 1024, kMiB = 1024 * 1024;
  if (bytes >= kMiB) return fmt::format("{:.4g} MiB", bytes / kMiB);
  if (bytes >= kKiB) return fmt::format("{:.4g} KiB", bytes / kKiB);
  return fmt::format("{:.0f} B", bytes);
}

}  // namespace convsim
