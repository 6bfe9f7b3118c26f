#pragma once
// Numeric precisions of weights, activations and the KV cache.
//
// The 4-bit floating-point formats store E2M1 elements in blocks that share a
// scale, and the scales are part of the bytes a GPU holds and reads:
//   nvfp4: blocks of 16 elements with one FP8 (E4M3) scale: 4 + 8/16 = 4.5 bits
//          (NVIDIA, "Introducing NVFP4 for Efficient and Accurate Low-Precision
//          Inference", NVIDIA technical blog, June 2025);
//   mxfp4: blocks of 32 elements with one 8-bit power-of-two (E8M0) scale:
//          4 + 8/32 = 4.25 bits (OCP Microscaling Formats (MX) Specification v1.0,
//          2023, section 5: MXFP4 has k = 32, scale E8M0).
// int4 counts 4 bits only (group scales of weight-only INT4 checkpoints, about
// 0.25 bit per weight for groups of 128 with FP16 scales, are not counted).

#include <optional>
#include <string>
#include <string_view>

namespace convsim {

enum class Precision { bf16, fp8, int8, int4, nvfp4, mxfp4 };

// Bits per stored element, block scales included (nvfp4 4.5, mxfp4 4.25).
double element_bits(Precision precision);

// Bytes per stored element: element_bits / 8 (INT4 packs two elements per byte).
double element_bytes(Precision precision);

// True for the block-scaled 4-bit floating-point formats (nvfp4, mxfp4), whose
// matmuls need FP4 tensor cores (Blackwell, CDNA 4) to run at 4-bit rates.
bool is_fp4(Precision precision);

std::string_view precision_name(Precision precision);

// REQUIRES: nothing. Returns nullopt for an unknown name.
std::optional<Precision> parse_precision(std::string_view name);

// The names accepted by parse_precision, for error messages.
std::string_view precision_names();

// The precisions a model runs at: weights, KV cache and state-space state.
struct Precisions {
  Precision weights = Precision::bf16;
  Precision kv_cache = Precision::bf16;
  // Bytes per element of a state-space layer's recurrent state; 0: as the KV cache.
  // Engines keep it apart (vLLM's --mamba-ssm-cache-dtype), often in FP32 because
  // the recurrence accumulates rounding error step after step.
  double ssm_state_bytes = 0;
  double state_element_bytes() const { return ssm_state_bytes > 0 ? ssm_state_bytes : element_bytes(kv_cache); }
};

}  // namespace convsim
