#include "sim/scenario/derived_limits.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/core.h>

#include "sim/scenario/text_util.hpp"

namespace convsim {
namespace {

// sqrt(-2 ln(2^-54)): the largest |z| of Rng::standard_normal.
constexpr double kLargestNormal = 8.66;

void check_tokens(const MapReader& m, const std::string& key, const Distribution& d, double tokens_per_unit,
                  const std::string& what) {
  const double largest = largest_draw(d) * tokens_per_unit;
  if (largest <= kMaxTokensPerRequest) return;
  m.locator().fail(m.spot(key), fmt::format("{}: {} can reach {} tokens; at most {} tokens per request (a larger "
                                            "count overflows the context's integer token count)",
                                            m.child_path(key), what, format_number(largest),
                                            format_number(kMaxTokensPerRequest)));
}

void check_faults(const Scenario& s, const MapReader& root) {
  if (!root.has("faults")) return;
  const YAML::Node list = root.get("faults");
  const double span_min = s.conversation ? s.conversation->duration_min : kMaxSpanMin;
  for (std::size_t i = 0; i < s.faults.size() && i < list.size(); ++i) {
    const FaultSpec& f = s.faults[i];
    const MapReader m(root.locator(), list[i], fmt::format("faults[{}]", i));
    if (f.at_s / 60.0 >= span_min) {
      m.locator().fail(m.spot("at_min"),
                       fmt::format("{} = {} is not before the end of the conversation (conversation.duration_min = "
                                   "{}): the fault would never happen",
                                   m.child_path("at_min"), format_number(f.at_s / 60.0), format_number(span_min)));
    }
    if (f.factor > kMaxSlowdownFactor) {
      m.locator().fail(m.spot("factor"), fmt::format("{} = {} must be in [1, {}]; a slower part is lost: use kind "
                                                     "gpu_lost or node_lost",
                                                     m.child_path("factor"), format_number(f.factor),
                                                     format_number(kMaxSlowdownFactor)));
    }
    for (const auto& [key, value_s] : {std::pair<const char*, double>{"until_min", f.until_s},
                                       std::pair<const char*, double>{"repair_min", f.repair_s}}) {
      if (m.has(key) && value_s / 60.0 > kMaxSpanMin) {
        m.locator().fail(m.spot(key), fmt::format("{} = {} must be at most {} minutes (100 days, the longest span "
                                                  "simulated)",
                                                  m.child_path(key), format_number(value_s / 60.0),
                                                  format_number(kMaxSpanMin)));
      }
    }
  }
}

void check_size(const MapReader& m, const std::string& key, long value, long limit, const std::string& why) {
  if (value <= limit) return;
  m.locator().fail(m.has(key) ? m.spot(key) : m.node(),
                   fmt::format("{} = {} must be at most {} ({})", m.child_path(key), value, limit, why));
}

void check_sizes(const Scenario& s, const MapReader& root) {
  const MapReader cluster = root.child("cluster");
  const long gpus = static_cast<long>(s.cluster.nodes) * s.cluster.gpus_per_node;
  if (gpus > kMaxClusterGpus) {
    cluster.locator().fail(cluster.has("nodes") ? cluster.spot("nodes") : cluster.node(),
                           fmt::format("cluster.nodes x cluster.gpus_per_node = {} x {} = {} GPUs; at most {}",
                                       s.cluster.nodes, s.cluster.gpus_per_node, gpus, kMaxClusterGpus));
  }
  if (s.conversation) {
    check_size(root.child("conversation"), "sessions", s.conversation->sessions, kMaxSessions,
               "concurrent conversations");
  }
  if (s.requests) check_size(root.child("requests"), "count", s.requests->count, kMaxRequests, "requests");
  if (root.has("compare")) {
    check_size(root, "compare", static_cast<long>(s.variants.size()), kMaxVariants,
               "variants: each is checked against the whole scenario");
  }
}

// A derived quantity, to four significant digits.
std::string approx(double x) { return fmt::format("{:.4g}", x); }

// Session arrivals: drawn at the peak rate (thinned for per_hour_of_day), so the
// draws are bounded as sessions are; and a rate that expects less than one session
// over the run is refused rather than run to an empty result.
void check_session_arrival(const ConversationSpec& c, const MapReader& conversation) {
  if (c.session_arrival == ConversationSpec::SessionArrival::fixed) return;
  const MapReader a = conversation.child("session_arrival");
  const bool diurnal = c.session_arrival == ConversationSpec::SessionArrival::diurnal;
  const std::string key = diurnal ? "per_hour_of_day" : "poisson_per_hour";
  const double peak_per_h =
      diurnal ? *std::max_element(c.sessions_per_hour_by_hour.begin(), c.sessions_per_hour_by_hour.end())
              : c.sessions_per_hour;
  const double draws = peak_per_h * c.duration_min / 60.0;
  if (draws > static_cast<double>(kMaxSessions)) {
    a.locator().fail(a.spot(key), fmt::format("{}: {} sessions per hour over conversation.duration_min = {} draws {} "
                                              "sessions{}; at most {} (concurrent conversations)",
                                              a.child_path(key), format_number(peak_per_h),
                                              format_number(c.duration_min), approx(draws),
                                              diurnal ? " at the peak hour's rate, before thinning" : "",
                                              kMaxSessions));
  }
  const double expected = expected_sessions(c);
  if (expected < 1) {
    a.locator().fail(a.spot(key), fmt::format("{}: {} sessions are expected over conversation.duration_min = {}, "
                                              "fewer than one; the run would most likely simulate nothing (raise "
                                              "the rate or the duration)",
                                              a.child_path(key), approx(expected),
                                              format_number(c.duration_min)));
  }
}

// A Poisson request stream's expected span: count / rate_per_s.
void check_request_span(const RequestStreamSpec& r, const MapReader& requests) {
  if (r.trace || r.arrival != RequestStreamSpec::Arrival::rate) return;
  const double span_min = static_cast<double>(r.count) / r.rate_per_s / 60.0;
  if (span_min <= kMaxSpanMin) return;
  const MapReader a = requests.child("arrival");
  a.locator().fail(a.spot("rate_per_s"),
                   fmt::format("{}: {} requests at {} per second span about {} minutes; at most {} (100 days, the "
                               "longest span simulated)",
                               a.child_path("rate_per_s"), r.count, format_number(r.rate_per_s),
                               approx(span_min), format_number(kMaxSpanMin)));
}

void check_slo_windows(const Scenario& s, const MapReader& root) {
  if (s.slo.window_s <= 0 || !root.has("slo")) return;
  const MapReader slo = root.child("slo");
  const double overlap = s.slo.window_s / s.slo.window_step_s;
  if (overlap <= kMaxWindowOverlap) return;
  slo.locator().fail(slo.spot("window_step_min"),
                     fmt::format("slo.window_min / slo.window_step_min = {} windows overlap, each holding a copy of "
                                 "every reply in it; at most {} (a step of at least window_min / {})",
                                 approx(overlap), format_number(kMaxWindowOverlap),
                                 format_number(kMaxWindowOverlap)));
}

}  // namespace

double expected_sessions(const ConversationSpec& c) {
  switch (c.session_arrival) {
    case ConversationSpec::SessionArrival::fixed: return 0;
    case ConversationSpec::SessionArrival::poisson: return c.sessions_per_hour * c.duration_min / 60.0;
    case ConversationSpec::SessionArrival::diurnal: break;
  }
  // Hour by hour of simulated time, each at the rate of its hour of day.
  const double hours = c.duration_min / 60.0;
  double sessions = 0;
  for (double t_h = 0; t_h < hours;) {
    const double clock_h = std::fmod(c.start_hour + t_h, 24.0);
    const double next_h = std::min(hours, t_h + (std::floor(clock_h) + 1 - clock_h));
    sessions += c.sessions_per_hour_by_hour[static_cast<std::size_t>(clock_h)] * (next_h - t_h);
    t_h = next_h;
  }
  return sessions;
}

double largest_draw(const Distribution& d) {
  switch (d.kind) {
    case Distribution::Kind::fixed: return d.value;
    case Distribution::Kind::lognormal: return d.median * std::exp(d.sigma * kLargestNormal);
    case Distribution::Kind::uniform: return d.high;
  }
  return d.value;
}

void check_derived_limits(const Scenario& s, const MapReader& root) {
  if (s.conversation) {
    const ConversationSpec& c = *s.conversation;
    const MapReader conversation = root.child("conversation");
    if (c.duration_min > kMaxSpanMin) {
      conversation.locator().fail(conversation.spot("duration_min"),
                                  fmt::format("conversation.duration_min = {} must be at most {} (100 days)",
                                              format_number(c.duration_min), format_number(kMaxSpanMin)));
    }
    // A replayed transcript has no speakers section: its turns are read from its file.
    const YAML::Node speakers = conversation.has("speakers") ? conversation.get("speakers") : YAML::Node();
    for (std::size_t i = 0; i < c.speakers.size() && speakers.IsSequence() && i < speakers.size(); ++i) {
      const MapReader speaker(root.locator(), speakers[i], fmt::format("conversation.speakers[{}]", i));
      check_tokens(speaker, "turn_words", c.speakers[i].turn_words, c.tokens_per_word,
                   fmt::format("a turn (turn_words x conversation.tokens_per_word = {})",
                               format_number(c.tokens_per_word)));
    }
    if (conversation.has("model_replies")) {
      const MapReader replies = conversation.child("model_replies");
      if (replies.has("output_tokens")) check_tokens(replies, "output_tokens", c.reply_output_tokens, 1.0, "a reply");
    }
    check_session_arrival(c, conversation);
    if (c.session_stagger_s * (c.sessions - 1) / 60.0 > kMaxSpanMin) {
      conversation.locator().fail(conversation.spot("session_stagger_s"),
                                  fmt::format("conversation.session_stagger_s x (sessions - 1) = {} min must be at "
                                              "most {} (100 days)",
                                              format_number(c.session_stagger_s * (c.sessions - 1) / 60.0),
                                              format_number(kMaxSpanMin)));
    }
  }
  if (s.requests) {
    const MapReader requests = root.child("requests");
    check_tokens(requests, "input_tokens", s.requests->input_tokens, 1.0, "a request's input");
    check_tokens(requests, "output_tokens", s.requests->output_tokens, 1.0, "a request's output");
    check_request_span(*s.requests, requests);
  }
  if (root.has("context")) {
    const MapReader context = root.child("context");
    if (context.has("streaming_interval_s") && s.context.streaming_interval_s < kMinStreamingIntervalS) {
      context.locator().fail(context.spot("streaming_interval_s"),
                             fmt::format("context.streaming_interval_s = {} must be at least {} s",
                                         format_number(s.context.streaming_interval_s),
                                         format_number(kMinStreamingIntervalS)));
    }
  }
  check_faults(s, root);
  check_sizes(s, root);
  check_slo_windows(s, root);
}

}  // namespace convsim
