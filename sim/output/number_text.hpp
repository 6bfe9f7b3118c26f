#pragma once
// Numbers as the CSV outputs print them: printf's "%.9g" (nine significant digits,
// correctly rounded from the double's exact value; trailing zeros dropped;
// scientific below 1e-4 and from 1e9), the same bytes fmt's "{:.9g}" writes.
//
// turns.csv prints about 28 such numbers per reply, and the exact general
// algorithm (fmt's, about 60 ns a number) was a tenth of a short run's wall time.
// The fast path here scales |v| into [1e8, 1e9) in 64-bit extended precision
// (x86's long double: a few units of 1e-19 relative error, far below the 5e-10 of a
// ninth digit) and rounds; where that scaled value lies within 1e-6 of a rounding
// tie, or |v| is outside [1e-30, 1e38), or v is not finite, it hands the number to
// fmt's exact algorithm instead, so every output is the exact one.

#include <string>

namespace convsim {

// A size in bytes for people: "8 MiB", "256 KiB", "300 B" (binary units, 4 digits).
std::string binary_bytes_text(double bytes);

// Writes v as "%.9g" at `out` (at most 24 characters) and returns the end.
char* write_g9(char* out, double v);

}  // namespace convsim
