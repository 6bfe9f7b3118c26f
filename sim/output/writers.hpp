#pragma once
// Output files of a run. Writers only format records; they compute nothing new
// except the summary statistics taken from sim/accounting/.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/accounting/records.hpp"
#include "sim/accounting/turn_order.hpp"
#include "sim/analysis/failures.hpp"
#include "sim/scenario/scenario.hpp"

namespace convsim {

// The row order of turns.csv: TurnOrder (start time, session, turn).
using SortedTurns = SortedReplies<TurnOrder>;

// Every record in TurnOrder (sorted on disk beyond one chunk; see ReplyStore).
SortedTurns sorted_replies(const ReplyStore& replies);

// One row of the probe table: the first reply of session 0 starting at or after a
// probe minute.
struct ProbeRow {
  double minute = 0;
  std::optional<ReplyRecord> reply;  // none when no reply starts after the minute
};

std::vector<ProbeRow> probe_rows(SortedTurns& sorted, const Scenario& scenario);

// Human-brain reference: 20 W (Raichle & Gusnard, PNAS 99:10237, 2002) for the
// time the reply takes to speak.
inline constexpr double kBrainPowerW = 20.0;

void write_turns_csv(const std::string& path, SortedTurns& sorted, const Scenario& scenario);

// summary.json: the keys of the design contract, energy split, failure points,
// probe rows and run metadata (no wall time: the file is byte-identical across runs
// of the same scenario and seed).
nlohmann::ordered_json summary_json(const RunResult& result, SortedTurns& sorted, const Scenario& scenario);
// The same with the objectives already judged (judge_objectives).
nlohmann::ordered_json summary_json(const RunResult& result, SortedTurns& sorted, const Scenario& scenario,
                                    const JudgedObjectives& judged);

// summary.json's `objectives`: per objective its name, rule, limit_s, percentile or
// target, and over the run: replies, over (replies over the limit), attainment
// (the fraction within it), value_s (percentile rule), met; the windows judged and
// missed, the first window missed (start_min, end_min, attainment, value_s), and the
// minute of the first reply over the limit (a detail, not a failure point, unless
// the rule is every_reply).
nlohmann::ordered_json objectives_json(const std::vector<ObjectiveResult>& results);

// windows.csv (with slo.window_min): one row per objective and window with replies:
// objective, start_s, end_s, replies, over, attainment, value_s (percentile
// objectives; empty otherwise), met (1 or 0).
void write_windows_csv(const std::string& path, const std::vector<WindowRow>& windows);

void write_json(const std::string& path, const nlohmann::ordered_json& json);

// trace.json in the Chrome trace event format (chrome://tracing, ui.perfetto.dev):
// one process per node (links in a process of their own), one thread per GPU or
// link (and per lane of one carrying transfers at once: trace_lanes.hpp), a
// complete event ("ph": "X") per slice, times in microseconds.
void write_trace_json(const std::string& path, const RunResult& result, const Scenario& scenario);

// gpus.csv: per GPU and time bin (GpuTimeline): gpu, node, start_s, end_s, state
// (busy, communicating or idle: where most of the bin went), power_w (mean, idle
// included), utilisation (busy fraction), memory_bytes (peak; carried over bins
// without activity).
void write_gpus_csv(const std::string& path, const RunResult& result, const Scenario& scenario);

}  // namespace convsim
