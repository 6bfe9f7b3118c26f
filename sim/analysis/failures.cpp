#include "sim/analysis/failures.hpp"

#include <algorithm>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "sim/accounting/turn_order.hpp"
#include "sim/analysis/explain.hpp"

namespace convsim {
namespace {

// Seconds per spoken reply token: the pace tokens must at least keep.
double speech_s_per_token(const ReplyRecord& r) {
  return r.output_tokens > 0 ? r.reply_speech_s / static_cast<double>(r.output_tokens) : 0.0;
}

bool speech_applies(const Scenario& s) { return s.conversation.has_value() && s.slo.speech_realtime; }

// The largest share of `observed_s`: queueing (what the reply waited, plus what its
// iterations took beyond its own cost) or its own compute, memory or network time.
std::string cause_class(const ReplyBreakdown& own, double observed_s, double queued_s) {
  double compute_s = 0, memory_s = 0, network_s = 0;
  for (const BreakdownRow& row : own.rows) {
    if (row.name == "communication") {
      network_s += row.time_s;
    } else if (row.flops > 0 || row.hbm_bytes > 0) {
      (row.compute_bound() ? compute_s : memory_s) += row.time_s;
    }
  }
  const double own_s = compute_s + memory_s + network_s;
  const double queueing_s = queued_s + std::max(0.0, observed_s - queued_s - own_s);
  const std::map<double, const char*, std::greater<>> ranked = {
      {queueing_s, "queueing"}, {compute_s, "compute"}, {memory_s, "memory_bandwidth"}, {network_s, "network"}};
  return ranked.begin()->second;
}

std::string share_text(const ReplyBreakdown& own) {
  double compute_s = 0, memory_s = 0, network_s = 0;
  for (const BreakdownRow& row : own.rows) {
    if (row.name == "communication") network_s += row.time_s;
    else if (row.flops > 0 || row.hbm_bytes > 0) (row.compute_bound() ? compute_s : memory_s) += row.time_s;
  }
  return fmt::format("own work: compute-bound {:.3f} s, memory-bound {:.3f} s, network {:.3f} s", compute_s, memory_s,
                     network_s);
}

// Reads served replies in order of start time, one at a time, and finds the first
// reply from which every later reply's queueing delay stays above the TTFT objective,
// when the delay keeps growing (the least-squares slope over the later half of the
// replies): arrivals outpace service.
class UnstableQueue {
 public:
  UnstableQueue(std::size_t replies, double ttft_s) : replies_(replies), ttft_s_(ttft_s) {}

  void add(const ReplyRecord& r) {
    if (index_++ >= replies_ / 2) {
      const double x = r.start_s, y = r.queue_s;
      n_ += 1, sx_ += x, sy_ += y, sxx_ += x * x, sxy_ += x * y;
    }
    if (r.queue_s > ttft_s_) {
      if (!over_since_) over_since_ = r;
    } else {
      over_since_.reset();
    }
  }

  // The reply the trailing stretch over the objective starts at, when unstable.
  std::optional<ReplyRecord> from(double* slope) const {
    if (replies_ < 20) return std::nullopt;
    const double denominator = n_ * sxx_ - sx_ * sx_;
    if (denominator <= 0) return std::nullopt;
    *slope = (n_ * sxy_ - sx_ * sy_) / denominator;
    if (*slope <= kUnstableQueueSlope || !over_since_) return std::nullopt;
    return over_since_;
  }

 private:
  std::size_t replies_;
  double ttft_s_;
  std::size_t index_ = 0;
  double n_ = 0, sx_ = 0, sy_ = 0, sxx_ = 0, sxy_ = 0;
  std::optional<ReplyRecord> over_since_;  // first of the replies since the last one within the objective
};

}  // namespace

bool slo_ok(const ReplyRecord& r, const Scenario& s) {
  if (!r.served) return false;
  if (r.kind != "reply") return true;  // summaries and streamed chunks have no objective of their own
  if ((s.slo.ttft_limit && r.ttft_s > s.slo.ttft_s) || (s.slo.tpot_limit && r.tpot_s > s.slo.tpot_s)) return false;
  for (const PercentileObjective& p : s.slo.percentiles) {
    const double value = p.metric == PercentileObjective::Metric::ttft   ? r.ttft_s
                         : p.metric == PercentileObjective::Metric::tpot ? r.tpot_s
                                                                         : r.e2e_s;
    if (value > p.limit_s) return false;
  }
  return !(speech_applies(s) && r.tpot_s > speech_s_per_token(r));
}

JudgedObjectives judge_objectives(const RunResult& result, const Scenario& s) {
  auto replies = result.replies.sorted([](const ReplyRecord& r) { return r.served && r.kind == "reply"; },
                                       TurnOrder{});
  ObjectiveJudge judge(s);
  replies.for_each([&](const ReplyRecord& r) { judge.add(r); });
  JudgedObjectives out;
  out.results = judge.finish();
  out.windows = judge.windows();
  return out;
}

std::vector<FailureRecord> failure_points(const RunResult& result, const Scenario& s, const CostModel& cost) {
  return failure_points(result, s, cost, judge_objectives(result, s));
}

std::vector<FailureRecord> failure_points(const RunResult& result, const Scenario& s, const CostModel& cost,
                                          const JudgedObjectives& judged) {
  std::vector<FailureRecord> out = result.failures;
  for (FailureRecord& f : out) {
    if (f.cause_class.empty()) f.cause_class = "capacity";
  }
  // Served replies in TurnOrder (by start time; ties by session, not by completion).
  auto replies = result.replies.sorted([](const ReplyRecord& r) { return r.served && r.kind == "reply"; },
                                       TurnOrder{});
  std::optional<ReplyRecord> first_ttft, first_tpot, first_speech;
  UnstableQueue queue(replies.size(), s.slo.ttft_s);
  // ttft_s and tpot_s are judged reply by reply at attainment 1 (below it, with the
  // other objectives further down).
  const bool every_reply = s.slo.attainment >= 1.0;
  const bool ttft_each = every_reply && s.slo.ttft_limit, tpot_each = every_reply && s.slo.tpot_limit;
  replies.for_each([&](const ReplyRecord& r) {
    if (ttft_each && !first_ttft && r.ttft_s > s.slo.ttft_s) first_ttft = r;
    if (tpot_each && !first_tpot && r.tpot_s > s.slo.tpot_s) first_tpot = r;
    if (!first_speech && speech_applies(s) && r.tpot_s > speech_s_per_token(r)) first_speech = r;
    queue.add(r);
  });
  if (first_ttft) {
    const ReplyBreakdown own = explain_reply(s, cost, *first_ttft, ReplyPhase::prefill);
    const double queued_s = first_ttft->queue_s;
    out.push_back({"slo_ttft", first_ttft->start_s,
                   fmt::format("TTFT {:.3f} s > {:.3f} s (context {} tokens, {} prefilled, queued {:.3f} s; {})",
                               first_ttft->ttft_s, s.slo.ttft_s, first_ttft->context_tokens, own.prefill_tokens,
                               queued_s, share_text(own)),
                   cause_class(own, first_ttft->ttft_s, queued_s)});
  }
  auto decode_failure = [&](const std::optional<ReplyRecord>& r, const char* kind, const std::string& text) {
    ReplyBreakdown own = explain_reply(s, cost, *r, ReplyPhase::decode);
    const double steps = std::max(1.0, static_cast<double>(r->output_tokens - 1));
    for (BreakdownRow& row : own.rows) row.time_s /= steps;  // per token
    out.push_back({kind, r->start_s, fmt::format("{}; per token, {}", text, share_text(own)),
                   cause_class(own, r->tpot_s, 0.0)});
  };
  if (first_tpot) {
    decode_failure(first_tpot, "slo_tpot",
                   fmt::format("TPOT {:.4f} s > {:.4f} s (context {} tokens)", first_tpot->tpot_s, s.slo.tpot_s,
                               first_tpot->context_tokens));
  }
  if (first_speech) {
    decode_failure(first_speech, "speech_realtime",
                   fmt::format("tokens come every {:.4f} s but are spoken every {:.4f} s", first_speech->tpot_s,
                               speech_s_per_token(*first_speech)));
  }
  for (const ObjectiveResult& judged_one : judged.results) {
    const Objective& o = judged_one.objective;
    const ObjectiveSpan* span = judged_one.failure();
    if (o.rule == Objective::Rule::every_reply || span == nullptr || !span->first_over) continue;
    const ReplyRecord& first = *span->first_over;
    const std::string metric = o.metric == Objective::Metric::ttft   ? "TTFT"
                               : o.metric == Objective::Metric::tpot ? "TPOT"
                                                                     : "end-to-end time";
    const std::string where =
        span == &judged_one.run
            ? fmt::format("over the run ({} replies, {} over {:.4f} s)", span->replies, span->over, o.limit_s)
            : fmt::format("in the window of minutes {:.2f} to {:.2f} ({} replies, {} over {:.4f} s; {} of {} windows "
                          "missed)",
                          span->start_s / 60.0, span->end_s / 60.0, span->replies, span->over, o.limit_s,
                          judged_one.windows_missed, judged_one.windows);
    const std::string figure =
        o.rule == Objective::Rule::percentile
            ? fmt::format("{} p{:g} {:.4f} s > {:.4f} s", metric, o.percentile, span->value_s, o.limit_s)
            : fmt::format("{} within {:.4f} s for {:.4f}% of replies < {:.4f}%", metric, o.limit_s,
                          span->attainment * 100.0, o.target * 100.0);
    const std::string text = fmt::format("{} {}; first over: {:.4f} s at minute {:.2f} (context {} tokens)", figure,
                                         where, metric_value(o.metric, first), first.start_s / 60.0,
                                         first.context_tokens);
    // The phase that took most of the first late reply's time names the cause.
    const bool prefill = o.metric == Objective::Metric::ttft ||
                         (o.metric == Objective::Metric::e2e && first.ttft_s >= first.e2e_s - first.ttft_s);
    if (prefill) {
      const ReplyBreakdown own = explain_reply(s, cost, first, ReplyPhase::prefill);
      out.push_back({o.failure_kind, first.start_s, fmt::format("{}; {}", text, share_text(own)),
                     cause_class(own, first.ttft_s, first.queue_s)});
    } else {
      decode_failure(span->first_over, o.failure_kind.c_str(), text);
    }
  }
  double slope = 0;
  if (const std::optional<ReplyRecord> r = queue.from(&slope)) {
    out.push_back({"unstable_queue", r->start_s,
                   fmt::format("arrivals outpace service: from here every request waits over {:.3f} s, and the wait "
                               "grows by {:.1f} s per minute",
                               s.slo.ttft_s, slope * 60.0),
                   "queueing"});
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const FailureRecord& a, const FailureRecord& b) { return a.time_s < b.time_s; });
  return out;
}

}  // namespace convsim
