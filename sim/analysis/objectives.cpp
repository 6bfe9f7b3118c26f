#include "sim/analysis/objectives.hpp"

#include <algorithm>
#include <cmath>


namespace convsim {
namespace {

Objective::Metric metric_of(PercentileObjective::Metric m) {
  switch (m) {
    case PercentileObjective::Metric::ttft: return Objective::Metric::ttft;
    case PercentileObjective::Metric::tpot: return Objective::Metric::tpot;
    case PercentileObjective::Metric::e2e: return Objective::Metric::e2e;
  }
  return Objective::Metric::ttft;
}

// The span's figures from its replies' count, those over, and (percentile rule)
// their metric values.
ObjectiveSpan span_of(const Objective& o, double start_s, double end_s, long replies, long over,
                      std::vector<double>& values, std::optional<ReplyRecord> first_over) {
  ObjectiveSpan span;
  span.start_s = start_s;
  span.end_s = end_s;
  span.replies = replies;
  span.over = over;
  span.first_over = std::move(first_over);
  span.attainment = replies > 0 ? static_cast<double>(replies - over) / static_cast<double>(replies) : 1.0;
  switch (o.rule) {
    case Objective::Rule::every_reply: span.met = over == 0; break;
    case Objective::Rule::attainment: span.met = span.attainment >= o.target; break;
    case Objective::Rule::percentile:
      if (!values.empty()) {
        std::sort(values.begin(), values.end());
        span.value_s = sorted_quantile(values, o.percentile / 100.0);
      }
      span.met = span.value_s <= o.limit_s;
      break;
  }
  span.met = span.met && replies > 0;  // nothing served meets nothing
  return span;
}

}  // namespace

std::vector<Objective> objectives_of(const Scenario& s) {
  std::vector<Objective> out;
  const bool every = s.slo.attainment >= 1.0;
  auto limit = [&](const char* name, Objective::Metric metric, double limit_s) {
    Objective o;
    o.name = name;
    o.metric = metric;
    o.limit_s = limit_s;
    o.rule = every ? Objective::Rule::every_reply : Objective::Rule::attainment;
    o.target = s.slo.attainment;
    const std::string base = metric == Objective::Metric::ttft ? "slo_ttft" : "slo_tpot";
    o.failure_kind = every ? base : base + "_attainment";
    out.push_back(o);
  };
  if (s.slo.ttft_limit) limit("ttft_s", Objective::Metric::ttft, s.slo.ttft_s);
  if (s.slo.tpot_limit) limit("tpot_s", Objective::Metric::tpot, s.slo.tpot_s);
  if (s.conversation.has_value() && s.slo.speech_realtime) {
    Objective o;
    o.name = "speech_realtime";
    o.failure_kind = "speech_realtime";
    o.metric = Objective::Metric::speech;
    out.push_back(o);
  }
  for (const PercentileObjective& p : s.slo.percentiles) {
    Objective o;
    o.name = p.key;
    o.rule = Objective::Rule::percentile;
    o.metric = metric_of(p.metric);
    o.limit_s = p.limit_s;
    o.percentile = p.percentile;
    // slo_ttft_p99 from ttft_p99_s
    o.failure_kind = "slo_" + p.key.substr(0, p.key.size() - 2);
    out.push_back(o);
  }
  return out;
}

double metric_value(Objective::Metric metric, const ReplyRecord& r) {
  switch (metric) {
    case Objective::Metric::ttft: return r.ttft_s;
    case Objective::Metric::tpot:
    case Objective::Metric::speech: return r.tpot_s;
    case Objective::Metric::e2e: return r.e2e_s;
  }
  return 0;
}

bool within(const Objective& o, const ReplyRecord& r) {
  if (o.metric == Objective::Metric::speech) {
    const double spoken_s_per_token =
        r.output_tokens > 0 ? r.reply_speech_s / static_cast<double>(r.output_tokens) : 0.0;
    return r.tpot_s <= spoken_s_per_token;
  }
  return metric_value(o.metric, r) <= o.limit_s;
}

double sorted_quantile(const std::vector<double>& sorted, double q) {
  const double position = q * static_cast<double>(sorted.size() - 1);
  const std::size_t below = static_cast<std::size_t>(std::floor(position));
  const std::size_t above = std::min(below + 1, sorted.size() - 1);
  const double fraction = position - static_cast<double>(below);
  return sorted[below] + (sorted[above] - sorted[below]) * fraction;
}

const ObjectiveSpan* ObjectiveResult::failure() const {
  if (first_missed) return &*first_missed;
  return run.met ? nullptr : &run;
}

ObjectiveJudge::ObjectiveJudge(const Scenario& scenario)
    : objectives_(objectives_of(scenario)),
      window_s_(scenario.slo.window_s),
      step_s_(scenario.slo.window_step_s),
      run_values_(objectives_.size()),
      run_over_(objectives_.size(), 0),
      run_first_over_(objectives_.size()),
      rows_by_objective_(objectives_.size()) {
  for (const Objective& o : objectives_) results_.push_back(ObjectiveResult{o, {}, 0, 0, std::nullopt});
}

void ObjectiveJudge::add(const ReplyRecord& r) {
  if (run_replies_ == 0) first_start_s_ = r.start_s;
  last_start_s_ = r.start_s;
  ++run_replies_;
  for (std::size_t i = 0; i < objectives_.size(); ++i) {
    const Objective& o = objectives_[i];
    if (o.rule == Objective::Rule::percentile) run_values_[i].push_back(metric_value(o.metric, r));
    if (!within(o, r)) {
      ++run_over_[i];
      if (!run_first_over_[i]) run_first_over_[i] = r;
    }
  }
  if (window_s_ <= 0) return;
  // Close the windows that end at or before this reply, open those that start by it.
  while (!open_.empty() && static_cast<double>(open_.front().index) * step_s_ + window_s_ <= r.start_s) {
    close(open_.front());
    open_.erase(open_.begin());
  }
  const long last_index = static_cast<long>(std::floor(r.start_s / step_s_));
  if (next_index_ <= last_index) {
    // Skip the windows that ended before this reply: they hold no reply.
    const long first_useful = static_cast<long>(std::floor((r.start_s - window_s_) / step_s_)) + 1;
    next_index_ = std::max(next_index_, first_useful);
    for (; next_index_ <= last_index; ++next_index_) open_.push_back(Open{next_index_, {}});
  }
  for (Open& w : open_) {
    if (static_cast<double>(w.index) * step_s_ <= r.start_s) w.replies.push_back(r);
  }
}

void ObjectiveJudge::close(Open& w) {
  if (w.replies.empty()) return;
  const double start_s = static_cast<double>(w.index) * step_s_;
  for (std::size_t i = 0; i < objectives_.size(); ++i) {
    const Objective& o = objectives_[i];
    long over = 0;
    std::optional<ReplyRecord> first_over;
    std::vector<double> values;
    for (const ReplyRecord& r : w.replies) {
      if (o.rule == Objective::Rule::percentile) values.push_back(metric_value(o.metric, r));
      if (!within(o, r)) {
        ++over;
        if (!first_over) first_over = r;
      }
    }
    const ObjectiveSpan span = span_of(o, start_s, start_s + window_s_, static_cast<long>(w.replies.size()), over,
                                       values, std::move(first_over));
    ObjectiveResult& result = results_[i];
    ++result.windows;
    if (!span.met) {
      ++result.windows_missed;
      if (!result.first_missed) result.first_missed = span;
    }
    rows_by_objective_[i].push_back(WindowRow{o.name, o.rule == Objective::Rule::percentile, span});
  }
}

std::vector<ObjectiveResult> ObjectiveJudge::finish() {
  for (Open& w : open_) close(w);
  open_.clear();
  for (std::size_t i = 0; i < objectives_.size(); ++i) {
    results_[i].run = span_of(objectives_[i], first_start_s_, last_start_s_, run_replies_, run_over_[i],
                              run_values_[i], run_first_over_[i]);
    std::vector<double>().swap(run_values_[i]);
    for (WindowRow& row : rows_by_objective_[i]) rows_.push_back(std::move(row));
  }
  return results_;
}

}  // namespace convsim
