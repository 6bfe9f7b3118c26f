#include "sim/scenario/speculative_reader.hpp"

#include <string>
#include <vector>

#include <fmt/core.h>

#include "sim/scenario/text_util.hpp"

namespace convsim {

SpeculativeSpec read_speculative(const MapReader& m, const Catalog& catalog, const ModelSpec& target) {
  m.allow_only({"method", "draft", "tokens", "acceptance"});
  const Locator& at = m.locator();
  SpeculativeSpec spec;
  const std::string method = m.choice("method", {"draft_model", "eagle", "mtp"});
  spec.method = method == "draft_model" ? SpeculativeSpec::Method::draft_model
                : method == "eagle"     ? SpeculativeSpec::Method::eagle
                                        : SpeculativeSpec::Method::mtp;
  spec.tokens = m.int_value("tokens", Limits::between(1, 16));
  if (spec.method == SpeculativeSpec::Method::mtp) {
    spec.acceptance = m.number_or("acceptance", kMtpAcceptance, Limits::between(0, 1));
  } else {
    if (!m.has("acceptance")) {
      at.fail(m.node(), fmt::format("{}: missing required key 'acceptance' (the probability that each draft token "
                                    "is accepted, in [0, 1]) for method {}: it depends on the draft and the text, "
                                    "so there is no default",
                                    m.path(), method));
    }
    spec.acceptance = m.number("acceptance", Limits::between(0, 1));
  }
  if (spec.method == SpeculativeSpec::Method::draft_model) {
    const std::string name = m.string("draft");
    const auto it = catalog.models.find(name);
    if (it == catalog.models.end()) {
      std::vector<std::string> known;
      for (const auto& [preset, model] : catalog.models) known.push_back(preset);
      const std::string near = closest_match(name, known);
      at.fail(m.spot("draft"), fmt::format("{}: unknown model preset '{}'{}; available: {}", m.child_path("draft"), name,
                                           near.empty() ? "" : fmt::format("; did you mean '{}'?", near), join(known)));
    }
    const ModelSpec& draft = it->second;
    if (!(total_params(draft) < total_params(target))) {
      at.fail(m.spot("draft"), fmt::format("{}: {} ({:.1f}B parameters) is not smaller than the target {} ({:.1f}B): a "
                                           "draft must cost less than the model it drafts for",
                                           m.child_path("draft"), name, total_params(draft) / 1e9, target.name,
                                           total_params(target) / 1e9));
    }
    if (draft.vocab_tokens != target.vocab_tokens) {
      at.fail(m.spot("draft"), fmt::format("{}: {} has a vocabulary of {} tokens and {} of {}: a draft model must share "
                                           "the target's tokenizer",
                                           m.child_path("draft"), name, draft.vocab_tokens, target.name,
                                           target.vocab_tokens));
    }
    spec.draft = draft;
    return spec;
  }
  if (m.has("draft") && m.string("draft") != "heads") {
    at.fail(m.spot("draft"), fmt::format("{}: method {} drafts with the model's own heads; allowed: heads (or leave "
                                         "it out)",
                                         m.child_path("draft"), method));
  }
  if (spec.method == SpeculativeSpec::Method::mtp && target.mtp_layers == 0) {
    at.fail(m.spot("method"), fmt::format("{}: mtp needs the model's multi-token-prediction layers, and {} has none "
                                          "(mtp_layers 0); allowed for {}: draft_model, eagle",
                                          m.child_path("method"), target.name, target.name));
  }
  return spec;
}

}  // namespace convsim
