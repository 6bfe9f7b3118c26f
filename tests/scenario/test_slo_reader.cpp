// The slo: section: percentile objectives, attainment and windows, and the errors
// for what is not one of them ("file:line:column: message", positions counted by
// hand in the inline YAML, 1-based).

#include <string>

#include <catch2/catch.hpp>

#include "sim/scenario/config_error.hpp"
#include "sim/scenario/slo_reader.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;

namespace {

// A small scenario whose last line (line 6) is the slo section given.
std::string with_slo(const std::string& slo) {
  return "name: slo\n"
         "requests: {count: 10, input_tokens: {fixed: 100}, output_tokens: {fixed: 10}, arrival: {rate_per_s: 1}}\n"
         "model: {preset: llama-3.1-8b}\n"
         "cluster: {gpu: h100-sxm, nodes: 1, gpus_per_node: 1}\n"
         "parallelism: {tp: 1}\n"
         "slo: " + slo + "\n";
}

std::string error_of(const std::string& slo) {
  try {
    test::scenario_from(with_slo(slo));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("percentile keys name the percentile by its digits: p50 = 50, p999 = 99.9, p9999 = 99.99") {
  struct Case {
    const char* key;
    PercentileObjective::Metric metric;
    double percentile;
  };
  const Case cases[] = {{"ttft_p50_s", PercentileObjective::Metric::ttft, 50},
                        {"ttft_p5_s", PercentileObjective::Metric::ttft, 5},
                        {"tpot_p90_s", PercentileObjective::Metric::tpot, 90},
                        {"e2e_p95_s", PercentileObjective::Metric::e2e, 95},
                        {"ttft_p999_s", PercentileObjective::Metric::ttft, 99.9},
                        {"tpot_p9999_s", PercentileObjective::Metric::tpot, 99.99}};
  for (const Case& c : cases) {
    INFO(c.key);
    const auto parsed = parse_percentile_key(c.key);
    REQUIRE(parsed.has_value());
    CHECK(parsed->metric == c.metric);
    CHECK(parsed->percentile == Approx(c.percentile));
  }
  CHECK_FALSE(parse_percentile_key("ttft_p99").has_value());
  CHECK_FALSE(parse_percentile_key("ttft_s").has_value());
}

TEST_CASE("percentile objectives replace the per-reply limits unless those are written") {
  const Scenario only = test::scenario_from(with_slo("{ttft_p99_s: 1.0, tpot_p99_s: 0.05, window_min: 5}"));
  CHECK_FALSE(only.slo.ttft_limit);
  CHECK_FALSE(only.slo.tpot_limit);
  REQUIRE(only.slo.percentiles.size() == 2);
  CHECK(only.slo.percentiles[1].limit_s == 0.05);
  CHECK(only.slo.window_s == 300);
  CHECK(only.slo.window_step_s == 75);
  const Scenario both = test::scenario_from(with_slo("{ttft_p99_s: 1.0, tpot_s: 0.1, attainment: 0.99}"));
  CHECK_FALSE(both.slo.ttft_limit);
  CHECK(both.slo.tpot_limit);
  CHECK(both.slo.attainment == 0.99);
  const Scenario plain = test::scenario_from(with_slo("{ttft_s: 2.0}"));
  CHECK(plain.slo.ttft_limit);
  CHECK(plain.slo.tpot_limit);  // the default 0.1 s, as before
}

TEST_CASE("bad objectives are located errors naming what is allowed") {
  const std::string allowed =
      "allowed: ttft_s, tpot_s, speech_realtime, attainment, window_min, window_step_min, or "
      "<ttft|tpot|e2e>_p<digits>_s (p50, p90, p95, p99, p999 = 99.9th, p9999 = 99.99th percentile)";
  struct Case {
    const char* slo;
    std::string expected;
  };
  const Case cases[] = {
      {"{ttft_p99: 1.0}", "test.yaml:6:7: unknown key 'ttft_p99' in slo; did you mean 'ttft_p99_s'? " + allowed},
      {"{latency_s: 1.0}", "test.yaml:6:7: unknown key 'latency_s' in slo; " + allowed},
      {"{ttft_p100_s: 1.0}",
       "test.yaml:6:7: slo.ttft_p100_s: the percentile 100 is outside (0, 100); write <ttft|tpot|e2e>_p<digits>_s "
       "(p50, p90, p95, p99, p999 = 99.9th, p9999 = 99.99th percentile)"},
      {"{ttft_p0_s: 1.0}",
       "test.yaml:6:7: slo.ttft_p0_s: the percentile 0 is outside (0, 100); write <ttft|tpot|e2e>_p<digits>_s "
       "(p50, p90, p95, p99, p999 = 99.9th, p9999 = 99.99th percentile)"},
      {"{ttft_s: 1.0, attainment: 1.5}", "test.yaml:6:32: slo.attainment must be in (0, 1], got 1.5"},
      {"{ttft_s: 1.0, attainment: 0}", "test.yaml:6:32: slo.attainment must be in (0, 1], got 0"},
      {"{ttft_p99_s: -1}", "test.yaml:6:19: slo.ttft_p99_s must be > 0, got -1"},
      {"{window_min: 5, window_step_min: 10}", "test.yaml:6:39: slo.window_step_min = 10 must be <= slo.window_min = 5"},
      {"{ttft_p99_s: 1, attainment: 0.9}",
       "test.yaml:6:34: slo.attainment: the fraction of replies within slo.ttft_s and slo.tpot_s; give at least one of "
       "them"},
  };
  for (const Case& c : cases) {
    INFO(c.slo);
    CHECK(error_of(c.slo) == c.expected);
  }
}
