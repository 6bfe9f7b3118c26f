// Values derived from several keys are bounded before time starts, each refusal
// located at the key that sets it (file:line:column) and saying why. Lines and
// columns below are counted in the shared small conversation
// (tests/support/scenario_fixture.hpp), whose text starts with an empty line.

#include <cmath>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "sim/scenario/config_error.hpp"
#include "sim/scenario/derived_limits.hpp"
#include "tests/support/scenario_fixture.hpp"

namespace convsim {
namespace {

struct Case {
  const char* what;
  std::string from, to;   // an edit of the small conversation
  std::string location;   // "test.yaml:line:column"
  std::string message;    // a part of the message after the location
};

std::string edited(const Case& c) {
  std::string text = test::kSmallConversation;
  const auto at = text.find(c.from);
  REQUIRE(at != std::string::npos);
  text.replace(at, c.from.size(), c.to);
  return text;
}

}  // namespace

TEST_CASE("derived values out of bounds are refused at the key that sets them, saying why") {
  const std::string faults = "slo: {ttft_s: 0.5, tpot_s: 0.05}\nfaults:\n  - ";
  const std::vector<Case> cases = {
      // A turn of 1e12 words x 1.33 tokens per word overflows no integer: refused.
      {"tokens per turn", "turn_words: {median: 40, sigma: 0.5}}\n    - {name: bob",
       "turn_words: {median: 1e12, sigma: 0.5}}\n    - {name: bob", "test.yaml:7:53",
       "conversation.speakers[0].turn_words: a turn (turn_words x conversation.tokens_per_word = 1.33) can reach"},
      // sigma 5: the largest lognormal draw is 40 * exp(5 * 8.66), about 1.7e20 words.
      {"a lognormal tail", "turn_words: {median: 40, sigma: 0.5}}\n    - {name: bob",
       "turn_words: {median: 40, sigma: 5}}\n    - {name: bob", "test.yaml:7:53", "tokens per request"},
      {"reply tokens", "output_tokens: {fixed: 30}", "output_tokens: {fixed: 1e10}", "test.yaml:11:53",
       "a reply can reach 10000000000 tokens; at most 1000000000 tokens per request"},
      {"the span", "duration_min: 20", "duration_min: 1e300", "test.yaml:5:17",
       "conversation.duration_min = 1e+300 must be at most 144000"},
      {"a stagger beyond the span", "duration_min: 20", "duration_min: 20\n  sessions: 3\n  session_stagger_s: 1e300",
       "test.yaml:7:22", "session_stagger_s x (sessions - 1)"},
      {"a sub-millisecond streaming interval", "context: {policy: full, kv_between_turns: keep}",
       "context: {policy: full, kv_between_turns: keep, ingestion: streaming, streaming_interval_s: 1e-7}",
       "test.yaml:14:93", "context.streaming_interval_s = 1e-07 must be at least 0.001 s"},
      {"a fault after the end", "slo: {ttft_s: 0.5, tpot_s: 0.05}", faults + "{kind: gpu_slow, at_min: 25, gpu: 0, factor: 2}",
       "test.yaml:20:30", "faults[0].at_min = 25 is not before the end of the conversation"},
      {"a huge slowdown", "slo: {ttft_s: 0.5, tpot_s: 0.05}", faults + "{kind: gpu_slow, at_min: 1, gpu: 0, factor: 1e308}",
       "test.yaml:20:49", "faults[0].factor = 1e+308 must be in [1, 10000]"},
      {"a huge repair time", "slo: {ttft_s: 0.5, tpot_s: 0.05}", faults + "{kind: gpu_lost, at_min: 1, gpu: 0, repair_min: 1e300}",
       "test.yaml:20:53", "faults[0].repair_min = 1e+300 must be at most 144000 minutes"},
      {"too many GPUs", "cluster: {gpu: h100-sxm, nodes: 1, gpus_per_node: 1,",
       "cluster: {gpu: h100-sxm, nodes: 16385, gpus_per_node: 8,", "test.yaml:15:33",
       "cluster.nodes x cluster.gpus_per_node = 16385 x 8 = 131080 GPUs; at most 131072"},
      {"too many sessions", "duration_min: 20", "duration_min: 20\n  sessions: 2000000", "test.yaml:6:13",
       "conversation.sessions = 2000000 must be at most 1000000"},
      // 1e8 sessions an hour for 20 minutes: 3.333e7 drawn, against 1e6.
      {"a session rate that draws too many sessions", "duration_min: 20",
       "duration_min: 20\n  session_arrival: {poisson_per_hour: 1e8}", "test.yaml:6:39",
       "draws 3.333e+07 sessions; at most 1000000"},
      // 1e-6 an hour for 20 minutes: 3.333e-7 expected.
      {"a session rate that expects no session", "duration_min: 20",
       "duration_min: 20\n  session_arrival: {poisson_per_hour: 1e-6}", "test.yaml:6:39",
       "3.333e-07 sessions are expected over conversation.duration_min = 20, fewer than one"},
      // Sessions only in hour 23; the 20-minute run covers 08:00-08:20.
      {"a daily profile whose sessions come in hours the run does not reach", "duration_min: 20",
       "duration_min: 20\n  session_arrival: {per_hour_of_day: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, "
       "0, 0, 0, 0, 0, 0, 50], start_hour: 8}",
       "test.yaml:6:38", "0 sessions are expected"},
      // A 10-minute window stepped by 1e-9 minutes: 1e10 windows open at once.
      {"SLO windows that overlap without bound", "slo: {ttft_s: 0.5, tpot_s: 0.05}",
       "slo: {ttft_s: 0.5, tpot_s: 0.05, window_min: 10, window_step_min: 1e-9}", "test.yaml:18:67",
       "slo.window_min / slo.window_step_min = 1e+10 windows overlap"},
  };
  for (const Case& c : cases) {
    std::string message;
    try {
      test::scenario_from(edited(c));
    } catch (const ConfigError& e) {
      message = e.what();
    }
    INFO(c.what << ": " << message);
    CHECK(message.rfind(c.location + ": ", 0) == 0);
    CHECK(message.find(c.message) != std::string::npos);
  }
}

TEST_CASE("a request stream whose rate spans more than 100 days is refused at rate_per_s") {
  // 50 requests at 1e-9 per second: 5e10 s, 8.333e8 minutes, against 144,000.
  const std::string text =
      "name: rate\n"
      "requests: {count: 50, arrival: {rate_per_s: 1e-9}}\n"
      "model: {preset: llama-3.1-8b}\n"
      "cluster: {gpu: h100-sxm}\n";
  std::string message;
  try {
    test::scenario_from(text);
  } catch (const ConfigError& e) {
    message = e.what();
  }
  INFO(message);
  CHECK(message.rfind("test.yaml:2:45: requests.arrival.rate_per_s: 50 requests at 1e-09 per second span about "
                      "8.333e+08 minutes; at most 144000",
                      0) == 0);
}

TEST_CASE("the sessions a daily profile expects are its hourly rates integrated over the hours the run covers") {
  ConversationSpec c;
  c.session_arrival = ConversationSpec::SessionArrival::diurnal;
  c.sessions_per_hour_by_hour.assign(24, 0.0);
  for (std::size_t h = 0; h < 24; ++h) c.sessions_per_hour_by_hour[h] = static_cast<double>(h);
  // From 22:30 for 3 hours, 22:30 to 01:30: 0.5 x 22 + 1 x 23 + 1 x 0 + 0.5 x 1 = 34.5.
  c.start_hour = 22.5;
  c.duration_min = 180;
  CHECK(expected_sessions(c) == Approx(34.5).epsilon(1e-12));
  // Two whole days from midnight: twice the sum 0 + 1 + ... + 23 = 2 x 276.
  c.start_hour = 0;
  c.duration_min = 48 * 60;
  CHECK(expected_sessions(c) == Approx(552).epsilon(1e-12));
  ConversationSpec poisson;
  poisson.session_arrival = ConversationSpec::SessionArrival::poisson;
  poisson.sessions_per_hour = 30;
  poisson.duration_min = 20;
  CHECK(expected_sessions(poisson) == Approx(10).epsilon(1e-12));
}

TEST_CASE("the largest draw of a distribution bounds every sample the workload can take") {
  Distribution lognormal;
  lognormal.kind = Distribution::Kind::lognormal;
  lognormal.median = 40;
  lognormal.sigma = 0.5;
  // Box-Muller from 53-bit uniforms: |z| <= sqrt(-2 ln(2^-54)) = 8.65.
  CHECK(largest_draw(lognormal) >= 40 * std::exp(0.5 * std::sqrt(-2 * std::log(std::pow(2.0, -54)))));
  Distribution uniform;
  uniform.kind = Distribution::Kind::uniform;
  uniform.low = 3;
  uniform.high = 9;
  CHECK(largest_draw(uniform) == 9);
  CHECK(largest_draw(Distribution::fixed_at(5)) == 5);
}

}  // namespace convsim
