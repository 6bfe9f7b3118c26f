// Objectives as users state them: percentiles and attainment over the run and over
// sliding windows. Expected values are worked out from the rank rule of stats.hpp
// (quantile q of n sorted values sits at position q * (n - 1), interpolated) or
// recomputed here from the reply records.

#include <algorithm>
#include <cmath>
#include <vector>

#include <catch2/catch.hpp>

#include "sim/analysis/failures.hpp"
#include "sim/analysis/objectives.hpp"
#include "sim/engine/simulation.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;

namespace {

// A plain request stream whose objectives are set by the overrides; the replies
// are made up below, the stream only gives the scenario its shape.
Scenario stream_with(const std::vector<Override>& slo) {
  return test::scenario_from(R"(
name: objectives
requests: {count: 10, input_tokens: {fixed: 100}, output_tokens: {fixed: 10}, arrival: {rate_per_s: 1}}
model: {preset: llama-3.1-8b}
cluster: {gpu: h100-sxm, nodes: 1, gpus_per_node: 1}
slo: {}
)",
                             slo);
}

// 75,000 replies, one every 0.05 s, TTFT 0.2 s, except `late` of them at 5 s.
std::vector<ObjectiveResult> judge_75000(const Scenario& s, const std::vector<long>& late) {
  ObjectiveJudge judge(s);
  for (long i = 0; i < 75'000; ++i) {
    ReplyRecord r;
    r.served = true;
    r.start_s = static_cast<double>(i) * 0.05;
    r.output_tokens = 10;
    r.ttft_s = std::find(late.begin(), late.end(), i) != late.end() ? 5.0 : 0.2;
    r.tpot_s = 0.01;
    r.e2e_s = r.ttft_s + 9 * r.tpot_s;
    judge.add(r);
  }
  return judge.finish();
}

const ObjectiveResult& named(const std::vector<ObjectiveResult>& results, const std::string& name) {
  for (const ObjectiveResult& r : results) {
    if (r.objective.name == name) return r;
  }
  FAIL("no objective " << name);
  return results.front();
}

// Quantile q of n values of which the `late` largest are 5 s and the others 0.2 s:
// position q * (n - 1), interpolated between the values at the ranks around it.
double quantile_with_late(double q, long n, long late) {
  auto value = [n, late](long rank) { return rank >= n - late ? 5.0 : 0.2; };
  const double position = q * static_cast<double>(n - 1);
  const long below = static_cast<long>(std::floor(position));
  const long above = std::min(below + 1, n - 1);
  return value(below) + (value(above) - value(below)) * (position - static_cast<double>(below));
}

}  // namespace

TEST_CASE("3 late replies in 75,000 do not fail a p99 objective and fail a p99999 one, and 8 fail a p9999 one") {
  // 0.01% of 75,000 is 7.5 replies: p99.99 tolerates 7 late ones, p99.999 none.
  const Scenario s = stream_with({{"slo.ttft_p99_s", "1.0"}, {"slo.ttft_p9999_s", "1.0"}, {"slo.ttft_p99999_s", "1.0"}});
  REQUIRE(s.slo.percentiles.size() == 3);
  CHECK(s.slo.percentiles[1].percentile == Approx(99.99));
  CHECK(s.slo.percentiles[2].percentile == Approx(99.999));
  const std::vector<long> three = {10'000, 40'000, 70'000};
  const auto results = judge_75000(s, three);
  CHECK(named(results, "ttft_p99_s").run.value_s == Approx(quantile_with_late(0.99, 75'000, 3)));
  CHECK(named(results, "ttft_p9999_s").run.value_s == Approx(quantile_with_late(0.9999, 75'000, 3)));
  CHECK(named(results, "ttft_p99999_s").run.value_s == Approx(quantile_with_late(0.99999, 75'000, 3)));
  CHECK(named(results, "ttft_p99_s").met());
  CHECK(named(results, "ttft_p9999_s").met());
  CHECK_FALSE(named(results, "ttft_p99999_s").met());
  CHECK(named(results, "ttft_p99_s").run.value_s == Approx(0.2));
  CHECK(named(results, "ttft_p99_s").run.attainment == Approx(74'997.0 / 75'000.0));
  // Per-reply limits are not objectives once percentiles are stated without them.
  CHECK(std::none_of(results.begin(), results.end(), [](const ObjectiveResult& r) { return r.objective.name == "ttft_s"; }));

  std::vector<long> eight;
  for (long k = 0; k < 8; ++k) eight.push_back(5'000 * (k + 1));
  const auto more = judge_75000(s, eight);
  CHECK(quantile_with_late(0.9999, 75'000, 7) <= 1.0);
  CHECK(quantile_with_late(0.9999, 75'000, 8) > 1.0);
  CHECK(named(more, "ttft_p9999_s").run.value_s == Approx(quantile_with_late(0.9999, 75'000, 8)));
  CHECK_FALSE(named(more, "ttft_p9999_s").met());
  CHECK(named(more, "ttft_p99_s").met());
  // The failure point is placed at the first late reply.
  REQUIRE(named(more, "ttft_p9999_s").failure() != nullptr);
  CHECK(named(more, "ttft_p9999_s").failure()->first_over->start_s == 5'000 * 0.05);
}

TEST_CASE("an attainment target tolerates late replies up to its share and not one more") {
  // 3 of 75,000 late: attainment 74,997 / 75,000 = 0.99996.
  const auto loose = judge_75000(stream_with({{"slo.ttft_s", "1.0"}, {"slo.attainment", "0.9999"}}), {1, 2, 3});
  CHECK(named(loose, "ttft_s").objective.rule == Objective::Rule::attainment);
  CHECK(named(loose, "ttft_s").objective.failure_kind == "slo_ttft_attainment");
  CHECK(named(loose, "ttft_s").met());
  const auto tight = judge_75000(stream_with({{"slo.ttft_s", "1.0"}, {"slo.attainment", "0.99999"}}), {1, 2, 3});
  CHECK_FALSE(named(tight, "ttft_s").met());
  CHECK(named(tight, "ttft_s").run.over == 3);
  // At attainment 1 (the default) every reply counts, as a per-reply objective.
  const auto every = judge_75000(stream_with({{"slo.ttft_s", "1.0"}}), {1});
  CHECK(named(every, "ttft_s").objective.rule == Objective::Rule::every_reply);
  CHECK(named(every, "ttft_s").objective.failure_kind == "slo_ttft");
  CHECK_FALSE(named(every, "ttft_s").met());
}

TEST_CASE("the first window missed is the failure point: replies late in one stretch fail that window only") {
  // Windows of 10 minutes every 2.5 minutes (the default step, a quarter). 20 late
  // replies, all in the second after minute 30 (replies 36,000 to 36,019 at 0.05 s):
  // in a window of 12,000 replies p99 sits at position 0.99 * 11,999 = 11,879.01,
  // below the 20 late ranks (11,980 on); p99.9 at 11,987.0, among them.
  const Scenario s = stream_with({{"slo.ttft_p999_s", "1.0"}, {"slo.ttft_p99_s", "1.0"}, {"slo.window_min", "10"}});
  CHECK(s.slo.window_step_s == 150.0);
  std::vector<long> late;
  for (long i = 36'000; i < 36'020; ++i) late.push_back(i);
  const auto results = judge_75000(s, late);
  const ObjectiveResult& p999 = named(results, "ttft_p999_s");
  CHECK(named(results, "ttft_p99_s").met());
  REQUIRE(p999.first_missed.has_value());
  // Seconds 1,800 to 1,801 lie in the windows starting at 22.5, 25, 27.5 and 30
  // minutes (the one from 20 minutes ends at 1,800 s): the first is the failure point.
  CHECK(p999.first_missed->start_s == 22.5 * 60.0);
  CHECK(p999.first_missed->over == 20);
  CHECK(p999.windows_missed == 4);
  // Windows start every 150 s up to the last reply (start 3,749.95 s): 25 of them.
  CHECK(p999.windows == 25);
  CHECK(p999.run.met);  // over the run: 20 of 75,000 is below 0.1%
}

TEST_CASE("a window's p99 equals the p99 computed from the reply rows that start in it") {
  // 40 requests per second on one H100 for 5 minutes: TTFT varies with the queue.
  const Scenario s = test::scenario_from(R"(
name: window-p99
requests: {count: 1500, input_tokens: {median: 800, sigma: 0.6}, output_tokens: {fixed: 20}, arrival: {rate_per_s: 5}}
model: {preset: llama-3.1-8b}
cluster: {gpu: h100-sxm, nodes: 1, gpus_per_node: 1}
serving: {max_batch_seqs: 64, prefill_chunk_tokens: 2048}
slo: {ttft_p99_s: 0.05, tpot_p90_s: 0.02, window_min: 1, window_step_min: 0.5}
)");
  const RunResult result = simulate(s);
  const JudgedObjectives judged = judge_objectives(result, s);
  std::vector<ReplyRecord> rows;
  for (const ReplyRecord& r : result.replies) {
    if (r.served && r.kind == "reply") rows.push_back(r);
  }
  REQUIRE(rows.size() > 1000);
  REQUIRE(judged.windows.size() > 10);
  for (const WindowRow& w : judged.windows) {
    const bool ttft = w.objective == "ttft_p99_s";
    std::vector<double> values;
    for (const ReplyRecord& r : rows) {
      if (r.start_s >= w.span.start_s && r.start_s < w.span.end_s) values.push_back(ttft ? r.ttft_s : r.tpot_s);
    }
    std::sort(values.begin(), values.end());
    const double q = ttft ? 0.99 : 0.90;
    const double position = q * static_cast<double>(values.size() - 1);
    const auto below = static_cast<std::size_t>(std::floor(position));
    const std::size_t above = std::min(below + 1, values.size() - 1);
    const double expected = values[below] + (values[above] - values[below]) * (position - static_cast<double>(below));
    INFO(w.objective << " window from " << w.span.start_s << " s");
    CHECK(w.span.replies == static_cast<long>(values.size()));
    CHECK(w.span.value_s == expected);
    CHECK(w.span.met == (expected <= (ttft ? 0.05 : 0.02)));
  }
}
