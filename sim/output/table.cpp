#include "sim/output/table.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "sim/output/csv.hpp"

namespace convsim {
namespace {

using Json = nlohmann::ordered_json;

double num(const Json& j, const char* key) { return j.contains(key) && !j[key].is_null() ? j[key].get<double>() : 0.0; }

// A statistic that may be undefined (null in summary.json: no reply served), in
// `format`, or `none` in its place.
std::string stat(const Json& j, const char* key, const char* format, const char* none) {
  if (!j.contains(key) || j[key].is_null()) return none;
  return fmt::format(fmt::runtime(format), j[key].get<double>());
}

constexpr double kJoulesPerWh = 3600.0;
constexpr double kSecondsPerHour = 3600.0;

std::string first_failure(const Json& summary) {
  if (summary["failures"].empty()) return "none";
  const Json& f = summary["failures"][0];
  return fmt::format("{} at minute {:.1f}", f["kind"].get<std::string>(), f["minute"].get<double>());
}

// All energy of the run per reply served; 0 without replies.
double energy_per_reply_j(const Json& s) {
  const double replies = num(s, "replies");
  return replies > 0 ? num(s["energy_j"], "total") / replies : 0.0;
}

double gpu_hours(const Json& s) { return num(s["run"], "gpus") * num(s["run"], "simulated_s") / kSecondsPerHour; }

// A Markdown table cell: '|' escaped.
std::string markdown_cell(const std::string& text) {
  std::string out;
  for (const char c : text) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

}  // namespace

std::string run_table(const Json& s) {
  std::string out;
  out += fmt::format("scenario {}: {} replies served, {} failed\n", s["scenario"].get<std::string>(),
                     s["replies"].get<long>(), s["failed_replies"].get<long>());
  if (s["replies"].get<long>() == 0) {
    out += fmt::format("TTFT and TPOT: none, no reply was served | {:.1f} output tokens/s\n",
                       num(s, "output_tokens_per_s"));
  } else {
    out += fmt::format("TTFT p50 {:.3f} s  p99 {:.3f} s | TPOT p50 {:.4f} s  p99 {:.4f} s | {:.1f} output tokens/s\n",
                       num(s["ttft_s"], "p50"), num(s["ttft_s"], "p99"), num(s["tpot_s"], "p50"),
                       num(s["tpot_s"], "p99"), num(s, "output_tokens_per_s"));
  }
  const Json& e = s["energy_j"];
  out += fmt::format(
      "energy: GPU active {:.1f} Wh, GPU idle {:.1f} Wh, network {:.2f} Wh, host {:.1f} Wh, switches {:.1f} Wh, "
      "optics {:.1f} Wh, supply losses {:.1f} Wh (IT {:.1f} Wh), facility {:.1f} Wh; per output token {:.3f} J GPU, "
      "{:.3f} J facility; mean power {:.0f} W per GPU, IT {:.2f} kW at the wall\n",
      num(e, "gpu_active") / 3600, num(e, "gpu_idle") / 3600, num(e, "network") / 3600, num(e, "host") / 3600,
      num(e, "switches") / 3600, num(e, "optics") / 3600, num(e, "psu_loss") / 3600, num(e, "it") / 3600,
      num(e, "facility") / 3600, num(s, "gpu_energy_per_output_token_j"), num(s, "facility_energy_per_output_token_j"),
      num(s, "gpu_power_w_mean"), num(s, "it_power_w_mean") / 1e3);
  if (s["replies"].get<long>() > 0 && s.contains("reply_all_in_facility_energy_wh")) {
    const Json& gpu = s["reply_gpu_energy_wh"];
    const Json& all_in = s["reply_all_in_facility_energy_wh"];
    out += fmt::format(
        "per reply: GPU p50 {:.4f} Wh (mean {:.4f}); all-in at the facility p50 {:.4f} Wh (mean {:.4f}, p99 {:.4f})\n",
        num(gpu, "p50"), num(gpu, "mean"), num(all_in, "p50"), num(all_in, "mean"), num(all_in, "p99"));
  }
  if (s.contains("carbon")) {
    out += fmt::format("carbon {:.1f} gCO2e at {:.0f} gCO2e/kWh; cost ${:.2f} (energy ${:.2f}, GPU-hours ${:.2f})\n",
                       num(s["carbon"], "gco2e"), num(s["carbon"], "grid_gco2e_per_kwh"), num(s["cost_usd"], "total"),
                       num(s["cost_usd"], "energy"), num(s["cost_usd"], "gpu_hours"));
  }
  if (!s["probes"].empty()) {
    out += fmt::format("\n{:>7} {:>9} {:>9} {:>9} {:>9} {:>10} {:>10} {:>10} {:>10} {:>10}\n", "minute", "context",
                       "cached", "TTFT s", "e2e s", "GPU Wh", "IT Wh", "reserve Wh", "all-in Wh", "brain Wh");
    for (const Json& p : s["probes"]) {
      if (!p.contains("ttft_s")) {
        out += fmt::format("{:>7.0f} {:>9}\n", num(p, "minute"),
                           p.contains("failure") ? p["failure"].get<std::string>() : "no reply");
        continue;
      }
      out += fmt::format("{:>7.0f} {:>9} {:>9} {:>9.3f} {:>9.3f} {:>10.4f} {:>10.4f} {:>10.4f} {:>10.4f} {:>10.5f}\n",
                         num(p, "minute"), p["context_tokens"].get<long>(), p["cached_tokens"].get<long>(),
                         num(p, "ttft_s"), num(p, "e2e_s"), num(p, "gpu_energy_wh"), num(p, "it_energy_wh"),
                         num(p, "reserved_energy_wh"), num(p, "all_in_facility_energy_wh"),
                         num(p, "brain_energy_wh"));
    }
  }
  out += "\nfailure points:";
  if (s["failures"].empty()) out += " none";
  out += "\n";
  for (const Json& f : s["failures"]) {
    out += fmt::format("  {} at minute {:.2f}: {}\n", f["kind"].get<std::string>(), f["minute"].get<double>(),
                       f["cause"].get<std::string>());
  }
  return out;
}

std::string probe_comparison_table(const std::vector<std::pair<std::string, Json>>& variants) {
  if (variants.empty() || variants.front().second["probes"].empty()) return "";
  std::size_t width = 8;
  for (const auto& [name, summary] : variants) width = std::max(width, name.size());
  const Json& first = variants.front().second["probes"];
  std::string header = fmt::format("{:<{}}", "", width);
  for (const Json& p : first) header += fmt::format(" {:>11}", fmt::format("min {:.0f}", num(p, "minute")));
  struct Metric {
    const char* title;
    const char* key;
    const char* format;
  };
  const Metric metrics[] = {{"context tokens", "context_tokens", "{:>11.0f}"},
                            {"time to first token, s", "ttft_s", "{:>11.3f}"},
                            {"reply end to end, s", "e2e_s", "{:>11.3f}"},
                            {"reply GPU energy, Wh", "gpu_energy_wh", "{:>11.3f}"},
                            {"reply all-in IT energy (GPUs, host, switches, optics, network, reservation), Wh",
                             "all_in_it_energy_wh", "{:>11.3f}"},
                            {"reply all-in facility energy (IT x PUE), Wh", "all_in_facility_energy_wh", "{:>11.3f}"},
                            {"of which its share of the reservation between turns (IT), Wh", "reserved_energy_wh",
                             "{:>11.3f}"}};
  std::string out;
  for (const Metric& metric : metrics) {
    out += fmt::format("{}\n{}\n", metric.title, header);
    for (const auto& [name, summary] : variants) {
      out += fmt::format("{:<{}}", name, width);
      for (const Json& p : summary["probes"]) {
        if (p.contains(metric.key)) {
          out += " " + fmt::format(fmt::runtime(metric.format), p[metric.key].get<double>());
        } else {
          out += fmt::format(" {:>11}", p.contains("failure") ? p["failure"].get<std::string>() : "-");
        }
      }
      out += "\n";
    }
    out += "\n";
  }
  out += fmt::format("{:<{}}", "a human brain speaking the reply (20 W), Wh", width);
  for (const Json& p : first) {
    out += p.contains("brain_energy_wh") ? fmt::format(" {:>11.4f}", num(p, "brain_energy_wh")) : fmt::format(" {:>11}", "-");
  }
  return out + "\n";
}

std::string variant_table(const std::vector<std::pair<std::string, Json>>& variants) {
  std::string out =
      "| variant | TTFT p50 s | TTFT p99 s | TPOT p50 s | TPOT p99 s | Wh per reply | GPU Wh | total Wh | GPU-hours "
      "| first failure | cause |\n"
      "|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& [name, s] : variants) {
    const Json& e = s["energy_j"];
    const std::string cause = s["failures"].empty() ? "" : s["failures"][0]["cause"].get<std::string>();
    const std::string per_reply_wh =
        num(s, "replies") > 0 ? fmt::format("{:.4f}", energy_per_reply_j(s) / kJoulesPerWh) : std::string("-");
    out += fmt::format("| {} | {} | {} | {} | {} | {} | {:.1f} | {:.1f} | {:.2f} | {} | {} |\n",
                       markdown_cell(name), stat(s["ttft_s"], "p50", "{:.3f}", "-"),
                       stat(s["ttft_s"], "p99", "{:.3f}", "-"), stat(s["tpot_s"], "p50", "{:.4f}", "-"),
                       stat(s["tpot_s"], "p99", "{:.4f}", "-"), per_reply_wh,
                       (num(e, "gpu_active") + num(e, "gpu_idle")) / kJoulesPerWh, num(e, "total") / kJoulesPerWh,
                       gpu_hours(s), first_failure(s), markdown_cell(cause));
  }
  return out;
}

std::string compare_csv(const std::vector<std::pair<std::string, Json>>& variants) {
  // The objectives of every variant, in order of first appearance.
  std::vector<std::string> objectives;
  for (const auto& [name, s] : variants) {
    if (!s.contains("objectives")) continue;
    for (const Json& o : s["objectives"]) {
      const std::string objective = o["name"].get<std::string>();
      if (std::find(objectives.begin(), objectives.end(), objective) == objectives.end()) objectives.push_back(objective);
    }
  }
  std::string out =
      "variant,ttft_p50_s,ttft_p99_s,tpot_p50_s,tpot_p99_s,energy_gpu_j,energy_total_j,first_failure,"
      "energy_per_reply_j,energy_total_wh,gpu_hours,first_failure_kind,first_failure_minute,first_failure_cause,"
      "gco2e,cost_usd";
  for (const std::string& objective : objectives) out += "," + objective + "_attainment";
  out += ",objectives_met\n";
  for (const auto& [name, s] : variants) {
    const Json& e = s["energy_j"];
    std::string kind, minute, cause;
    if (!s["failures"].empty()) {
      const Json& f = s["failures"][0];
      kind = f["kind"].get<std::string>();
      minute = fmt::format("{:.9g}", f["minute"].get<double>());
      cause = f["cause"].get<std::string>();
    }
    const std::string per_reply = num(s, "replies") > 0 ? fmt::format("{:.9g}", energy_per_reply_j(s)) : "";
    const double gco2e = s.contains("carbon") ? num(s["carbon"], "gco2e") : 0.0;
    const double cost_usd = s.contains("cost_usd") ? num(s["cost_usd"], "total") : 0.0;
    out += fmt::format("{},{},{},{},{},{:.9g},{:.9g},{},{},{:.9g},{:.9g},{},{},{},{:.9g},{:.9g}\n",
                       csv_field(name), stat(s["ttft_s"], "p50", "{:.9g}", ""), stat(s["ttft_s"], "p99", "{:.9g}", ""),
                       stat(s["tpot_s"], "p50", "{:.9g}", ""), stat(s["tpot_s"], "p99", "{:.9g}", ""),
                       num(e, "gpu_active") + num(e, "gpu_idle"), num(e, "total"),
                       csv_field(kind), per_reply, num(e, "total") / kJoulesPerWh, gpu_hours(s), csv_field(kind),
                       minute, csv_field(cause), gco2e, cost_usd);
    out.pop_back();  // the line break: the objectives follow
    bool met = true;
    for (const std::string& objective : objectives) {
      std::string cell;
      for (const Json& o : s.value("objectives", Json::array())) {
        if (o["name"].get<std::string>() != objective) continue;
        cell = stat(o, "attainment", "{:.9g}", "");
        met = met && o["met"].get<bool>();
      }
      out += "," + cell;
    }
    out += met ? ",1\n" : ",0\n";
  }
  return out;
}

}  // namespace convsim
