// Conversation arrivals: sessions starting as a Poisson process or by hour of day,
// each lasting its drawn length.

#include <cmath>
#include <vector>

#include <catch2/catch.hpp>

#include "sim/workload/workload.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;

namespace {

// Each session's first turn: one word, a fixed pause, so a session's turns follow
// one another every few seconds.
std::vector<Request> first_turns(const std::vector<Override>& overrides) {
  std::vector<Override> all = {{"conversation.speakers", "[{name: a, words_per_min: 60, turn_words: {fixed: 1}}]"}};
  all.insert(all.end(), overrides.begin(), overrides.end());
  const Scenario scenario = test::scenario_from(test::kSmallConversation, all);  // outlives the workload
  Workload w(scenario);
  return w.initial_requests();
}

}  // namespace

TEST_CASE("sessions arriving as a Poisson process number rate x duration, within 4 standard deviations") {
  const double rate_per_h = 600, hours = 50;
  const std::vector<Request> first = first_turns({{"conversation.duration_min", std::to_string(hours * 60)},
                                                  {"conversation.probe_minutes", "[]"},
                                                  {"conversation.session_arrival", "{poisson_per_hour: 600}"}});
  const double expected = rate_per_h * hours;  // Poisson: variance = mean
  INFO("Expectation: " << expected << " +- " << 4 * std::sqrt(expected) << ". Actual: " << first.size());
  CHECK(std::abs(static_cast<double>(first.size()) - expected) < 4 * std::sqrt(expected));
}

TEST_CASE("a diurnal profile starts sessions in each hour of the day at that hour's rate") {
  std::vector<double> rates(24);
  std::string list = "[";
  for (int h = 0; h < 24; ++h) {
    rates[h] = 20.0 + 10.0 * (h % 6);  // 20 to 70 an hour
    list += (h ? ", " : "") + std::to_string(rates[h]);
  }
  list += "]";
  const int days = 20;
  const std::vector<Request> first =
      first_turns({{"conversation.duration_min", std::to_string(days * 1440)},
                   {"conversation.probe_minutes", "[]"},
                   {"conversation.session_arrival", "{per_hour_of_day: " + list + ", start_hour: 6}"}});
  std::vector<double> count(24, 0.0);
  for (const Request& r : first) {
    const double first_word_s = r.arrival_s - r.human_speech_s;  // the session's start
    count[static_cast<std::size_t>(std::fmod(6 + first_word_s / 3600.0, 24.0))] += 1;
  }
  for (int h = 0; h < 24; ++h) {
    const double expected = rates[h] * days;
    INFO("hour " << h << ": expected " << expected << ", got " << count[h]);
    CHECK(std::abs(count[h] - expected) < 4 * std::sqrt(expected));
  }
}

TEST_CASE("a session's turns stop after its drawn length") {
  const Scenario s = test::scenario_from(test::kSmallConversation,
                                         {{"conversation.session_arrival", "{poisson_per_hour: 60}"},
                                          {"conversation.session_min", "{fixed: 2}"},
                                          {"conversation.pause_s", "{fixed: 1}"}});
  Workload w(s);
  std::vector<Request> pending = w.initial_requests();
  REQUIRE(!pending.empty());
  std::vector<double> start(pending.size(), -1), last(pending.size(), -1);
  while (!pending.empty()) {
    const Request r = pending.back();
    pending.pop_back();
    const double turn_start_s = r.arrival_s - r.human_speech_s;
    if (start[r.session] < 0 || turn_start_s < start[r.session]) start[r.session] = turn_start_s;
    last[r.session] = std::max(last[r.session], turn_start_s);
    for (const Request& n : w.follow_up(r, ReplyOutcome{r.arrival_s + 0.1, r.arrival_s + 1.0})) pending.push_back(n);
  }
  const double horizon_s = s.conversation->duration_min * 60;
  for (std::size_t k = 0; k < start.size(); ++k) {
    INFO("session " << k);
    CHECK(last[k] < start[k] + 120.0);
    if (start[k] + 120.0 < horizon_s) CHECK(last[k] > start[k] + 60.0);  // turns of ~30 s go on to near the end
  }
}
