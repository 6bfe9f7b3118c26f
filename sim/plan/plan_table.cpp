#include "sim/plan/plan_table.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "sim/plan/pareto.hpp"

namespace convsim {
namespace {

using Json = nlohmann::ordered_json;

constexpr double kSecondsPerHour = 3600.0;

std::string number(double v) { return fmt::format("{:.9g}", v); }

double num(const Json& j, const char* key) { return j.contains(key) ? j[key].get<double>() : 0.0; }

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (const char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// The objective named `name` in a summary, or nullptr.
const Json* summary_objective(const Json& summary, const std::string& name) {
  if (!summary.contains("objectives")) return nullptr;
  for (const Json& o : summary["objectives"]) {
    if (o["name"].get<std::string>() == name) return &o;
  }
  return nullptr;
}

// A number of summary.json that is null where it is undefined (no reply served).
std::optional<double> defined(const Json& j) {
  if (j.is_null()) return std::nullopt;
  return j.get<double>();
}

// The run's value of a latency key (ttft_p99_s): the objective's when the scenario
// has it, else summary.json's percentile; none when no reply was served.
std::optional<double> latency_value(const Json& summary, const std::string& key) {
  if (const Json* o = summary_objective(summary, key); o && o->contains("value_s")) return defined((*o)["value_s"]);
  const std::size_t first = key.find('_'), last = key.rfind('_');
  const std::string metric = key.substr(0, first) + "_s", q = key.substr(first + 1, last - first - 1);
  if (!summary.contains(metric) || !summary[metric].contains(q)) return std::nullopt;
  return defined(summary[metric][q]);
}

std::string layout_columns(const PlanRow& r) {
  const Candidate& c = r.candidate;
  const bool pool = c.prefill_replicas > 0;
  return fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}", csv_field(candidate_name(c)), c.gpu,
                     c.engine, c.nodes, r.gpus, c.tp, c.pp, c.ep, c.cp, r.dp, c.prefill_replicas,
                     pool ? fmt::format("{}", pool_tp(c)) : "", pool ? fmt::format("{}", pool_pp(c)) : "",
                     pool ? fmt::format("{}", pool_cp(c)) : "", pool ? fmt::format("{}", pool_ep(c)) : "",
                     c.max_batch_seqs, c.prefill_chunk_tokens, c.kv_between_turns);
}

const char* kLayoutHeader =
    "candidate,gpu,engine,nodes,gpus,tp,pp,ep,cp,dp,prefill_replicas,prefill_tp,prefill_pp,prefill_cp,prefill_ep,"
    "max_batch_seqs,"
    "prefill_chunk_tokens,kv_between_turns";

std::string optional_number(const std::optional<double>& v) { return v ? number(*v) : ""; }

// A frontier table: the layout, the latency objective, the frontier's own cost
// first and the other cost beside it, whether every objective was met.
std::string frontier_csv(const std::vector<PlanRow>& rows, const std::vector<PlanFigures>& figures,
                         const std::vector<std::size_t>& frontier, const std::string& objective, bool usd_first) {
  const char* costs =
      usd_first ? "usd_per_m_output_tokens,energy_per_reply_j" : "energy_per_reply_j,usd_per_m_output_tokens";
  std::string csv = fmt::format("{},{},{},objectives_met\n", kLayoutHeader, objective, costs);
  for (const std::size_t i : frontier) {
    const PlanFigures& f = figures[i];
    const std::string energy = number(f.energy_per_reply_j), usd = optional_number(f.usd_per_m_output_tokens);
    csv += fmt::format("{},{},{},{},{}\n", layout_columns(rows[i]), optional_number(f.latency_s), usd_first ? usd : energy,
                       usd_first ? energy : usd, f.objectives_met ? 1 : 0);
  }
  return csv;
}

}  // namespace

PlanFigures plan_figures(const PlanRow& row, const PlanSpec& plan) {
  PlanFigures f;
  if (!row.summary) return f;
  const Json& s = *row.summary;
  f.replies = s.value("replies", 0L);
  f.failed_replies = s.value("failed_replies", 0L);
  f.latency_s = latency_value(s, plan.objective);
  f.energy_per_reply_j = f.replies > 0 ? num(s["energy_j"], "total") / static_cast<double>(f.replies) : 0.0;
  const double simulated_s = num(s["run"], "simulated_s");
  f.gpu_hours = num(s["run"], "gpus") * simulated_s / kSecondsPerHour;
  f.output_tokens_per_s = num(s, "output_tokens_per_s");
  f.throughput_per_gpu = row.gpus > 0 ? f.output_tokens_per_s / row.gpus : 0.0;
  for (const auto& [gpu, price] : plan.gpu_hour_usd) {
    if (gpu != row.candidate.gpu) continue;
    // The hardware's time at the plan's price, and the run's energy at the facility's
    // meter at cluster.usd_per_kwh (summary.json cost_usd.energy).
    f.usd = f.gpu_hours * price + num(s["cost_usd"], "energy");
    const double tokens = f.output_tokens_per_s * simulated_s;
    if (tokens > 0) f.usd_per_m_output_tokens = *f.usd / (tokens / 1e6);
  }
  f.objectives_met = true;
  for (const Json& o : s.value("objectives", Json::array())) f.objectives_met = f.objectives_met && o["met"].get<bool>();
  return f;
}

PlanTables plan_tables(const std::vector<PlanRow>& rows, const PlanSpec& plan, const std::vector<Objective>& objectives,
                       const std::string& goal) {
  PlanTables t;
  bool frontier_is_objective = false;
  std::string header = std::string(kLayoutHeader) +
                       ",status,reason,memory_need_bytes,hbm_bytes,latency_floor_s,replies,failed_replies,first_failure";
  for (const Objective& o : objectives) {
    header += "," + o.name + "_attainment";
    if (o.rule == Objective::Rule::percentile) header += "," + o.name;
    frontier_is_objective = frontier_is_objective || (o.rule == Objective::Rule::percentile && o.name == plan.objective);
  }
  if (!frontier_is_objective) header += "," + plan.objective;
  header += ",objectives_met,energy_per_reply_j,gpu_hours,usd,usd_per_m_output_tokens,output_tokens_per_s,"
            "throughput_per_gpu_tokens_per_s\n";
  t.plan_csv = header;
  std::vector<PlanFigures> figures;
  for (const PlanRow& r : rows) {
    const PlanFigures f = plan_figures(r, plan);
    figures.push_back(f);
    std::string line = fmt::format("{},{},{},{},{},{}", layout_columns(r), r.status, csv_field(r.reason),
                                   number(r.memory_need_bytes), number(r.hbm_bytes), number(r.latency_floor_s));
    if (!r.summary) {
      line += ",,,";
      for (const Objective& o : objectives) line += o.rule == Objective::Rule::percentile ? ",," : ",";
      line += frontier_is_objective ? "" : ",";
      line += ",,,,,,,\n";
      t.plan_csv += line;
      continue;
    }
    const Json& s = *r.summary;
    const std::string first_failure = s["failures"].empty() ? "" : s["failures"][0]["kind"].get<std::string>();
    line += fmt::format(",{},{},{}", f.replies, f.failed_replies, first_failure);
    for (const Objective& o : objectives) {
      const Json* j = summary_objective(s, o.name);
      line += "," + (j ? optional_number(defined((*j)["attainment"])) : "");
      if (o.rule == Objective::Rule::percentile) line += "," + (j ? optional_number(defined((*j)["value_s"])) : "");
    }
    if (!frontier_is_objective) line += "," + optional_number(f.latency_s);
    line += fmt::format(",{},{},{},{},{},{},{}\n", f.objectives_met ? 1 : 0, number(f.energy_per_reply_j),
                        number(f.gpu_hours), optional_number(f.usd), optional_number(f.usd_per_m_output_tokens),
                        number(f.output_tokens_per_s), number(f.throughput_per_gpu));
    t.plan_csv += line;
  }

  // The frontiers, among the candidates that served every reply (and, for dollars,
  // have a price).
  std::vector<std::size_t> eligible;
  std::vector<ParetoPoint> by_energy, by_usd;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (!rows[i].summary || !figures[i].served_all() || !figures[i].latency_s) continue;
    eligible.push_back(i);
    by_energy.push_back({i, *figures[i].latency_s, figures[i].energy_per_reply_j});
    if (const auto usd = figures[i].usd_per_m_output_tokens) by_usd.push_back({i, *figures[i].latency_s, *usd});
  }
  t.frontier = pareto_frontier(by_energy);
  t.usd_frontier = pareto_frontier(by_usd);
  t.pareto_csv = frontier_csv(rows, figures, t.frontier, plan.objective, false);
  t.pareto_usd_csv = frontier_csv(rows, figures, t.usd_frontier, plan.objective, true);

  // The top: served every reply and met every objective, ranked by the goal.
  std::vector<std::size_t> qualified;
  for (const std::size_t i : eligible) {
    if (figures[i].objectives_met && (goal != "usd" || figures[i].usd_per_m_output_tokens)) qualified.push_back(i);
  }
  auto key = [&](std::size_t i) -> std::pair<double, double> {
    const PlanFigures& f = figures[i];
    if (goal == "gpus") return {static_cast<double>(rows[i].gpus), f.energy_per_reply_j};
    if (goal == "usd") return {f.usd_per_m_output_tokens.value_or(0.0), f.energy_per_reply_j};
    if (goal == "throughput_per_gpu") return {-f.throughput_per_gpu, f.energy_per_reply_j};
    return {f.energy_per_reply_j, 0.0};
  };
  std::stable_sort(qualified.begin(), qualified.end(), [&](std::size_t a, std::size_t b) { return key(a) < key(b); });
  if (qualified.size() > static_cast<std::size_t>(plan.top)) qualified.resize(static_cast<std::size_t>(plan.top));
  t.top = qualified;
  t.top_csv = "rank," + std::string(kLayoutHeader) + "," + plan.objective +
              ",energy_per_reply_j,gpu_hours,usd_per_m_output_tokens,throughput_per_gpu_tokens_per_s\n";
  for (std::size_t k = 0; k < t.top.size(); ++k) {
    const std::size_t i = t.top[k];
    const PlanFigures& f = figures[i];
    t.top_csv += fmt::format("{},{},{},{},{},{},{}\n", k + 1, layout_columns(rows[i]), optional_number(f.latency_s),
                             number(f.energy_per_reply_j), number(f.gpu_hours),
                             optional_number(f.usd_per_m_output_tokens), number(f.throughput_per_gpu));
  }
  return t;
}

}  // namespace convsim
