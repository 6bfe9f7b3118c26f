// Reads the workload sections of a scenario: conversation, requests, and the
// distributions they use.

#include <map>

#include <fmt/core.h>

#include "sim/scenario/workload_reader.hpp"

namespace convsim {
namespace {

constexpr const char* kDistributionForms =
    "a number, {fixed: v}, {median: m, sigma: s} or {uniform: [a, b]}";

}  // namespace

// ---- Distributions ----

// Parameters are checked against `bound` (a lognormal's median must also be > 0).
Distribution read_distribution(const Locator& at, const YAML::Node& node, const YAML::Node& spot,
                               const std::string& path, const Limits& bound) {
  const auto fail_form = [&] {
    std::string got = describe_node(node);
    if (node.IsMap()) {
      std::vector<std::string> keys;
      for (const auto& entry : node) keys.push_back(describe_node(entry.first));
      got = fmt::format("a map with keys {}", join(keys));
    }
    at.fail(spot, fmt::format("{}: expected {}, got {}", path, kDistributionForms, got));
  };
  if (node.IsScalar()) {
    if (!parse_number(node.Scalar())) fail_form();
    return Distribution::fixed_at(read_number(at, node, path, bound));
  }
  if (!node.IsMap()) fail_form();
  const MapReader m(at, node, path);
  Distribution d;
  if (m.has("fixed")) {
    m.allow_only({"fixed"});
    d = Distribution::fixed_at(m.number("fixed", bound));
  } else if (m.has("median") || m.has("sigma")) {
    m.allow_only({"median", "sigma"});
    const bool bound_is_positive = bound.low && (*bound.low > 0 || bound.low_open);
    d.kind = Distribution::Kind::lognormal;
    d.median = m.number("median", bound_is_positive ? bound : Limits::positive());
    d.sigma = m.number("sigma", Limits::at_least(0));
  } else if (m.has("uniform")) {
    m.allow_only({"uniform"});
    const YAML::Node range = m.get("uniform");
    const std::string range_path = m.child_path("uniform");
    if (!range.IsSequence() || range.size() != 2) {
      at.fail(m.spot("uniform"), fmt::format("{}: expected [a, b], got {}", range_path,
                                             describe_node(range)));
    }
    d.kind = Distribution::Kind::uniform;
    d.low = read_number(at, range[0], range_path + "[0]", bound);
    d.high = read_number(at, range[1], range_path + "[1]", bound);
    if (d.low > d.high) {
      at.fail(range, fmt::format("{}: expected [a, b] with a <= b, got [{}, {}]", range_path,
                                 range[0].Scalar(), range[1].Scalar()));
    }
  } else {
    fail_form();
  }
  return d;
}

Distribution distribution_key(const MapReader& m, const std::string& key, const Limits& bound) {
  return read_distribution(m.locator(), m.get(key), m.spot(key), m.child_path(key), bound);
}

ConversationSpec read_conversation(const MapReader& c) {
  c.allow_only({"duration_min", "sessions", "session_stagger_s", "speakers", "pause_s",
                "tokens_per_word", "system_prompt_tokens", "model_replies", "probe_minutes"});
  const Locator& at = c.locator();
  ConversationSpec spec;
  spec.duration_min = c.number("duration_min", Limits::positive());
  spec.sessions = c.int_or("sessions", spec.sessions, Limits::at_least(1));
  spec.session_stagger_s =
      c.number_or("session_stagger_s", spec.session_stagger_s, Limits::at_least(0));

  const YAML::Node speakers = c.get("speakers");
  if (!speakers.IsSequence() || speakers.size() == 0) {
    at.fail(c.spot("speakers"),
            fmt::format("conversation.speakers: expected a non-empty list of speakers, got {}",
                        describe_node(speakers)));
  }
  std::map<std::string, std::string> speaker_paths;  // name -> where first seen
  for (std::size_t i = 0; i < speakers.size(); ++i) {
    const MapReader s(at, speakers[i], fmt::format("conversation.speakers[{}]", i));
    s.allow_only({"name", "words_per_min", "turn_words"});
    Speaker speaker;
    speaker.name = s.string("name");
    if (const auto first = speaker_paths.find(speaker.name); first != speaker_paths.end()) {
      at.fail(s.spot("name"), fmt::format("{}: duplicate speaker name '{}' (also {})",
                                          s.child_path("name"), speaker.name, first->second));
    }
    speaker_paths.emplace(speaker.name, s.path());
    speaker.words_per_min = s.number_or("words_per_min", speaker.words_per_min, Limits::positive());
    speaker.turn_words = distribution_key(s, "turn_words", Limits::positive());
    spec.speakers.push_back(speaker);
  }

  if (c.has("pause_s")) spec.pause_s = distribution_key(c, "pause_s", Limits::at_least(0));
  spec.tokens_per_word = c.number_or("tokens_per_word", spec.tokens_per_word, Limits::positive());
  spec.system_prompt_tokens =
      c.integer_or("system_prompt_tokens", spec.system_prompt_tokens, Limits::at_least(0));

  if (c.has("model_replies")) {
    const MapReader r = c.child("model_replies");
    r.allow_only({"after", "output_tokens", "words_per_min"});
    r.choice_or("after", "every_turn", {"every_turn"});
    if (r.has("output_tokens")) {
      spec.reply_output_tokens = distribution_key(r, "output_tokens", Limits::at_least(1));
    }
    spec.reply_words_per_min =
        r.number_or("words_per_min", spec.reply_words_per_min, Limits::positive());
  }

  if (const auto probes = c.find("probe_minutes")) {
    if (!probes->IsSequence()) {
      at.fail(c.spot("probe_minutes"),
              fmt::format("conversation.probe_minutes: expected a list of minutes, got {}",
                          describe_node(*probes)));
    }
    for (std::size_t i = 0; i < probes->size(); ++i) {
      const YAML::Node probe = (*probes)[i];
      const std::string path = fmt::format("conversation.probe_minutes[{}]", i);
      const double minute = read_number(at, probe, path, Limits::at_least(0));
      if (minute > spec.duration_min) {
        at.fail(probe, fmt::format("{} = {} must be <= conversation.duration_min = {}", path,
                                   probe.Scalar(), format_number(spec.duration_min)));
      }
      spec.probe_minutes.push_back(minute);
    }
  }
  return spec;
}

RequestStreamSpec read_requests(const MapReader& r) {
  r.allow_only({"count", "input_tokens", "output_tokens", "arrival"});
  RequestStreamSpec spec;
  spec.count = r.integer_or("count", spec.count, Limits::at_least(1));
  if (r.has("input_tokens")) {
    spec.input_tokens = distribution_key(r, "input_tokens", Limits::at_least(1));
  }
  if (r.has("output_tokens")) {
    spec.output_tokens = distribution_key(r, "output_tokens", Limits::at_least(1));
  }
  if (r.has("arrival")) {
    const MapReader a = r.child("arrival");
    a.allow_only({"concurrency", "rate_per_s", "all_at_once"});
    const int given = int{a.has("concurrency")} + int{a.has("rate_per_s")} +
                      int{a.has("all_at_once")};
    if (given != 1) {
      a.fail("requests.arrival: give exactly one of concurrency, rate_per_s or all_at_once");
    }
    if (a.has("concurrency")) {
      spec.arrival = RequestStreamSpec::Arrival::concurrency;
      spec.concurrency = a.int_value("concurrency", Limits::at_least(1));
    } else if (a.has("rate_per_s")) {
      spec.arrival = RequestStreamSpec::Arrival::rate;
      spec.rate_per_s = a.number("rate_per_s", Limits::positive());
    } else {
      if (!a.boolean("all_at_once")) {
        a.locator().fail(a.spot("all_at_once"),
                         "requests.arrival.all_at_once must be true; for other arrivals give "
                         "concurrency or rate_per_s");
      }
      spec.arrival = RequestStreamSpec::Arrival::all_at_once;
    }
  }
  return spec;
}

}  // namespace convsim
