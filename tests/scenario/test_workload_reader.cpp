// The loader's rules for the request sources' keys: each message names the keys.

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "sim/scenario/config_error.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;

namespace {

std::string error_of(const std::vector<Override>& overrides) {
  try {
    test::scenario_from(test::kSmallConversation, overrides);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("source keys that contradict each other are errors naming both") {
  CHECK_THAT(error_of({{"serving.routing", "prefix_affinity"}}),
             Catch::Contains("prefix_affinity needs serving.prefix_caching: true"));
  CHECK_THAT(error_of({{"conversation.session_arrival", "{poisson_per_hour: 10}"}, {"conversation.sessions", "3"}}),
             Catch::Contains("give it without conversation.sessions and conversation.session_stagger_s"));
  CHECK_THAT(error_of({{"conversation.session_arrival", "{poisson_per_hour: 10, per_hour_of_day: [1]}"}}),
             Catch::Contains("give exactly one of poisson_per_hour or per_hour_of_day"));
  CHECK_THAT(error_of({{"conversation.session_arrival", "{per_hour_of_day: [1, 2, 3]}"}}),
             Catch::Contains("expected a list of 24 sessions-per-hour rates (hour 0 to 23), got 3 values"));
  CHECK_THAT(error_of({{"conversation.session_min", "{median: 0, sigma: 1}"}}),
             Catch::Contains("conversation.session_min.median must be > 0"));
  const std::string transcript = test::source_path("scenarios/meeting-transcript.csv");
  CHECK_THAT(error_of({{"conversation", "{transcript: " + transcript + "}"}, {"context.ingestion", "streaming"}}),
             Catch::Contains("context.ingestion: streaming is not available with conversation.transcript") &&
                 Catch::EndsWith("allowed: at_turn_end"));
  CHECK_THAT(error_of({{"conversation", "{transcript: " + transcript + ", speakers: []}"}}),
             Catch::Contains("unknown key 'speakers' in conversation"));
}
