#include <cmath>
#include <vector>

#include <catch2/catch.hpp>

#include "sim/workload/distribution.hpp"
#include "sim/workload/workload.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;

TEST_CASE("the generator gives the same draws for the same seed and different ones otherwise") {
  Rng a(42), b(42), c(43);
  for (int i = 0; i < 100; ++i) {
    const std::uint64_t x = a.next_u64();
    CHECK(x == b.next_u64());
    CHECK(x != c.next_u64());
  }
}

TEST_CASE("lognormal draws have the configured median and mean exp(sigma^2/2) times it") {
  Distribution d;
  d.kind = Distribution::Kind::lognormal;
  d.median = 60;
  d.sigma = 0.6;
  Rng rng(7);
  std::vector<double> draws;
  double sum = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    draws.push_back(sample(d, rng));
    sum += draws.back();
  }
  std::nth_element(draws.begin(), draws.begin() + n / 2, draws.end());
  // Standard errors at n = 2e5 are well under 1%; 2% leaves room.
  CHECK(draws[n / 2] == Approx(60).epsilon(0.02));
  CHECK(sum / n == Approx(60 * std::exp(0.18)).epsilon(0.02));
  CHECK(mean(d) == Approx(60 * std::exp(0.18)));
}

TEST_CASE("Poisson arrivals have the configured mean rate") {
  Rng rng(11);
  double t = 0;
  const int n = 100000;
  for (int i = 0; i < n; ++i) t += rng.exponential(5.0);
  CHECK(n / t == Approx(5.0).epsilon(0.02));
}

TEST_CASE("a conversation's turn arrives when the human finishes speaking, with tokens = words * tokens_per_word") {
  const Scenario s = test::scenario_from(test::kSmallConversation,
                                         {{"conversation.speakers", "[{name: a, words_per_min: 120, turn_words: {fixed: 60}}]"},
                                          {"conversation.pause_s", "{fixed: 2}"},
                                          {"conversation.model_replies.output_tokens", "{fixed: 40}"}});
  Workload w(s);
  const std::vector<Request> first = w.initial_requests();
  REQUIRE(first.size() == 1);
  // 60 words at 120 words/min take 30 s; 60 * 1.33 = 79.8 -> 80 tokens.
  CHECK(first[0].arrival_s == Approx(30.0));
  CHECK(first[0].prompt_tokens == 80);
  CHECK(first[0].history_tokens == 0);
  // The reply (40 tokens = 30.08 words at 150 words/min = 12.03 s of speech) starts
  // being spoken at the first token, at 31 s; the next turn starts after it and the pause.
  const auto next = w.follow_up(first[0], ReplyOutcome{31.0, 33.0});
  REQUIRE(next.has_value());
  const double speech_s = 40 / 1.33 / 150 * 60;
  CHECK(first[0].reply_speech_s == Approx(speech_s));
  CHECK(next->arrival_s == Approx(31.0 + speech_s + 2.0 + 30.0));
  CHECK(next->history_tokens == 80 + 40);
  CHECK(next->turn == 1);
}

TEST_CASE("no human turn starts after the conversation's duration") {
  const Scenario s = test::scenario_from(test::kSmallConversation, {{"conversation.duration_min", "1"}, {"conversation.probe_minutes", "[]"}});
  Workload w(s);
  std::vector<Request> pending = w.initial_requests();
  int turns = 0;
  while (!pending.empty()) {
    const Request r = pending.back();
    pending.pop_back();
    ++turns;
    CHECK(r.arrival_s - r.human_speech_s < 60.0);
    if (auto n = w.follow_up(r, ReplyOutcome{r.arrival_s + 0.1, r.arrival_s + 1.0})) pending.push_back(*n);
  }
  CHECK(turns >= 2);
}

TEST_CASE("a closed-loop request stream issues exactly count requests, concurrency at a time") {
  const Scenario s = test::scenario_from(R"(
name: stream
requests: {count: 10, input_tokens: {uniform: [100, 200]}, output_tokens: {fixed: 5}, arrival: {concurrency: 3}}
model: {preset: llama-3.1-8b}
cluster: {gpu: h100-sxm, nodes: 1, gpus_per_node: 1}
)");
  Workload w(s);
  std::vector<Request> pending = w.initial_requests();
  CHECK(pending.size() == 3);
  int issued = static_cast<int>(pending.size());
  while (!pending.empty()) {
    const Request r = pending.back();
    pending.pop_back();
    CHECK(r.prompt_tokens >= 100);
    CHECK(r.prompt_tokens <= 200);
    CHECK(r.output_tokens == 5);
    if (auto n = w.follow_up(r, ReplyOutcome{1.0, 2.0})) {
      pending.push_back(*n);
      ++issued;
    }
  }
  CHECK(issued == 10);
}
