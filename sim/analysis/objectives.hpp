#pragma once
// Objectives as users state them (slo: in the scenario), judged over served replies:
// over the whole run and, with slo.window_min, over sliding windows.
//
// Rules:
// - every_reply: every reply within the limit (ttft_s and tpot_s at attainment 1,
//   speech_realtime). The failure point is the first reply over it.
// - attainment: at least `target` of the replies within the limit (ttft_s, tpot_s
//   with slo.attainment < 1).
// - percentile: the `percentile` of the metric at or below the limit (ttft_p99_s...),
//   percentiles by linear interpolation between closest ranks, as in stats.hpp.
// A window holds the replies starting in [k * step, k * step + window), k = 0, 1, ...
// up to the last reply; windows without replies are not judged. For the attainment and
// percentile rules the failure point is the first window missed (the whole run when
// there are no windows), placed at the first reply over the limit in it.

#include <optional>
#include <string>
#include <vector>

#include "sim/accounting/reply_record.hpp"
#include "sim/scenario/scenario.hpp"

namespace convsim {

struct Objective {
  enum class Rule { every_reply, attainment, percentile };
  enum class Metric { ttft, tpot, e2e, speech };  // speech: tokens at least as fast as spoken
  std::string name;          // ttft_s, tpot_s, speech_realtime, ttft_p99_s, ...
  std::string failure_kind;  // slo_ttft, slo_ttft_attainment, slo_ttft_p99, speech_realtime, ...
  Rule rule = Rule::every_reply;
  Metric metric = Metric::ttft;
  double limit_s = 0;        // not used by speech (each reply's own speaking pace)
  double percentile = 0;     // percentile rule, in (0, 100)
  double target = 1;         // attainment rule: the fraction of replies within the limit
};

// The scenario's objectives: ttft_s, tpot_s (when they apply), speech_realtime (for
// conversations), then the percentile objectives in file order.
std::vector<Objective> objectives_of(const Scenario& scenario);

// Whether a served reply is within the objective's limit.
bool within(const Objective& objective, const ReplyRecord& reply);

// The metric's value of a reply (speech: its seconds per token; see within).
double metric_value(Objective::Metric metric, const ReplyRecord& reply);

// Quantile q in [0, 1] of sorted values, interpolated between closest ranks (the
// rule of stats.hpp). REQUIRES: !sorted.empty().
double sorted_quantile(const std::vector<double>& sorted, double q);

// One objective over one span of replies (a window or the run).
struct ObjectiveSpan {
  double start_s = 0;
  double end_s = 0;
  long replies = 0;
  long over = 0;             // replies over the limit
  double attainment = 1;     // (replies - over) / replies
  double value_s = 0;        // percentile rule: the percentile's value
  bool met = true;           // false without replies
  std::optional<ReplyRecord> first_over;
};

struct ObjectiveResult {
  Objective objective;
  ObjectiveSpan run;                         // every reply of the run
  long windows = 0;                          // windows judged (with replies)
  long windows_missed = 0;
  std::optional<ObjectiveSpan> first_missed;  // the first window missed
  // The failure point: the first window missed, else (without windows, or when no
  // window is missed but the run is) the run; nullopt when met.
  const ObjectiveSpan* failure() const;
  bool met() const { return run.met && windows_missed == 0; }
};

// A window of one objective, for windows.csv.
struct WindowRow {
  std::string objective;
  bool percentile = false;  // value_s is the window's percentile
  ObjectiveSpan span;
};

// Reads served replies of kind "reply" in order of start time and judges every
// objective of the scenario. Memory: the values of the run for the percentile
// objectives (8 bytes per reply and objective) and the replies of the open windows.
class ObjectiveJudge {
 public:
  explicit ObjectiveJudge(const Scenario& scenario);
  // REQUIRES: replies come in non-decreasing start_s; only served replies.
  void add(const ReplyRecord& reply);
  // The results, in the order of objectives_of(); ends the judging.
  std::vector<ObjectiveResult> finish();
  // Every window judged, objective by objective in order of their start (after finish()).
  const std::vector<WindowRow>& windows() const { return rows_; }

 private:
  struct Open {
    long index = 0;  // k: starts at k * step
    std::vector<ReplyRecord> replies;
  };
  void close(Open& window);

  std::vector<Objective> objectives_;
  double window_s_ = 0;
  double step_s_ = 0;
  std::vector<Open> open_;  // windows still taking replies, oldest first
  long next_index_ = 0;     // the next window to open
  std::vector<std::vector<double>> run_values_;  // per objective: the metric of every reply
  std::vector<long> run_over_;
  std::vector<std::optional<ReplyRecord>> run_first_over_;
  long run_replies_ = 0;
  double first_start_s_ = 0, last_start_s_ = 0;
  std::vector<ObjectiveResult> results_;  // windows counted as they close
  std::vector<std::vector<WindowRow>> rows_by_objective_;
  std::vector<WindowRow> rows_;
};

}  // namespace convsim
