// The whole energy bill: host and switch meters from their formulas, conservation
// of every meter across system presets and KV policies, the charge of a restored
// cache, carbon and money. Each TEST_CASE simulates at most once in its process;
// sweeps run the binary in child processes.

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sim/accounting/energy.hpp"
#include "sim/engine/iteration_cost.hpp"
#include "sim/engine/simulation.hpp"
#include "tests/support/csv_records.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;
namespace fs = std::filesystem;

namespace {

using ::convsim::test::read_file;

// The DGX H100 preset's figures (models/catalog/systems/dgx-h100.yaml), per node of
// 8 GPUs: node idle = CPUs + DIMMs + 8 drives + 12 NIC ports + fans.
constexpr double kDgxH100NodeIdleW = 200 + 96 + 8 * 7 + 12 * 20.7 + 773;  // 1373.4 W
constexpr double kDgxH100CpuExtraW = 700 - 200;
constexpr double kDgxH100DramExtraW = 192 - 96;
// NVLink 4 switch ports: 18 per GPU at 100 W / 64 ports (models/catalog/fabrics/nvlink4.yaml).
constexpr double kNvlink4SwitchWPerGpu = 18 * 100.0 / 64;
// NDR optics: NVIDIA's twin-port 2x400G OSFP module stays at 17 W in every
// configuration, 8.5 W per 400 Gb/s port end (models/catalog/fabrics/ib-ndr.yaml).
constexpr double kNdrOpticsWPerPortEnd = 17.0 / 2;
// The DGX presets' power supplies convert at 95%: 1 / 0.95 - 1 lost per joule drawn.
constexpr double kDgxPsuLoss = 1 / 0.95 - 1;

double rows_j(const RunResult& r) {
  double sum = 0;
  for (const ReplyRecord& reply : r.replies) {
    sum += reply.energy_j + reply.network_energy_j + reply.host_energy_j + reply.reserved_energy_j;
  }
  return sum;
}

void check_every_meter_charged(const RunResult& r, const Scenario& s) {
  const EnergySplit e = energy_split(r, s);
  // The nodes' supplies lose 1 / efficiency - 1 per joule their GPUs and hosts draw.
  const double psu_loss_j = (1 / s.cluster.system.psu_efficiency - 1) * (metered_gpu_energy_j(r) + e.host_j);
  CHECK(e.psu_loss_j == Approx(psu_loss_j).epsilon(1e-12));
  const double meters_j = metered_gpu_energy_j(r) + e.host_j + e.switch_j + e.optics_j + r.network_energy_j.value() + psu_loss_j;
  INFO("rows " << rows_j(r) << " J + unattributed " << e.unattributed_j << " J; meters " << meters_j << " J");
  CHECK(rows_j(r) + e.unattributed_j == Approx(meters_j).epsilon(1e-9));
  CHECK(e.served_j + e.reserved_j + e.unattributed_j == Approx(e.it_j()).epsilon(1e-9));
}

Scenario small_on(const std::string& kv_policy) {
  return test::scenario_from(test::kSmallConversation, {{"context.kv_between_turns", kv_policy}});
}

double number_or_zero(const std::string& text) { return text.empty() ? 0.0 : std::stod(text); }

}  // namespace

TEST_CASE("GPU idle energy is the meter less the replies' iterations, rounding below zero read as none") {
  CHECK(gpu_idle_energy_j(1000.0, 400.0) == 600.0);
  CHECK(gpu_idle_energy_j(1000.0, 1000.0) == 0.0);
  // 1.3e6 J metered, the rows summing 3.5e-10 J more in another order: rounding.
  CHECK(gpu_idle_energy_j(1.3e6, 1.3e6 + 3.5e-10) == 0.0);
  // Rows charged a joule more than the meter read is an error the checks must see.
  CHECK(gpu_idle_energy_j(1000.0, 1001.0) == -1.0);
}

TEST_CASE("a node's host energy over a run equals its power times the span when no part works harder") {
  // Every part at the same power idle or active: host energy is that power x span.
  const Scenario s = test::scenario_from(
      test::kSmallConversation,
      {{"cluster.system_power",
        "{cpu_idle_w: 150, cpu_active_w: 150, dram_idle_w: 40, dram_active_w: 40, nvme_drives: 2, nvme_idle_w: 5, "
        "nvme_read_w: 5, nvme_write_w: 5, nic_ports: 1, nic_w_per_port: 20, fans_w: 30}"},
       {"context.kv_between_turns", "offload_cpu"}});
  const RunResult r = simulate(s);
  REQUIRE(r.kv_restores > 0);  // memory moved caches, at no extra power here
  const double node_w = 150 + 40 + 2 * 5 + 20 + 30 + 500;  // + cluster.host_power_w_per_node
  const EnergySplit e = energy_split(r, s);
  CHECK(e.host_j == Approx(node_w * r.end_s).epsilon(1e-12));
  CHECK(e.switch_j == Approx(kNvlink4SwitchWPerGpu * r.end_s).epsilon(1e-12));  // one node: no scale-out switch
  check_every_meter_charged(r, s);
}

TEST_CASE("the DGX H100 preset's host draws its idle power all run long and its CPUs' extra while iterating") {
  // One GPU of a DGX H100 (gpus_per_node 1): an eighth of the node's host.
  const Scenario s = small_on("keep");
  REQUIRE(s.cluster.system.name == "dgx-h100");
  const RunResult r = simulate(s);
  REQUIRE(r.dram_active_node_s.value() == 0);  // no cache moved
  double busy_s = 0;
  for (double b : r.replica_busy_s) busy_s += b;
  const double expected_j = (kDgxH100NodeIdleW / 8 + 500) * r.end_s + kDgxH100CpuExtraW / 8 * busy_s;
  CHECK(energy_split(r, s).host_j == Approx(expected_j).epsilon(1e-12));
  check_every_meter_charged(r, s);
}

TEST_CASE("a whole DGX H100 node at the wall: idle with every GPU holding a context, and at most with every GPU at its cap") {
  const Scenario s = test::scenario_from(test::kSmallConversation, {{"model.preset", "llama-3.1-70b"},
                                                                    {"cluster.gpus_per_node", "8"},
                                                                    {"parallelism.tp", "8"},
                                                                    {"cluster.gpu_power_cap_w", "450"}});
  REQUIRE(s.cluster.system.name == "dgx-h100");
  // The GPUs (8 x 100 W idle with a context, the H100 preset; 8 x 450 W capped) and the
  // host parts (with the fixture's cluster.host_power_w_per_node, 500 W) go through the
  // supplies; the NVSwitch ports are drawn at their inlets.
  const double supplies = 1 + kDgxPsuLoss, host_w = kDgxH100NodeIdleW + 500;
  const NodeWallPower node = node_wall_power(s);
  CHECK(node.idle_w == Approx((8 * 100 + host_w) * supplies + 8 * kNvlink4SwitchWPerGpu).epsilon(1e-12));
  CHECK(node.busy_max_w == Approx((8 * 450 + host_w + kDgxH100CpuExtraW) * supplies + 8 * kNvlink4SwitchWPerGpu)
                               .epsilon(1e-12));
}

TEST_CASE("across nodes each GPU carries the optical modules at both ends of its links, all run long") {
  // Two DGX H100 halves joined by NDR: the NIC's module and the leaf's, and at 1:1 a
  // whole uplink's two (leaf and spine) per GPU: 4 module ends of 8.5 W.
  const Scenario s = test::scenario_from(test::kSmallConversation, {{"model.preset", "llama-3.1-70b"},
                                                                    {"cluster.nodes", "2"},
                                                                    {"cluster.gpus_per_node", "4"},
                                                                    {"parallelism.tp", "4"},
                                                                    {"parallelism.pp", "2"}});
  REQUIRE(s.cluster.scale_out.name == "ib-ndr");
  REQUIRE(s.cluster.oversubscription == 1.0);
  const RunResult r = simulate(s);
  const EnergySplit e = energy_split(r, s);
  CHECK(e.optics_j == Approx(8 * kNdrOpticsWPerPortEnd * 4 * r.end_s).epsilon(1e-12));
  // Rows are charged the optics with the rest of their replica's power: conserved.
  check_every_meter_charged(r, s);
}

TEST_CASE("every meter is charged to a row or left unattributed, KV kept") { check_every_meter_charged(simulate(small_on("keep")), small_on("keep")); }

TEST_CASE("every meter is charged to a row or left unattributed, KV offloaded to host memory") {
  const Scenario s = small_on("offload_cpu");
  check_every_meter_charged(simulate(s), s);
}

TEST_CASE("every meter is charged to a row or left unattributed, KV offloaded to NVMe") {
  const Scenario s = small_on("offload_nvme");
  const RunResult r = simulate(s);
  CHECK(r.nvme_read_node_s.value() > 0);
  CHECK(r.nvme_write_node_s.value() > 0);
  check_every_meter_charged(r, s);
}

TEST_CASE("every meter is charged to a row or left unattributed, KV dropped") {
  const Scenario s = small_on("drop");
  check_every_meter_charged(simulate(s), s);
}

TEST_CASE("a conversation alone on its replica pays for the reservation between its turns") {
  // One conversation, nothing else: every wait between its first arrival and its last
  // reply is its reservation; only the start and the end are unattributed.
  const Scenario s = small_on("keep");
  const RunResult r = simulate(s);
  const EnergySplit e = energy_split(r, s);
  const ReplicaPower p = replica_power(s, 1);
  // Its GPU at idle, an eighth of a DGX H100's host and 500 W, through the supplies; its switch ports.
  CHECK(p.idle_w() == Approx((s.cluster.gpu.power_idle_w + kDgxH100NodeIdleW / 8 + 500) * (1 + kDgxPsuLoss) +
                             kNvlink4SwitchWPerGpu)
                          .epsilon(1e-12));
  double first_arrival_s = 1e300, reserved_j = 0;
  for (const ReplyRecord& reply : r.replies) {
    first_arrival_s = std::min(first_arrival_s, reply.start_s);
    reserved_j += reply.reserved_energy_j;
  }
  CHECK(reserved_j > 0);
  // Unattributed: the replica idle before the first arrival and after it stopped.
  const double expected_unattributed_j =
      p.idle_w() * (first_arrival_s + (r.end_s - r.replica_stopped_s[0]));
  CHECK(e.unattributed_j == Approx(expected_unattributed_j).epsilon(1e-9));
}

TEST_CASE("a restored cache's reply is charged the link, the host memory and the waiting replica") {
  const Scenario s = small_on("offload_cpu");
  RunOptions options;
  options.trace = true;
  const RunResult r = simulate(s, options);
  std::vector<const TraceSlice*> restores;
  for (const TraceSlice& slice : r.trace) {
    if (slice.name == "kv restore") restores.push_back(&slice);
  }
  std::vector<ReplyRecord> restored;
  for (const ReplyRecord& reply : r.replies) {
    if (reply.restore_energy_j > 0) restored.push_back(reply);
  }
  REQUIRE(restores.size() > 3);
  REQUIRE(restored.size() == restores.size());
  // One GPU of a DGX H100: an eighth of its host, its switch ports, its board at idle.
  const double link_j_per_byte = s.cluster.host_link.energy_j_per_byte;
  // The board and the host share carry the supplies' loss; the switch ports do not.
  const double dram_extra_w = kDgxH100DramExtraW / 8 * (1 + kDgxPsuLoss);
  const double waiting_w =
      (s.cluster.gpu.power_idle_w + kDgxH100NodeIdleW / 8 + 500) * (1 + kDgxPsuLoss) + kNvlink4SwitchWPerGpu;
  for (std::size_t k = 0; k < restores.size(); ++k) {
    const TraceSlice& t = *restores[k];
    INFO("restore " << k << ": " << t.bytes << " bytes in " << t.duration_s << " s");
    // The transfer cannot beat the host link's bandwidth.
    CHECK(t.duration_s >= t.bytes / s.cluster.host_link.bandwidth_bytes_per_s);
    const double expected_j = t.bytes * link_j_per_byte + (dram_extra_w + waiting_w) * t.duration_s;
    CHECK(restored[k].restore_energy_j == Approx(expected_j).epsilon(1e-9));
  }
}

TEST_CASE("every system preset and KV policy: rows plus unattributed equal every meter, from the outputs") {
  // One run per combination, each in a child convsim; the rows are summed from
  // turns.csv, printed with 9 significant digits: hence 1e-8.
  const fs::path dir = fs::temp_directory_path() / fmt::format("convsim-bill-{}", ::getpid());
  for (const auto& [name, system] : test::catalog().systems) {
    for (const char* policy : {"keep", "offload_cpu", "offload_nvme", "drop"}) {
      const fs::path out = dir / fmt::format("{}-{}", name, policy);
      const std::string command = fmt::format(
          "{} run {} -q -o {} --set cluster.system={} --set cluster.gpu={} --set context.kv_between_turns={} "
          "--set conversation.duration_min=12",
          CONVSIM_BINARY, test::source_path("tests/support/small-conversation.yaml"), out.string(), name, system.gpu,
          policy);
      INFO(command);
      REQUIRE(std::system(command.c_str()) == 0);
      const auto summary = nlohmann::json::parse(read_file(out / "summary.json"));
      double rows = 0;
      for (const auto& row : test::csv_file_records(out / "turns.csv")) {
        rows += number_or_zero(row.at("energy_j")) + number_or_zero(row.at("network_energy_j")) +
                number_or_zero(row.at("host_energy_j")) + number_or_zero(row.at("reserved_energy_j"));
      }
      const double unattributed = summary["energy_attribution_j"]["unattributed"];
      const auto& e = summary["energy_j"];
      const double meters = e["gpu_active"].get<double>() + e["gpu_idle"].get<double>() +
                            e["network"].get<double>() + e["host"].get<double>() + e["switches"].get<double>() + e["optics"].get<double>() +
                            e["psu_loss"].get<double>();
      // The supplies' loss on the GPUs and hosts, at the preset's efficiency.
      const double gpu_and_host = e["gpu_active"].get<double>() + e["gpu_idle"].get<double>() + e["host"].get<double>();
      CHECK(e["psu_loss"].get<double>() == Approx((1 / system.psu_efficiency - 1) * gpu_and_host).epsilon(1e-12));
      CHECK(rows + unattributed == Approx(meters).epsilon(1e-8));
      CHECK(e["host"].get<double>() > 0);
    }
  }
  fs::remove_all(dir);
}

TEST_CASE("grams of CO2e are kWh at the facility times the grid's intensity, dollars add GPU-hours") {
  Scenario s = small_on("keep");
  s.cluster.pue = 1.25;
  s.cluster.grid_gco2e_per_kwh = 56;  // France, 2023 (Ember)
  s.cluster.usd_per_kwh = 0.1;
  s.cluster.gpu_hour_usd = 3.0;
  ReplyRecord r;
  r.energy_j = 1.0e6;
  r.network_energy_j = 1.0e5;
  r.host_energy_j = 2.0e5;
  r.reserved_energy_j = 3.0e5;
  r.gpu_s = 1800;
  r.reserved_gpu_s = 1800;
  const double facility_kwh = (1.0e6 + 1.0e5 + 2.0e5 + 3.0e5) * 1.25 / 3.6e6;
  CHECK(reply_all_in_facility_energy_j(r, s) == Approx(facility_kwh * 3.6e6).epsilon(1e-12));
  // turns.csv's facility_energy_j: IT (GPU + network + host) times PUE, no reservation.
  CHECK(reply_facility_energy_j(r, s) == Approx((1.0e6 + 1.0e5 + 2.0e5) * 1.25).epsilon(1e-12));
  CHECK(reply_gco2e(r, s) == Approx(facility_kwh * 56).epsilon(1e-12));
  CHECK(reply_cost_usd(r, s) == Approx(facility_kwh * 0.1 + 1.0 * 3.0).epsilon(1e-12));
}

namespace {

// The percentile summary_json states: linear interpolation between closest ranks.
double percentile_of(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double rank = q * static_cast<double>(v.size() - 1);
  const auto below = static_cast<std::size_t>(rank);
  const std::size_t above = std::min(below + 1, v.size() - 1);
  return v[below] + (rank - static_cast<double>(below)) * (v[above] - v[below]);
}

}  // namespace

TEST_CASE("a run's per-reply energies in Wh are its served replies' rows, as per-prompt figures are published") {
  // The Gemini cross-check's scenario: the README quotes its median all-in energy.
  const fs::path out = fs::temp_directory_path() / fmt::format("convsim-reply-wh-{}", ::getpid());
  const std::string command = fmt::format("{} run {} -q -o {}", CONVSIM_BINARY,
                                          test::source_path("scenarios/gemini-median-prompt.yaml"), out.string());
  REQUIRE(std::system(command.c_str()) == 0);
  const auto summary = nlohmann::json::parse(read_file(out / "summary.json"));
  std::vector<double> gpu_wh, all_in_wh;
  for (const auto& row : test::csv_file_records(out / "turns.csv")) {
    if (row.at("kind") != "reply") continue;
    gpu_wh.push_back(std::stod(row.at("energy_j")) / 3600.0);
    all_in_wh.push_back(std::stod(row.at("all_in_facility_energy_j")) / 3600.0);
  }
  REQUIRE(summary["replies"].get<std::size_t>() == all_in_wh.size());  // every reply served
  REQUIRE(all_in_wh.size() > 100);
  const auto mean = [](const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size()); };
  // turns.csv prints 9 significant digits: hence 1e-8.
  const auto& all_in = summary["reply_all_in_facility_energy_wh"];
  CHECK(all_in["p50"].get<double>() == Approx(percentile_of(all_in_wh, 0.5)).epsilon(1e-8));
  CHECK(all_in["p90"].get<double>() == Approx(percentile_of(all_in_wh, 0.9)).epsilon(1e-8));
  CHECK(all_in["mean"].get<double>() == Approx(mean(all_in_wh)).epsilon(1e-8));
  const auto& gpu = summary["reply_gpu_energy_wh"];
  CHECK(gpu["p50"].get<double>() == Approx(percentile_of(gpu_wh, 0.5)).epsilon(1e-8));
  CHECK(gpu["p99"].get<double>() == Approx(percentile_of(gpu_wh, 0.99)).epsilon(1e-8));
  CHECK(gpu["mean"].get<double>() == Approx(mean(gpu_wh)).epsilon(1e-8));
  // A reply's whole bill holds its GPUs' energy and more.
  CHECK(all_in["p50"].get<double>() > gpu["p50"].get<double>());
  fs::remove_all(out);
}

TEST_CASE("a run's gCO2e is its facility kWh times the region's intensity") {
  const fs::path out = fs::temp_directory_path() / fmt::format("convsim-carbon-{}", ::getpid());
  const std::string command =
      fmt::format("{} run {} -q -o {} --set cluster.grid_region=france --set conversation.duration_min=12",
                  CONVSIM_BINARY, test::source_path("tests/support/small-conversation.yaml"), out.string());
  REQUIRE(std::system(command.c_str()) == 0);
  const auto summary = nlohmann::json::parse(read_file(out / "summary.json"));
  const double facility_kwh = summary["energy_j"]["facility"].get<double>() / 3.6e6;
  CHECK(summary["carbon"]["grid_gco2e_per_kwh"].get<double>() == 56);  // Ember 2023, France
  CHECK(summary["carbon"]["gco2e"].get<double>() == Approx(facility_kwh * 56).epsilon(1e-12));
  fs::remove_all(out);
}
