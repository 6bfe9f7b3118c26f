// The tables of convsim plan from candidates with made-up summaries: dollars per
// million output tokens from the price and the run's figures (formula written here),
// and the two frontiers (energy per reply, dollars per million output tokens, each
// against the latency objective) equal to the ones found by brute force here.

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "sim/plan/plan_table.hpp"
#include "tests/support/csv_records.hpp"

using namespace convsim;
using Json = nlohmann::ordered_json;

namespace {

// The facility's energy price of these summaries, USD per kWh.
constexpr double kUsdPerKwh = 0.08;

// A summary.json with only what the plan reads (energy_j taken as the facility's).
Json summary(long replies, long failed, double ttft_p99_s, double energy_j, double gpus, double simulated_s,
             double output_tokens_per_s) {
  Json s;
  s["replies"] = replies;
  s["failed_replies"] = failed;
  s["failures"] = Json::array();
  s["ttft_s"] = {{"p99", ttft_p99_s}};
  s["energy_j"] = {{"total", energy_j}};
  s["cost_usd"] = {{"energy", energy_j / 3.6e6 * kUsdPerKwh}};
  s["run"] = {{"simulated_s", simulated_s}, {"gpus", gpus}};
  s["output_tokens_per_s"] = output_tokens_per_s;
  s["objectives"] = Json::array();
  return s;
}

struct Made {
  std::string name;
  std::string gpu;
  bool served_all = true;
  double latency_s = 0, energy_per_reply_j = 0;
  std::optional<double> usd_per_m;  // by the formula below, when the GPU has a price
};

}  // namespace

TEST_CASE("plan's frontiers of energy and of dollars against latency equal the brute-force ones on a small space") {
  const std::map<std::string, double> price_usd_per_gpu_hour = {{"h100-sxm", 2.0}, {"h200", 3.5}};
  PlanSpec plan;
  plan.objective = "ttft_p99_s";
  plan.top = 3;
  for (const auto& [gpu, price] : price_usd_per_gpu_hour) plan.gpu_hour_usd.emplace_back(gpu, price);
  const std::vector<std::string> gpus = {"h100-sxm", "h200", "b200"};  // b200 has no price

  std::mt19937_64 random(1414);
  std::uniform_int_distribution<int> level(1, 8);
  for (int trial = 0; trial < 40; ++trial) {
    INFO("trial " << trial);
    std::vector<PlanRow> rows;
    std::vector<Made> made;
    for (int k = 0; k < 12; ++k) {
      PlanRow row;
      row.candidate.gpu = gpus[static_cast<std::size_t>(k) % gpus.size()];
      row.candidate.tp = 1 << (k % 4);
      row.candidate.max_batch_seqs = 8 + k;
      row.dp = 8 / row.candidate.tp;
      row.gpus = 8;
      if (k % 7 == 6) {  // pruned: no summary, on no frontier
        row.status = "pruned";
        row.reason = "memory";
        rows.push_back(row);
        made.push_back({candidate_name(row.candidate), row.candidate.gpu, false, 0.0, 0.0, std::nullopt});
        continue;
      }
      row.status = "evaluated";
      const long replies = 1000;
      const long failed = k % 5 == 4 ? 3 : 0;  // some failed replies: on no frontier
      const double latency_s = 0.05 * level(random);
      const double energy_j = 1000.0 * level(random) * static_cast<double>(replies);
      const double simulated_s = 1800.0 + 60.0 * level(random);
      const double tokens_per_s = 100.0 * level(random);
      row.summary = summary(replies, failed, latency_s, energy_j, row.gpus, simulated_s, tokens_per_s);
      Made m{candidate_name(row.candidate), row.candidate.gpu, failed == 0, latency_s,
             energy_j / static_cast<double>(replies), std::nullopt};
      if (const auto price = price_usd_per_gpu_hour.find(m.gpu); price != price_usd_per_gpu_hour.end()) {
        // Dollars of the GPUs for the run's time and of its energy, per million output
        // tokens it produced.
        const double usd = row.gpus * simulated_s / 3600.0 * price->second + energy_j / 3.6e6 * kUsdPerKwh;
        m.usd_per_m = usd / (tokens_per_s * simulated_s / 1e6);
      }
      rows.push_back(row);
      made.push_back(m);
    }
    const PlanTables t = plan_tables(rows, plan, {}, "usd");

    // plan.csv's dollars per million output tokens follow the formula.
    const auto plan_rows = test::csv_records(t.plan_csv);
    REQUIRE(plan_rows.size() == made.size());
    for (std::size_t i = 0; i < made.size(); ++i) {
      INFO(made[i].name);
      CHECK(plan_rows[i].at("candidate") == made[i].name);
      if (made[i].usd_per_m) {
        CHECK(std::stod(plan_rows[i].at("usd_per_m_output_tokens")) == Approx(*made[i].usd_per_m).epsilon(1e-8));
      } else {
        CHECK(plan_rows[i].at("usd_per_m_output_tokens").empty());
      }
    }

    // Brute force: candidates that served every reply (and have a price, for
    // dollars) that no other such candidate beats on latency and the cost.
    auto frontier = [&](bool usd) {
      std::vector<std::string> out;
      for (const Made& a : made) {
        if (!a.served_all || (usd && !a.usd_per_m)) continue;
        const double a_cost = usd ? *a.usd_per_m : a.energy_per_reply_j;
        bool beaten = false;
        for (const Made& b : made) {
          if (!b.served_all || (usd && !b.usd_per_m)) continue;
          const double b_cost = usd ? *b.usd_per_m : b.energy_per_reply_j;
          beaten = beaten || (b.latency_s <= a.latency_s && b_cost <= a_cost &&
                              (b.latency_s < a.latency_s || b_cost < a_cost));
        }
        if (!beaten) out.push_back(a.name);
      }
      std::sort(out.begin(), out.end());
      return out;
    };
    auto names_in = [](const std::string& csv) {
      std::vector<std::string> out;
      for (const auto& row : test::csv_records(csv)) out.push_back(row.at("candidate"));
      std::sort(out.begin(), out.end());
      return out;
    };
    CHECK(names_in(t.pareto_csv) == frontier(false));
    CHECK(names_in(t.pareto_usd_csv) == frontier(true));
    CHECK_FALSE(frontier(true).empty());

    // Each frontier gives both costs, in order of latency.
    double last_s = 0;
    for (const auto& row : test::csv_records(t.pareto_usd_csv)) {
      const auto m = std::find_if(made.begin(), made.end(), [&](const Made& x) { return x.name == row.at("candidate"); });
      CHECK(std::stod(row.at("usd_per_m_output_tokens")) == Approx(*m->usd_per_m).epsilon(1e-8));
      CHECK(std::stod(row.at("energy_per_reply_j")) == Approx(m->energy_per_reply_j).epsilon(1e-8));
      CHECK(std::stod(row.at("ttft_p99_s")) >= last_s);
      last_s = std::stod(row.at("ttft_p99_s"));
    }
  }
}

TEST_CASE("without GPU prices the dollar frontier is its header alone") {
  PlanSpec plan;
  plan.objective = "ttft_p99_s";
  PlanRow row;
  row.candidate.gpu = "h100-sxm";
  row.status = "evaluated";
  row.gpus = 1;
  row.summary = summary(10, 0, 0.2, 1000.0, 1, 60.0, 50.0);
  const PlanTables t = plan_tables({row}, plan, {}, "energy");
  CHECK(test::csv_records(t.pareto_csv).size() == 1);
  CHECK(t.pareto_usd_csv == "candidate,gpu,engine,nodes,gpus,tp,pp,ep,cp,dp,prefill_replicas,prefill_tp,prefill_pp,"
                            "prefill_cp,prefill_ep,max_batch_seqs,prefill_chunk_tokens,kv_between_turns,ttft_p99_s,usd_per_m_output_tokens,"
                            "energy_per_reply_j,objectives_met\n");
}
