#include <algorithm>
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
  const auto follow = w.follow_up(first[0], ReplyOutcome{31.0, 33.0});
  REQUIRE(follow.size() == 1);
  const Request* next = &follow[0];
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
    for (const Request& n : w.follow_up(r, ReplyOutcome{r.arrival_s + 0.1, r.arrival_s + 1.0})) pending.push_back(n);
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
    for (const Request& n : w.follow_up(r, ReplyOutcome{1.0, 2.0})) {
      pending.push_back(n);
      ++issued;
    }
  }
  CHECK(issued == 10);
}

TEST_CASE("a prompt set sent over and over: request i repeats prompt i mod unique_prompts, blocks and all") {
  const Scenario s = test::scenario_from(R"(
name: repeats
requests: {count: 12, unique_prompts: 4, input_tokens: {median: 300, sigma: 0.7}, output_tokens: {median: 50, sigma: 0.5},
           arrival: {all_at_once: true}}
model: {preset: llama-3.1-8b}
cluster: {gpu: h100-sxm, nodes: 1, gpus_per_node: 1}
serving: {prefix_caching: true, kv_block_tokens: 16}
)");
  Workload w(s);
  const std::vector<Request> all = w.initial_requests();
  REQUIRE(all.size() == 12);
  bool outputs_differ = false;
  for (std::size_t i = 4; i < all.size(); ++i) {
    const Request& copy = all[i];
    const Request& first = all[i % 4];
    CHECK(copy.prompt_tokens == first.prompt_tokens);
    REQUIRE(copy.prefix_blocks);
    CHECK(*copy.prefix_blocks == *first.prefix_blocks);  // the same blocks: shared in a prefix cache
    CHECK(static_cast<long>(copy.prefix_blocks->size()) == first.prompt_tokens / 16);  // whole blocks only
    outputs_differ = outputs_differ || copy.output_tokens != first.output_tokens;  // each reply its own length
  }
  CHECK(outputs_differ);
  for (std::size_t i = 1; i < 4; ++i) CHECK(all[i].prefix_blocks->front() != all[0].prefix_blocks->front());
}

namespace {

// Plays a conversation through, each request answered 1 s after it arrives.
std::vector<Request> play(const Scenario& s, int max_requests = 10000) {
  Workload w(s);
  std::vector<Request> pending = w.initial_requests(), all;
  while (!pending.empty() && static_cast<int>(all.size()) < max_requests) {
    std::sort(pending.begin(), pending.end(), [](const Request& a, const Request& b) { return a.arrival_s > b.arrival_s; });
    const Request r = pending.back();
    pending.pop_back();
    all.push_back(r);
    for (const Request& n : w.follow_up(r, ReplyOutcome{r.arrival_s + 0.5, r.arrival_s + 1.0})) pending.push_back(n);
  }
  return all;
}

const std::vector<Override> kLongTurns = {{"conversation.duration_min", "120"},
                                          {"conversation.probe_minutes", "[]"},
                                          {"conversation.speakers", "[{name: a, words_per_min: 150, turn_words: {fixed: 300}}]"},
                                          {"conversation.pause_s", "{fixed: 1}"}};

std::vector<Override> with(std::vector<Override> base, std::vector<Override> more) {
  base.insert(base.end(), more.begin(), more.end());
  return base;
}

}  // namespace

TEST_CASE("the window policy caps the context, and a cut context is not reused from the cache") {
  const Scenario s = test::scenario_from(test::kSmallConversation,
                                         with(kLongTurns, {{"context.policy", "window"}, {"context.window_tokens", "2000"}}));
  bool cut = false;
  for (const Request& r : play(s)) {
    CHECK(r.history_tokens + r.prompt_tokens <= 2000);
    if (!r.cache_reusable) {
      cut = true;
      CHECK(r.history_tokens + r.prompt_tokens == 2000);
    }
  }
  CHECK(cut);
}

TEST_CASE("the summary policy's context is a sawtooth: it grows to the threshold, then restarts from the summary") {
  const Scenario s = test::scenario_from(
      test::kSmallConversation,
      with(kLongTurns, {{"context.policy", "summary"}, {"context.summary_every_tokens", "3000"},
                        {"context.summary_tokens", "500"}, {"context.summary_instruction_tokens", "50"}}));
  const std::vector<Request> all = play(s);
  int summaries = 0;
  long previous = -1;
  for (std::size_t i = 0; i < all.size(); ++i) {
    const Request& r = all[i];
    if (r.kind == RequestKind::summary) {
      ++summaries;
      CHECK(r.history_tokens >= 3000);
      CHECK(r.prompt_tokens == 50);
      CHECK(r.output_tokens == 500);
      REQUIRE(i + 1 < all.size());
      CHECK(all[i + 1].kind == RequestKind::reply);
      CHECK(all[i + 1].history_tokens == 500);  // restarts from the summary
      CHECK(all[i + 1].arrival_s == r.arrival_s);  // still due at the end of the turn
      CHECK_FALSE(all[i + 1].cache_reusable);
      continue;
    }
    if (previous >= 0 && r.cache_reusable) CHECK(r.history_tokens > previous);  // growing between summaries
    previous = r.history_tokens;
  }
  CHECK(summaries >= 3);
}

TEST_CASE("retrieval puts k chunks plus the recent window in every context, after the host's latency") {
  const Scenario s = test::scenario_from(
      test::kSmallConversation,
      with(kLongTurns, {{"context.policy", "retrieval"}, {"context.retrieval_chunks", "4"},
                        {"context.retrieval_chunk_tokens", "256"}, {"context.window_tokens", "1000"},
                        {"context.retrieval_latency_s", "0.2"}}));
  const std::vector<Request> all = play(s, 50);
  REQUIRE(all.size() > 5);
  for (const Request& r : all) {
    CHECK(r.history_tokens <= 4 * 256 + 1000);
    CHECK(r.history_tokens >= 4 * 256);
    CHECK(r.host_delay_s == 0.2);
    CHECK_FALSE(r.cache_reusable);
  }
  CHECK(all.back().history_tokens == 4 * 256 + 1000);  // the recent window is full by then
}

TEST_CASE("streaming ingestion prefills the words as they are spoken, leaving the last interval for the reply") {
  const Scenario s = test::scenario_from(
      test::kSmallConversation,
      with(kLongTurns, {{"context.ingestion", "streaming"}, {"context.streaming_interval_s", "10"}}));
  Workload w(s);
  const std::vector<Request> first = w.initial_requests();
  // 300 words at 150 words/min take 120 s: 11 chunks at 10, 20, ..., 110 s, then the reply at 120 s.
  REQUIRE(first.size() == 12);
  long ingested = 0;
  for (int k = 0; k < 11; ++k) {
    CHECK(first[k].kind == RequestKind::ingest);
    CHECK(first[k].arrival_s == Approx(10.0 * (k + 1)));
    CHECK(first[k].output_tokens == 0);
    CHECK(first[k].history_tokens == ingested);
    ingested += first[k].prompt_tokens;
  }
  const Request& reply = first.back();
  CHECK(reply.kind == RequestKind::reply);
  CHECK(reply.arrival_s == Approx(120.0));
  CHECK(reply.history_tokens == ingested);
  CHECK(reply.history_tokens + reply.prompt_tokens == 399);  // 300 words * 1.33
  CHECK(reply.prompt_tokens == 399 - std::lround(399 * 110.0 / 120.0));
}
