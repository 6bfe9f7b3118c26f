#include "sim/output/writers.hpp"

#include <algorithm>
#include <future>
#include <cmath>
#include <iterator>
#include <map>
#include <stdexcept>
#include <vector>

#include <fmt/compile.h>
#include <fmt/format.h>

#include "sim/accounting/energy.hpp"
#include "sim/output/atomic_file.hpp"
#include "sim/output/csv.hpp"
#include "sim/output/number_text.hpp"
#include "sim/output/trace_lanes.hpp"
#include "sim/analysis/failures.hpp"
#include "sim/engine/simulation.hpp"
#include "sim/accounting/stats.hpp"
#include "sim/output/revision.hpp"

namespace convsim {
namespace {

constexpr double kJoulesPerWh = 3600.0;

std::string number(double v) {
  char text[32];
  return std::string(text, write_g9(text, v));
}

// null for every statistic of no values: a run that served no reply has no TTFT,
// not a TTFT of 0.
nlohmann::ordered_json percentiles_json(const Percentiles& p) {
  if (p.count == 0) return {{"mean", nullptr}, {"p50", nullptr}, {"p90", nullptr}, {"p99", nullptr}};
  return {{"mean", p.mean}, {"p50", p.p50}, {"p90", p.p90}, {"p99", p.p99}};
}

nlohmann::ordered_json percentiles_json(ExactPercentiles& values) { return percentiles_json(values.result()); }

std::string speaker_name(const ReplyRecord& r, const Scenario& s) {
  if (!s.conversation || r.speaker < 0) return "";
  return s.conversation->speakers[r.speaker].name;
}

}  // namespace

SortedTurns sorted_replies(const ReplyStore& replies) {
  return replies.sorted([](const ReplyRecord&) { return true; }, TurnOrder{});
}

std::vector<ProbeRow> probe_rows(SortedTurns& sorted, const Scenario& scenario) {
  std::vector<ProbeRow> rows;
  if (!scenario.conversation) return rows;
  for (double minute : scenario.conversation->probe_minutes) rows.push_back(ProbeRow{minute, std::nullopt});
  if (rows.empty()) return rows;
  sorted.for_each([&](const ReplyRecord& r) {
    if (r.session != 0 || r.kind != "reply") return;
    for (ProbeRow& row : rows) {
      if (!row.reply && r.start_s >= row.minute * 60.0) row.reply = r;
    }
  });
  return rows;
}

namespace {

// One turns.csv row (without the header), its last field's comma turned into '\n'.
void format_turn_row(fmt::memory_buffer& row, const ReplyRecord& r, const Scenario& scenario) {
  auto put = std::back_inserter(row);
  auto num = [&](double v) {  // straight into the buffer: at most 24 characters and the comma
    const std::size_t size = row.size();
    row.try_resize(size + 32);
    char* end = write_g9(row.data() + size, v);
    *end++ = ',';
    row.try_resize(static_cast<std::size_t>(end - row.data()));
  };
  auto text = [&](const std::string& field) { fmt::format_to(put, "{},", csv_field(field)); };
  auto served = [&](double v) { r.served ? num(v) : row.push_back(','); };
  fmt::format_to(put, "{},{},", r.session, r.turn);
  text(speaker_name(r, scenario));
  num(r.start_s);
  num(r.start_s / 60.0);
  fmt::format_to(put, "{},{},{},{},", r.context_tokens, r.prompt_tokens, r.cached_tokens, r.output_tokens);
  served(r.queue_s);
  served(r.ttft_s);
  served(r.tpot_s);
  served(r.e2e_s);
  num(r.energy_j);
  num(reply_facility_energy_j(r, scenario));
  num(r.flops);
  num(r.hbm_bytes);
  num(r.net_bytes);
  num(r.kv_bytes);
  num(r.peak_gpu_mem_bytes);
  fmt::format_to(put, "{},", slo_ok(r, scenario) ? 1 : 0);
  text(r.failure);
  fmt::format_to(put, "{},", r.replica);
  num(r.network_energy_j);
  num(r.human_speech_s);
  num(r.reply_speech_s);
  text(r.kind);
  num(r.host_delay_s);
  num(r.host_energy_j);
  num(r.reserved_energy_j);
  num(reply_it_energy_j(r));
  num(reply_all_in_facility_energy_j(r, scenario));
  num(r.gpu_s);
  num(r.reserved_gpu_s);
  num(reply_gco2e(r, scenario));
  num(reply_cost_usd(r, scenario));
  num(r.restore_energy_j);
  row[row.size() - 1] = '\n';
}

void format_turn_rows(fmt::memory_buffer& out, const ReplyRecord* first, const ReplyRecord* last,
                      const Scenario& scenario) {
  out.clear();
  for (const ReplyRecord* r = first; r != last; ++r) format_turn_row(out, *r, scenario);
}

// Records formatted per batch: half of each batch on a second thread. The text is
// the same as formatting row after row, in the same order.
constexpr std::size_t kTurnBatchRecords = 4'096;

}  // namespace

void write_turns_csv(const std::string& path, SortedTurns& sorted, const Scenario& scenario) {
  AtomicFile file(path);
  std::ostream& out = file.stream();
  out << "session,turn,speaker,start_s,minute,context_tokens,prompt_tokens,cached_tokens,output_tokens,"
         "queue_s,ttft_s,tpot_s,e2e_s,energy_j,facility_energy_j,flops,hbm_bytes,net_bytes,kv_bytes,"
         "peak_gpu_mem_bytes,slo_ok,failure,replica,network_energy_j,human_speech_s,reply_speech_s,kind,"
         "host_delay_s,host_energy_j,reserved_energy_j,it_energy_j,all_in_facility_energy_j,gpu_s,reserved_gpu_s,"
         "gco2e,cost_usd,restore_energy_j\n";
  std::vector<ReplyRecord> batch;
  batch.reserve(std::min(sorted.size(), kTurnBatchRecords));
  fmt::memory_buffer front, back;
  auto flush = [&] {
    const ReplyRecord* begin = batch.data();
    const ReplyRecord* middle = begin + batch.size() / 2;
    const ReplyRecord* end = begin + batch.size();
    std::future<void> first;
    if (begin != middle) {
      first = std::async(std::launch::async, [&front, begin, middle, &scenario] {
        format_turn_rows(front, begin, middle, scenario);
      });
    } else {
      front.clear();
    }
    format_turn_rows(back, middle, end, scenario);
    if (first.valid()) first.get();  // rethrows what the thread threw
    out.write(front.data(), static_cast<std::streamsize>(front.size()));
    out.write(back.data(), static_cast<std::streamsize>(back.size()));
    batch.clear();
  };
  sorted.for_each([&](const ReplyRecord& r) {
    batch.push_back(r);
    if (batch.size() == kTurnBatchRecords) flush();
  });
  if (!batch.empty()) flush();
  file.commit();
}

nlohmann::ordered_json objectives_json(const std::vector<ObjectiveResult>& results) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const ObjectiveResult& r : results) {
    const Objective& o = r.objective;
    nlohmann::ordered_json j;
    j["name"] = o.name;
    j["rule"] = o.rule == Objective::Rule::every_reply  ? "every_reply"
                : o.rule == Objective::Rule::attainment ? "attainment"
                                                        : "percentile";
    if (o.metric != Objective::Metric::speech) j["limit_s"] = o.limit_s;
    if (o.rule == Objective::Rule::percentile) j["percentile"] = o.percentile;
    if (o.rule == Objective::Rule::attainment) j["target"] = o.target;
    j["replies"] = r.run.replies;
    j["over"] = r.run.over;
    // No reply judged: no attainment and no percentile (null), and the objective unmet.
    const bool judged = r.run.replies > 0;
    j["attainment"] = judged ? nlohmann::ordered_json(r.run.attainment) : nlohmann::ordered_json(nullptr);
    if (o.rule == Objective::Rule::percentile) {
      j["value_s"] = judged ? nlohmann::ordered_json(r.run.value_s) : nlohmann::ordered_json(nullptr);
    }
    j["met"] = r.met();
    j["windows"] = r.windows;
    j["windows_missed"] = r.windows_missed;
    if (r.first_missed) {
      nlohmann::ordered_json w = {{"start_min", r.first_missed->start_s / 60.0},
                                  {"end_min", r.first_missed->end_s / 60.0},
                                  {"attainment", r.first_missed->attainment}};
      if (o.rule == Objective::Rule::percentile) w["value_s"] = r.first_missed->value_s;
      j["first_missed_window"] = w;
    }
    if (r.run.first_over) j["first_over_minute"] = r.run.first_over->start_s / 60.0;
    out.push_back(j);
  }
  return out;
}

void write_windows_csv(const std::string& path, const std::vector<WindowRow>& windows) {
  std::ofstream out(path);
  if (!out) throw std::runtime_error(fmt::format("{}: cannot write file", path));
  out << "objective,start_s,end_s,replies,over,attainment,value_s,met\n";
  for (const WindowRow& w : windows) {
    out << w.objective << ',' << number(w.span.start_s) << ',' << number(w.span.end_s) << ',' << w.span.replies << ','
        << w.span.over << ',' << number(w.span.attainment) << ',' << (w.percentile ? number(w.span.value_s) : "") << ','
        << (w.span.met ? 1 : 0) << '\n';
  }
  out.flush();
  if (!out) throw std::runtime_error(fmt::format("{}: cannot write file", path));
}

nlohmann::ordered_json summary_json(const RunResult& result, SortedTurns& sorted, const Scenario& scenario) {
  return summary_json(result, sorted, scenario, judge_objectives(result, scenario));
}

nlohmann::ordered_json summary_json(const RunResult& result, SortedTurns& sorted, const Scenario& scenario,
                                    const JudgedObjectives& judged) {
  const std::size_t chunk_values = result.replies.chunk_records();
  ExactPercentiles ttft(chunk_values), tpot(chunk_values), e2e(chunk_values);
  ExactPercentiles reply_gpu_wh(chunk_values), reply_all_in_wh(chunk_values);
  double output_tokens = 0, context_tokens = 0, cached_tokens = 0;
  long served = 0, slo_met = 0, failed = 0, other = 0;
  sorted.for_each([&](const ReplyRecord& r) {
    if (r.kind != "reply") ++other;
    else if (!r.served) ++failed;
    output_tokens += r.served ? static_cast<double>(r.output_tokens) : 0.0;
    if (!r.served || r.kind != "reply") return;
    ++served;
    slo_met += slo_ok(r, scenario) ? 1 : 0;
    ttft.add(r.ttft_s);
    tpot.add(r.tpot_s);
    e2e.add(r.e2e_s);
    reply_gpu_wh.add(r.energy_j / kJoulesPerWh);
    reply_all_in_wh.add(reply_all_in_facility_energy_j(r, scenario) / kJoulesPerWh);
    context_tokens += static_cast<double>(r.context_tokens);
    cached_tokens += static_cast<double>(r.cached_tokens);
  });
  const EnergySplit e = energy_split(result, scenario);
  const double gpu_j = e.gpu_j();
  const double gpus_used = static_cast<double>(scenario.parallelism.gpus_used());
  nlohmann::ordered_json j;
  j["complete"] = true;  // the file is written last: a folder without it holds an unfinished run
  j["scenario"] = scenario.name;
  j["replies"] = served;
  j["failed_replies"] = failed;
  j["other_requests"] = other;  // summaries and streamed-in chunks
  j["slo_met_fraction"] = served > 0 ? static_cast<double>(slo_met) / static_cast<double>(served) : 0.0;
  j["output_tokens_per_s"] = result.end_s > 0 ? output_tokens / result.end_s : 0.0;
  const double gpu_power_w_total = result.end_s > 0 ? metered_gpu_energy_j(result) / result.end_s : 0.0;
  j["gpu_power_w_mean"] = gpu_power_w_total / gpus_used;  // per GPU
  j["gpu_power_w_total"] = gpu_power_w_total;             // all GPUs in use, summed
  // Everything metered, at the power supplies' inlets: what a meter on the nodes'
  // feeds (and the fabrics') reads on average over the run.
  j["it_power_w_mean"] = result.end_s > 0 ? e.it_j() / result.end_s : 0.0;
  auto per_token = [output_tokens](double energy_j) { return output_tokens > 0 ? energy_j / output_tokens : 0.0; };
  j["energy_per_output_token_j"] = per_token(gpu_j);  // = gpu_energy_per_output_token_j
  j["gpu_energy_per_output_token_j"] = per_token(gpu_j);
  j["it_energy_per_output_token_j"] = per_token(e.it_j());
  j["facility_energy_per_output_token_j"] = per_token(e.facility_j());
  j["ttft_s"] = percentiles_json(ttft);
  j["tpot_s"] = percentiles_json(tpot);
  j["e2e_s"] = percentiles_json(e2e);
  j["itl_s"] = percentiles_json(result.inter_token_s.percentiles());
  j["energy_j"] = {{"gpu_active", e.gpu_active_j}, {"gpu_idle", e.gpu_idle_j},     {"network", e.network_j},
                   {"host", e.host_j},             {"switches", e.switch_j},        {"optics", e.optics_j},
                   {"psu_loss", e.psu_loss_j},
                   {"it", e.it_j()},
                   {"pue_overhead", e.pue_overhead_j()}, {"facility", e.facility_j()}, {"total", e.facility_j()}};
  j["energy_attribution_j"] = {
      {"served", e.served_j}, {"reserved", e.reserved_j}, {"unattributed", e.unattributed_j}};
  // Per served reply, as per-prompt figures are published: its GPUs alone, and its
  // whole bill (the turns' all_in_facility_energy_j).
  j["reply_gpu_energy_wh"] = percentiles_json(reply_gpu_wh);
  j["reply_all_in_facility_energy_wh"] = percentiles_json(reply_all_in_wh);
  const double facility_kwh = e.facility_j() / 3.6e6;
  const double gpu_hours = gpus_used * result.end_s / 3600.0;
  j["carbon"] = {{"grid_region", scenario.cluster.grid_region},
                 {"grid_gco2e_per_kwh", scenario.cluster.grid_gco2e_per_kwh},
                 {"gco2e", facility_kwh * scenario.cluster.grid_gco2e_per_kwh}};
  j["cost_usd"] = {{"usd_per_kwh", scenario.cluster.usd_per_kwh},
                   {"gpu_hour_usd", scenario.cluster.gpu_hour_usd},
                   {"energy", facility_kwh * scenario.cluster.usd_per_kwh},
                   {"gpu_hours", gpu_hours * scenario.cluster.gpu_hour_usd},
                   {"total", facility_kwh * scenario.cluster.usd_per_kwh + gpu_hours * scenario.cluster.gpu_hour_usd}};
  // The GPUs' operating point (models/clocks.hpp): the board limit and full clock
  // unless the scenario caps power or locks the clock.
  const GpuSpec& gpu = scenario.cluster.gpu;
  j["gpu_operating_point"] = {{"power_limit_w", gpu.power_limit_w()},
                              {"compute_clock_fraction", gpu.compute_clock_fraction}};
  // Under a cap each stage runs at its own clock: their mean over compute time.
  double compute_s = 0, clock_compute_s = 0;
  for (const GpuMeter& m : result.gpus) {
    compute_s += m.compute_s;
    clock_compute_s += m.clock_compute_s;
  }
  const double busy_clock = compute_s > 0 ? clock_compute_s / compute_s : gpu.compute_clock_fraction;
  j["gpu_operating_point"]["busy_clock_fraction_mean"] = busy_clock;
  if (gpu.max_sm_clock_mhz > 0) {
    j["gpu_operating_point"]["compute_clock_mhz"] = gpu.compute_clock_fraction * gpu.max_sm_clock_mhz;
    j["gpu_operating_point"]["busy_clock_mhz_mean"] = busy_clock * gpu.max_sm_clock_mhz;
  }
  j["failures"] = nlohmann::ordered_json::array();
  const CostModel cost(scenario);
  for (const FailureRecord& f : failure_points(result, scenario, cost, judged)) {
    j["failures"].push_back({{"kind", f.kind},
                             {"time_s", f.time_s},
                             {"minute", f.time_s / 60.0},
                             {"cause_class", f.cause_class},
                             {"cause", f.cause}});
  }
  j["kv_cache"] = {{"hit_rate", context_tokens > 0 ? cached_tokens / context_tokens : 0.0},
                   {"evictions", result.kv_evictions},
                   {"preemptions", result.preemptions},
                   {"offloads", result.kv_offloads},
                   {"restores", result.kv_restores},
                   {"tier_drops", result.kv_tier_drops},
                   {"transfer_bytes", result.kv_transfer_bytes.value()},
                   {"handoff_bytes", result.kv_handoff_bytes.value()}};
  if (scenario.serving.prefix_caching) {
    const auto rate = [](long part, long whole) { return whole > 0 ? static_cast<double>(part) / static_cast<double>(whole) : 0.0; };
    j["kv_cache"]["prefix_cache"] = {
        {"token_hit_rate", rate(result.prefix_hit_tokens, result.prefix_lookup_tokens)},
        {"block_hit_rate", rate(result.prefix_hit_blocks, result.prefix_lookup_blocks)},
        {"lookup_tokens", result.prefix_lookup_tokens},
        {"hit_tokens", result.prefix_hit_tokens},
        {"lookup_blocks", result.prefix_lookup_blocks},
        {"hit_blocks", result.prefix_hit_blocks},
        {"evicted_blocks", result.prefix_evicted_blocks},
        {"demoted_blocks", result.prefix_demoted_blocks},
        {"restored_blocks", result.prefix_restored_blocks}};
  }
  j["probes"] = nlohmann::ordered_json::array();
  for (const ProbeRow& row : probe_rows(sorted, scenario)) {
    nlohmann::ordered_json p = {{"minute", row.minute}};
    if (row.reply && row.reply->served) {
      const ReplyRecord& r = *row.reply;
      p["reply_minute"] = r.start_s / 60.0;
      p["context_tokens"] = r.context_tokens;
      p["cached_tokens"] = r.cached_tokens;
      p["ttft_s"] = r.ttft_s;
      p["e2e_s"] = r.e2e_s;
      p["energy_wh"] = (r.energy_j + r.network_energy_j) / kJoulesPerWh;
      p["gpu_energy_wh"] = r.energy_j / kJoulesPerWh;
      p["it_energy_wh"] = reply_it_energy_j(r) / kJoulesPerWh;
      p["facility_energy_wh"] = reply_facility_energy_j(r, scenario) / kJoulesPerWh;
      p["reserved_energy_wh"] = r.reserved_energy_j / kJoulesPerWh;
      p["all_in_it_energy_wh"] = (reply_it_energy_j(r) + r.reserved_energy_j) / kJoulesPerWh;
      p["all_in_facility_energy_wh"] = reply_all_in_facility_energy_j(r, scenario) / kJoulesPerWh;
      p["gco2e"] = reply_gco2e(r, scenario);
      p["cost_usd"] = reply_cost_usd(r, scenario);
      p["brain_energy_wh"] = kBrainPowerW * r.reply_speech_s / kJoulesPerWh;
    } else if (row.reply) {
      p["failure"] = row.reply->failure;
    }
    j["probes"].push_back(p);
  }
  j["slo"] = {{"ttft_s", scenario.slo.ttft_s}, {"tpot_s", scenario.slo.tpot_s}};
  nlohmann::ordered_json catalog_files = nlohmann::ordered_json::array();
  for (const auto& [file, hash] : scenario.catalog_files) catalog_files.push_back({{"file", file}, {"hash", hash}});
  j["objectives"] = objectives_json(judged.results);
  j["run"] = {{"convsim_version", CONVSIM_VERSION},
              {"git_revision", git_revision()},
              {"scenario_hash", scenario.resolved_hash},
              {"scenario_file", scenario.origin_path},
              {"scenario_file_hash", scenario.origin_text_hash},
              {"overrides", scenario.overrides},
              {"catalog_files", catalog_files},
              {"seed", scenario.seed},
              {"simulated_s", result.end_s},
              {"iterations", result.iterations},
              {"simgrid_activities", result.activities},
              {"gpus", scenario.parallelism.gpus_used()}};
  return j;
}

void write_gpus_csv(const std::string& path, const RunResult& result, const Scenario& scenario) {
  AtomicFile file(path);
  std::ostream& out = file.stream();
  out << "gpu,node,start_s,end_s,state,power_w,utilisation,memory_bytes\n";
  const GpuTimeline& t = result.timeline;
  const double bin_s = t.bin_s();
  const std::size_t bins = static_cast<std::size_t>(std::ceil(result.end_s / bin_s));
  for (int gpu = 0; gpu < t.gpus(); ++gpu) {
    const double idle_w = result.gpus[static_cast<std::size_t>(gpu)].idle_power_w;
    double memory_bytes = 0;
    const std::vector<GpuTimeline::Bin> gpu_bins = t.bins(gpu, bin_s);
    for (std::size_t i = 0; i < bins; ++i) {
      const GpuTimeline::Bin b = i < gpu_bins.size() ? gpu_bins[i] : GpuTimeline::Bin{};
      const double start_s = static_cast<double>(i) * bin_s;
      const double width_s = std::min(bin_s, result.end_s - start_s);
      if (width_s <= 0) break;
      const double idle_s = std::max(0.0, width_s - b.busy_s - b.communicating_s);
      const char* state = b.busy_s >= std::max(b.communicating_s, idle_s)  ? "busy"
                          : b.communicating_s >= idle_s                     ? "communicating"
                                                                            : "idle";
      if (b.memory_bytes > 0) memory_bytes = b.memory_bytes;
      out << gpu << ',' << gpu / scenario.cluster.gpus_per_node << ',' << number(start_s) << ','
          << number(start_s + width_s) << ',' << state << ',' << number((b.active_energy_j + idle_w * idle_s) / width_s)
          << ',' << number(b.busy_s / width_s) << ',' << number(memory_bytes) << '\n';
    }
  }
  file.commit();
}

void write_trace_json(const std::string& path, const RunResult& result, const Scenario& scenario) {
  AtomicFile file(path);
  std::ostream& out = file.stream();
  std::map<std::string, int> threads;  // track -> thread id, in order of first use
  const int links_pid = scenario.cluster.nodes;
  auto pid_of = [&](const std::string& track) {
    if (track.rfind("gpu ", 0) == 0) return std::stoi(track.substr(4)) / scenario.cluster.gpus_per_node;
    return links_pid;
  };
  out << "{\"displayTimeUnit\": \"ms\", \"otherData\": {\"scenario\": " << nlohmann::json(scenario.name).dump()
      << ", \"truncated\": " << (result.trace_truncated ? "true" : "false") << "},\n\"traceEvents\": [\n";
  bool first = true;
  auto separator = [&]() -> const char* {
    const char* s = first ? "" : ",\n";
    first = false;
    return s;
  };
  for (int node = 0; node <= links_pid; ++node) {
    const std::string name = node == links_pid ? "links" : fmt::format("node {}", node);
    out << separator() << fmt::format(R"({{"ph": "M", "name": "process_name", "pid": {}, "args": {{"name": "{}"}}}})",
                                      node, name);
  }
  const std::vector<int> lanes = trace_lanes(result.trace);
  for (std::size_t k = 0; k < result.trace.size(); ++k) {
    const TraceSlice& slice = result.trace[k];
    const std::string thread = lane_name(slice.track, lanes[k]);
    auto [it, added] = threads.emplace(thread, static_cast<int>(threads.size()));
    if (added) {
      out << separator()
          << fmt::format(R"({{"ph": "M", "name": "thread_name", "pid": {}, "tid": {}, "args": {{"name": "{}"}}}})",
                         pid_of(slice.track), it->second, thread);
    }
    out << separator()
        << fmt::format(R"({{"ph": "X", "name": "{}", "pid": {}, "tid": {}, "ts": {:.3f}, "dur": {:.3f}, "args": {}}})",
                       slice.name, pid_of(slice.track), it->second, slice.start_s * 1e6, slice.duration_s * 1e6,
                       slice.bytes > 0 ? fmt::format(R"({{"bytes": {:.0f}}})", slice.bytes)
                                       : fmt::format(R"({{"tokens": {}, "sequences": {}}})", slice.tokens,
                                                     slice.sequences));
  }
  // A track per conversation: each request as an async span from its arrival to its
  // last token (Perfetto groups async events by category and id).
  std::size_t spans = 0;
  for (const ReplyRecord& r : result.replies) {
    if (!r.served || r.start_s + r.e2e_s < result.trace_from_s || r.start_s > result.trace_to_s) continue;
    if (spans++ >= kMaxTraceSlices) continue;
    const std::string name = fmt::format("{} {} of session {}", r.kind, r.turn, r.session);
    out << separator()
        << fmt::format(R"({{"ph": "b", "cat": "conversation", "name": "{}", "id": {}, "pid": {}, "ts": {:.3f}, )"
                       R"("args": {{"context_tokens": {}, "cached_tokens": {}, "ttft_s": {:.6f}}}}})",
                       name, r.session, links_pid + 1, r.start_s * 1e6, r.context_tokens, r.cached_tokens, r.ttft_s);
    out << separator()
        << fmt::format(R"({{"ph": "e", "cat": "conversation", "name": "{}", "id": {}, "pid": {}, "ts": {:.3f}}})", name,
                       r.session, links_pid + 1, (r.start_s + r.e2e_s) * 1e6);
  }
  out << separator()
      << fmt::format(R"({{"ph": "M", "name": "process_name", "pid": {}, "args": {{"name": "conversations"}}}})",
                     links_pid + 1);
  out << "\n]}\n";
  file.commit();
}

void write_json(const std::string& path, const nlohmann::ordered_json& json) {
  write_file_atomically(path, json.dump(2) + "\n");
}

}  // namespace convsim
