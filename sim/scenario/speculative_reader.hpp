#pragma once
// serving.speculative: {method: draft_model | eagle | mtp, draft: PRESET (draft_model)
// or heads (eagle, mtp), tokens: k, acceptance: a}. See SpeculativeSpec in
// sim/scenario/scenario.hpp.

#include "sim/scenario/catalog.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/scenario/yaml_reader.hpp"

namespace convsim {

// DeepSeek-V3 Technical Report (arXiv:2412.19437), section 5.4.3: "the acceptance
// rate of the second token prediction ranges between 85% and 90%": the default of
// method mtp. draft_model and eagle have no default (acceptance depends on the
// pair of models and on the text): it must be given.
inline constexpr double kMtpAcceptance = 0.85;

// Throws ConfigError (file:line:column) for an unknown method, a draft model that is
// unknown, not smaller than the target or of another vocabulary, mtp on a model
// without multi-token-prediction layers, tokens outside [1, 16], acceptance outside
// [0, 1].
SpeculativeSpec read_speculative(const MapReader& map, const Catalog& catalog, const ModelSpec& target);

}  // namespace convsim
