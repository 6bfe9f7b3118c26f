#include "models/precision.hpp"

namespace convsim {

double element_bytes(Precision precision) {
  switch (precision) {
    case Precision::bf16: return 2.0;
    case Precision::fp8: return 1.0;
    case Precision::int8: return 1.0;
    case Precision::int4: return 0.5;
  }
  return 2.0;
}

std::string_view precision_name(Precision precision) {
  switch (precision) {
    case Precision::bf16: return "bf16";
    case Precision::fp8: return "fp8";
    case Precision::int8: return "int8";
    case Precision::int4: return "int4";
  }
  return "bf16";
}

std::optional<Precision> parse_precision(std::string_view name) {
  for (Precision p : {Precision::bf16, Precision::fp8, Precision::int8, Precision::int4}) {
    if (precision_name(p) == name) return p;
  }
  return std::nullopt;
}

std::string_view precision_names() { return "bf16, fp8, int8, int4"; }

}  // namespace convsim
