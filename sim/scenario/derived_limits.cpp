#include "sim/scenario/derived_limits.hpp"

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
  check_size(cluster, "nodes", static_cast<long>(s.cluster.nodes) * s.cluster.gpus_per_node, kMaxClusterGpus,
             fmt::format("GPUs in the cluster: nodes x gpus_per_node = {} x {}", s.cluster.nodes,
                         s.cluster.gpus_per_node));
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

}  // namespace

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
}

}  // namespace convsim
