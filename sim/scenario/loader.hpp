#pragma once
// Reads a scenario file, applies --set overrides, validates everything and
// returns the typed Scenario. Nothing after this can fail on configuration.

#include <string>
#include <vector>

#include "sim/scenario/catalog.hpp"
#include "sim/scenario/overrides.hpp"
#include "sim/scenario/scenario.hpp"

namespace convsim {

// REQUIRES: nothing. Throws ConfigError with "file:line:column: message" for any
// problem in the file, and "--set key.path=value: message" for a bad override.
// Unknown keys get a did-you-mean; bad values name the allowed ones; cross-field
// rules name both fields.
// Each compare variant is checked too, applied on top of the base and the
// overrides; a variant being run (its sets given as overrides) skips that check,
// since the other variants are not meant to stack on it.
enum class VariantCheck { each, skip };
Scenario load_scenario(const std::string& path, const std::vector<Override>& overrides,
                       const Catalog& catalog, VariantCheck variants = VariantCheck::each);

// Same, from text already in memory (`source_name` is used in messages).
Scenario load_scenario_text(const std::string& text, const std::string& source_name,
                            const std::vector<Override>& overrides, const Catalog& catalog,
                            VariantCheck variants = VariantCheck::each);

}  // namespace convsim
