// Reads the workload sections of a scenario: conversation, requests, and the
// distributions they use.

#include <algorithm>
#include <filesystem>
#include <map>

#include <fmt/core.h>

#include "sim/scenario/workload_reader.hpp"

#include "sim/scenario/derived_limits.hpp"
#include "sim/scenario/trace_reader.hpp"
#include "sim/scenario/transcript_reader.hpp"

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

// A distribution as the YAML that reads back to it ({fixed: v}, {median, sigma},
// {uniform: [a, b]}).
YAML::Node distribution_yaml(const Distribution& d) {
  YAML::Node node(YAML::NodeType::Map);
  node.SetStyle(YAML::EmitterStyle::Flow);
  switch (d.kind) {
    case Distribution::Kind::fixed:
      node["fixed"] = FilledDefaults::number(d.value);
      break;
    case Distribution::Kind::lognormal:
      node["median"] = FilledDefaults::number(d.median);
      node["sigma"] = FilledDefaults::number(d.sigma);
      break;
    case Distribution::Kind::uniform: {
      YAML::Node range(YAML::NodeType::Sequence);
      range.push_back(FilledDefaults::number(d.low));
      range.push_back(FilledDefaults::number(d.high));
      node["uniform"] = range;
      break;
    }
  }
  return node;
}

// The distribution under `key`, or `fallback` (noted as the default filled in).
Distribution distribution_or(const MapReader& m, const std::string& key, const Distribution& fallback,
                             const Limits& bound) {
  if (m.has(key)) return distribution_key(m, key, bound);
  m.note_default(key, distribution_yaml(fallback));
  return fallback;
}

namespace {

// conversation.session_arrival: {poisson_per_hour: r} or
// {per_hour_of_day: [24 rates], start_hour: h}.
void read_session_arrival(const MapReader& a, ConversationSpec& spec) {
  a.allow_only({"poisson_per_hour", "per_hour_of_day", "start_hour"});
  if (a.has("poisson_per_hour") == a.has("per_hour_of_day")) {
    a.fail("conversation.session_arrival: give exactly one of poisson_per_hour or per_hour_of_day");
  }
  if (a.has("poisson_per_hour")) {
    if (a.has("start_hour")) {
      a.locator().fail(a.spot("start_hour"), "conversation.session_arrival.start_hour applies to per_hour_of_day only");
    }
    spec.session_arrival = ConversationSpec::SessionArrival::poisson;
    spec.sessions_per_hour = a.number("poisson_per_hour", Limits::positive());
    return;
  }
  spec.session_arrival = ConversationSpec::SessionArrival::diurnal;
  const YAML::Node rates = a.get("per_hour_of_day");
  const std::string path = a.child_path("per_hour_of_day");
  if (!rates.IsSequence() || rates.size() != 24) {
    a.locator().fail(a.spot("per_hour_of_day"),
                     fmt::format("{}: expected a list of 24 sessions-per-hour rates (hour 0 to 23), got {}", path,
                                 rates.IsSequence() ? fmt::format("{} values", rates.size()) : describe_node(rates)));
  }
  double peak = 0;
  for (std::size_t h = 0; h < 24; ++h) {
    spec.sessions_per_hour_by_hour.push_back(
        read_number(a.locator(), rates[h], fmt::format("{}[{}]", path, h), Limits::at_least(0)));
    peak = std::max(peak, spec.sessions_per_hour_by_hour.back());
  }
  if (peak <= 0) a.locator().fail(a.spot("per_hour_of_day"), fmt::format("{}: every rate is 0; no session would start", path));
  spec.start_hour = a.number_or("start_hour", 0, Limits::between(0, 24));
  if (spec.start_hour >= 24) a.locator().fail(a.spot("start_hour"), "conversation.session_arrival.start_hour must be < 24");
}

std::string resolve_path(const MapReader& m, const std::string& key) {
  const std::filesystem::path given = m.string(key);
  const std::filesystem::path folder = std::filesystem::path(m.locator().file()).parent_path();
  return (given.is_absolute() || folder.empty() ? given : folder / given).lexically_normal().string();
}

// conversation: {transcript: FILE, time_scale, tokens_per_word, system_prompt_tokens, probe_minutes}.
// The file is read once here, row by row: a bad row stops the run before anything
// is simulated; its sessions and speakers, and its length, come from it.
ConversationSpec read_transcript_conversation(const MapReader& c) {
  c.allow_only({"transcript", "time_scale", "tokens_per_word", "system_prompt_tokens", "probe_minutes"});
  ConversationSpec spec;
  spec.transcript = ConversationSpec::Transcript{resolve_path(c, "transcript"), 1.0};
  spec.transcript->time_scale = c.number_or("time_scale", 1.0, Limits::positive());
  spec.system_prompt_tokens = c.integer_or("system_prompt_tokens", 0, Limits::at_least(0));
  spec.tokens_per_word = c.number_or("tokens_per_word", spec.tokens_per_word, Limits::positive());
  TranscriptReader reader(spec.transcript->path, spec.tokens_per_word);
  std::map<std::string, int> sessions;
  double end_s = 0;
  long replies = 0;
  while (const std::optional<TranscriptRow> row = reader.next()) {
    sessions.emplace(row->session, static_cast<int>(sessions.size()));
    bool known = false;
    for (const Speaker& s : spec.speakers) known = known || s.name == row->speaker;
    if (!known) spec.speakers.push_back(Speaker{row->speaker, 150, Distribution::fixed_at(1)});
    end_s = row->end_s;
    replies += row->reply_tokens > 0 ? 1 : 0;
  }
  if (replies == 0) {
    c.locator().fail(c.spot("transcript"),
                     fmt::format("conversation.transcript: {} has no turn the model replies to (reply_tokens > 0)",
                                 spec.transcript->path));
  }
  spec.sessions = static_cast<int>(sessions.size());
  // The run lasts until the last turn ends (a little past it, so that turn's reply is served).
  spec.duration_min = std::max(end_s * spec.transcript->time_scale / 60.0, 1.0 / 60.0);
  if (const auto probes = c.find("probe_minutes")) {
    if (!probes->IsSequence()) {
      c.locator().fail(c.spot("probe_minutes"), fmt::format("conversation.probe_minutes: expected a list of minutes, got {}",
                                                            describe_node(*probes)));
    }
    for (std::size_t i = 0; i < probes->size(); ++i) {
      const std::string path = fmt::format("conversation.probe_minutes[{}]", i);
      const double minute = read_number(c.locator(), (*probes)[i], path, Limits::at_least(0));
      if (minute > spec.duration_min) {
        c.locator().fail((*probes)[i], fmt::format("{} = {} must be <= the transcript's length, {} min", path,
                                                   (*probes)[i].Scalar(), format_number(spec.duration_min)));
      }
      spec.probe_minutes.push_back(minute);
    }
  }
  return spec;
}

}  // namespace

ConversationSpec read_conversation(const MapReader& c) {
  if (c.has("transcript")) return read_transcript_conversation(c);
  c.allow_only({"duration_min", "sessions", "session_stagger_s", "speakers", "pause_s",
                "tokens_per_word", "system_prompt_tokens", "model_replies", "probe_minutes",
                "session_arrival", "session_min", "transcript"});
  const Locator& at = c.locator();
  ConversationSpec spec;
  spec.duration_min = c.number("duration_min", Limits::positive());
  if (c.has("session_arrival")) {
    if (c.has("sessions") || c.has("session_stagger_s")) {
      at.fail(c.spot("session_arrival"),
              "conversation.session_arrival draws how many sessions start and when: give it without "
              "conversation.sessions and conversation.session_stagger_s");
    }
    read_session_arrival(c.child("session_arrival"), spec);
  } else {
    spec.sessions = c.int_or("sessions", spec.sessions, Limits::at_least(1));
    spec.session_stagger_s = c.number_or("session_stagger_s", spec.session_stagger_s, Limits::at_least(0));
  }
  if (c.has("session_min")) spec.session_min = distribution_key(c, "session_min", Limits::positive());

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

  spec.pause_s = distribution_or(c, "pause_s", spec.pause_s, Limits::at_least(0));
  spec.tokens_per_word = c.number_or("tokens_per_word", spec.tokens_per_word, Limits::positive());
  spec.system_prompt_tokens =
      c.integer_or("system_prompt_tokens", spec.system_prompt_tokens, Limits::at_least(0));

  {
    const YAML::Node absent(YAML::NodeType::Map);  // model_replies left out: its defaults
    if (!c.has("model_replies")) c.note_default("model_replies", absent);
    const MapReader r = c.has("model_replies") ? c.child("model_replies")
                                               : MapReader(at, absent, c.child_path("model_replies"));
    r.allow_only({"after", "output_tokens", "words_per_min"});
    r.choice_or("after", "every_turn", {"every_turn"});
    spec.reply_output_tokens = distribution_or(r, "output_tokens", spec.reply_output_tokens, Limits::at_least(1));
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

namespace {

// requests.trace: a production trace, checked row by row here so that a bad row
// stops the run before anything is simulated.
TraceSpec read_trace(const MapReader& r) {
  r.allow_only({"trace", "format", "time_scale", "start_s", "duration_s", "max_requests"});
  TraceSpec t;
  t.path = resolve_path(r, "trace");
  t.format = r.choice("format", {"azure", "mooncake"}) == "azure" ? TraceSpec::Format::azure
                                                                 : TraceSpec::Format::mooncake;
  t.time_scale = r.number_or("time_scale", t.time_scale, Limits::positive());
  t.start_s = r.number_or("start_s", t.start_s, Limits::at_least(0));
  t.duration_s = r.number_or("duration_s", t.duration_s, Limits::at_least(0));
  t.max_requests = r.integer_or("max_requests", t.max_requests, Limits::at_least(0));
  const TraceWindow window = check_trace(t);
  if (window.rows == 0) {
    r.locator().fail(r.spot("trace"),
                     fmt::format("requests.trace: no row of {} falls in the window start_s = {}, duration_s = {}",
                                 t.path, format_number(t.start_s), format_number(t.duration_s)));
  }
  if (window.last_arrival_s / 60.0 > kMaxSpanMin) {
    r.locator().fail(r.has("time_scale") ? r.spot("time_scale") : r.spot("trace"),
                     fmt::format("requests: the trace's last row in the window arrives at minute {:.4g} (its time "
                                 "times time_scale = {}); at most {} minutes (100 days, the longest span simulated)",
                                 window.last_arrival_s / 60.0, format_number(t.time_scale),
                                 format_number(kMaxSpanMin)));
  }
  return t;
}

}  // namespace

RequestStreamSpec read_requests(const MapReader& r) {
  RequestStreamSpec spec;
  if (r.has("trace")) {
    spec.trace = read_trace(r);
    return spec;
  }
  r.allow_only({"count", "input_tokens", "output_tokens", "arrival", "trace", "unique_prompts"});
  spec.count = r.integer_or("count", spec.count, Limits::at_least(1));
  spec.unique_prompts = r.integer_or("unique_prompts", spec.unique_prompts, Limits::at_least(1));
  spec.input_tokens = distribution_or(r, "input_tokens", spec.input_tokens, Limits::at_least(1));
  spec.output_tokens = distribution_or(r, "output_tokens", spec.output_tokens, Limits::at_least(1));
  if (!r.has("arrival")) {  // RequestStreamSpec's default: closed loop
    YAML::Node arrival(YAML::NodeType::Map);
    arrival.SetStyle(YAML::EmitterStyle::Flow);
    arrival["concurrency"] = fmt::format("{}", spec.concurrency);
    r.note_default("arrival", arrival);
  } else {
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
