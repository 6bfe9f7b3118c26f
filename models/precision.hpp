#pragma once
// Numeric precisions of weights, activations and the KV cache.

#include <optional>
#include <string>
#include <string_view>

namespace convsim {

enum class Precision { bf16, fp8, int8, int4 };

// Bytes per stored element; INT4 packs two elements per byte.
double element_bytes(Precision precision);

std::string_view precision_name(Precision precision);

// REQUIRES: nothing. Returns nullopt for an unknown name.
std::optional<Precision> parse_precision(std::string_view name);

// The names accepted by parse_precision, for error messages.
std::string_view precision_names();

}  // namespace convsim
