#pragma once
// The scenario's `model:` section: a catalog preset, an inline architecture or a
// Hugging Face config.json, with the precisions of its weights, KV cache and
// state-space state and which parts the weight precision applies to.

#include "sim/scenario/catalog.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/scenario/yaml_reader.hpp"

namespace convsim {

ModelChoice read_model_section(const MapReader& m, const Catalog& catalog);

}  // namespace convsim
