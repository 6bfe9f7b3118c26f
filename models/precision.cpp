#include "models/precision.hpp"

namespace convsim {

namespace {

constexpr Precision kAll[] = {Precision::bf16, Precision::fp8,   Precision::int8,
                              Precision::int4, Precision::nvfp4, Precision::mxfp4};

}  // namespace

double element_bits(Precision precision) {
  switch (precision) {
    case Precision::bf16: return 16.0;
    case Precision::fp8: return 8.0;
    case Precision::int8: return 8.0;
    case Precision::int4: return 4.0;
    case Precision::nvfp4: return 4.0 + 8.0 / 16.0;  // E2M1 + one E4M3 scale per 16
    case Precision::mxfp4: return 4.0 + 8.0 / 32.0;  // E2M1 + one E8M0 scale per 32
  }
  return 16.0;
}

double element_bytes(Precision precision) { return element_bits(precision) / 8.0; }

bool is_fp4(Precision precision) { return precision == Precision::nvfp4 || precision == Precision::mxfp4; }

std::string_view precision_name(Precision precision) {
  switch (precision) {
    case Precision::bf16: return "bf16";
    case Precision::fp8: return "fp8";
    case Precision::int8: return "int8";
    case Precision::int4: return "int4";
    case Precision::nvfp4: return "nvfp4";
    case Precision::mxfp4: return "mxfp4";
  }
  return "bf16";
}

std::optional<Precision> parse_precision(std::string_view name) {
  for (Precision p : kAll) {
    if (precision_name(p) == name) return p;
  }
  return std::nullopt;
}

std::string_view precision_names() { return "bf16, fp8, int8, int4, nvfp4, mxfp4"; }

}  // namespace convsim
