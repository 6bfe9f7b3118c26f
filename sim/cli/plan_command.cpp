// convsim plan: searches deployments of the scenario's workload (the plan: section),
// prunes those that cannot fit or cannot meet the objectives, simulates the rest in
// child processes, and writes plan.csv, pareto.csv, pareto_usd.csv and top.csv.
// Resumes (candidates with outputs are not run again) and shards like compare.

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <set>

#include <fmt/format.h>

#include "sim/analysis/objectives.hpp"
#include "sim/cli/commands.hpp"
#include "sim/plan/plan_table.hpp"
#include "sim/plan/pruning.hpp"
#include "sim/plan/search_strategy.hpp"
#include "sim/scenario/config_error.hpp"
#include "sim/output/revision.hpp"
#include "sim/scenario/plan_reader.hpp"
#include "sim/scenario/provenance.hpp"
#include "sim/scenario/text_util.hpp"

namespace fs = std::filesystem;

namespace convsim::cli {
namespace {

using Json = nlohmann::ordered_json;

// Compiled on first use, not at start-up (every command would pay for it).
const std::regex& plan_manifest() {
  static const std::regex name(R"(plan-shard-([0-9]+)-of-([0-9]+)\.json)");
  return name;
}

std::optional<Json> read_json_if_any(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  try {
    return Json::parse(in);
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

// Every candidate of the plan, judged before any simulation.
struct Space {
  Scenario scenario;
  std::vector<Objective> objectives;
  std::vector<PlanRow> rows;
  std::vector<std::vector<Override>> overrides;  // per row: --set then the candidate's
};

Space plan_space(const std::string& path, const std::vector<std::string>& sets, const Catalog& catalog,
                 const std::string& goal) {
  const std::vector<Override> base = parse_overrides(sets);
  Space space{load_scenario(path, base, catalog, VariantCheck::skip), {}, {}, {}};
  const PlanSpec& plan = space.scenario.plan;
  if (plan.goal != goal && goal == "usd") {
    for (const std::string& gpu : plan.gpus) {
      if (std::none_of(plan.gpu_hour_usd.begin(), plan.gpu_hour_usd.end(),
                       [&gpu](const auto& price) { return price.first == gpu; })) {
        throw ConfigError(fmt::format("{}: --goal usd needs a price for every GPU of plan.gpus; none for '{}' in "
                                      "plan.gpu_hour_usd, and no system preset carrying it cites one",
                                      plan.where, gpu));
      }
    }
  }
  // Overrides only set keys: a candidate without a pool cannot take away the scenario's.
  const ParallelismSpec& layout = space.scenario.parallelism;
  if (layout.disaggregated() &&
      std::find(plan.prefill_replicas.begin(), plan.prefill_replicas.end(), 0) != plan.prefill_replicas.end()) {
    throw ConfigError(fmt::format("{}: plan.prefill_replicas: 0 cannot remove the prefill pool of "
                                  "parallelism.prefill ({} replicas): list only pools of 1 or more, or take the pool "
                                  "out of the scenario to try candidates without one",
                                  plan.prefill_replicas_where, layout.prefill.replicas));
  }
  const std::unique_ptr<SearchStrategy> strategy = make_search_strategy(plan.strategy);
  if (!strategy) {
    throw ConfigError(fmt::format("{}: plan.strategy: unknown search strategy '{}'; allowed: {}", plan.strategy_where,
                                  plan.strategy, join(search_strategy_names())));
  }
  space.objectives = objectives_of(space.scenario);
  const Objective::Metric frontier_metric = plan.objective.rfind("ttft", 0) == 0   ? Objective::Metric::ttft
                                            : plan.objective.rfind("tpot", 0) == 0 ? Objective::Metric::tpot
                                                                                   : Objective::Metric::e2e;
  const int gpus_per_node = space.scenario.cluster.gpus_per_node;
  for (const Candidate& c : strategy->candidates(plan)) {
    PlanRow row;
    row.candidate = c;
    row.dp = resolved_dp(c, gpus_per_node);
    row.gpus = std::max(0, row.dp) * replica_gpus(c) + pool_gpus(c);
    std::vector<Override> overrides = base;
    for (const Override& o : candidate_overrides(c, gpus_per_node)) overrides.push_back(o);
    if (row.dp < 1) {
      row.status = "invalid";
      row.reason = fmt::format("{} nodes of {} GPUs hold no replica of {} GPUs{}", c.nodes, gpus_per_node,
                               replica_gpus(c),
                               c.prefill_replicas > 0 ? fmt::format(" beside the prefill pool of {} GPUs", pool_gpus(c))
                                                    : std::string());
      row.excess = 1e300;
    } else {
      try {
        const Scenario candidate = load_scenario(path, overrides, catalog, VariantCheck::skip);
        const MemoryCheck memory = memory_check(candidate, plan.kv_reserve_tokens);
        row.memory_need_bytes = memory.need_bytes();
        row.hbm_bytes = memory.hbm_bytes;
        row.latency_floor_s = latency_floor_s(candidate, frontier_metric);
        row.reason = prune_reason(candidate, plan.kv_reserve_tokens);
        row.status = row.reason.empty() ? "pending" : "pruned";
        row.excess = memory.need_bytes() / memory.hbm_bytes;
        for (const Objective& o : objectives_of(candidate)) {
          if (o.metric != Objective::Metric::speech && memory.fits()) {
            row.excess = std::max(row.excess, latency_floor_s(candidate, o.metric) / o.limit_s);
          }
        }
      } catch (const ConfigError& e) {
        row.status = "invalid";
        row.reason = e.what();
        row.excess = 1e300;
      }
    }
    space.rows.push_back(row);
    space.overrides.push_back(overrides);
  }
  if (space.rows.empty() ||
      std::all_of(space.rows.begin(), space.rows.end(), [](const PlanRow& r) { return r.status == "invalid"; })) {
    std::string reasons;
    for (std::size_t i = 0; i < std::min<std::size_t>(3, space.rows.size()); ++i) {
      reasons += fmt::format("\n  {}: {}", candidate_name(space.rows[i].candidate), space.rows[i].reason);
    }
    throw ConfigError(fmt::format("{}: plan: no candidate fits the cluster ({} candidates){}", plan.where,
                                  space.rows.size(), reasons));
  }
  return space;
}

fs::path candidate_dir(const fs::path& dir, const PlanRow& row) {
  return dir / "candidates" / candidate_name(row.candidate);
}

// Whether the candidate's outputs are there, complete, from this scenario text.
// Whether a candidate's folder holds a complete run of this scenario file, by this
// build, with the catalog presets it read unchanged since: a resumed plan keeps it.
bool finished(const fs::path& candidate, const Scenario& scenario, const std::string& catalog_dir) {
  if (!fs::exists(candidate / "timing.json")) return false;
  const std::optional<Json> summary = read_json_if_any(candidate / "summary.json");
  if (!summary || !summary->value("complete", false) || !summary->contains("run")) return false;
  const Json& run = (*summary)["run"];
  if (run.value("scenario_file_hash", std::string()) != scenario.source_text_hash) return false;
  // Counts as a run writes them (a damaged or edited summary is run again).
  for (const char* key : {"replies", "failed_replies"}) {
    if (!summary->contains(key) || !(*summary)[key].is_number_integer() || (*summary)[key].get<long>() < 0) {
      return false;
    }
  }
  if (run.value("git_revision", std::string()) != git_revision()) return false;
  for (const Json& f : run.value("catalog_files", Json::array())) {
    const fs::path path = fs::path(catalog_dir) / f.value("file", "");
    std::error_code error;
    if (!fs::is_regular_file(path, error) || fnv1a_hex(read_text_file(path.string())) != f.value("hash", "")) {
      return false;
    }
  }
  return true;
}

void print_nearest_pruned(const std::vector<PlanRow>& rows) {
  std::vector<const PlanRow*> pruned;
  for (const PlanRow& r : rows) {
    if (r.status == "pruned") pruned.push_back(&r);
  }
  std::stable_sort(pruned.begin(), pruned.end(), [](const PlanRow* a, const PlanRow* b) { return a->excess < b->excess; });
  std::cout << "every candidate was pruned or is invalid; the nearest:\n";
  for (std::size_t i = 0; i < std::min<std::size_t>(3, pruned.size()); ++i) {
    std::cout << fmt::format("  {}: {}\n", candidate_name(pruned[i]->candidate), pruned[i]->reason);
  }
}

// Reads the evaluated candidates' summaries from `dirs` (the first holding each) and
// writes the tables into `out`.
void write_plan(const Space& space, std::vector<PlanRow> rows, const fs::path& out, const std::string& goal,
                bool quiet) {
  const PlanSpec& plan = space.scenario.plan;
  const PlanTables tables = plan_tables(rows, plan, space.objectives, goal);
  write_file_atomically((out / "plan.csv").string(), tables.plan_csv);
  write_file_atomically((out / "pareto.csv").string(), tables.pareto_csv);
  write_file_atomically((out / "pareto_usd.csv").string(), tables.pareto_usd_csv);
  write_file_atomically((out / "top.csv").string(), tables.top_csv);
  long evaluated = 0, pruned = 0, invalid = 0;
  for (const PlanRow& r : rows) {
    evaluated += r.status == "evaluated";
    pruned += r.status == "pruned";
    invalid += r.status == "invalid";
  }
  if (quiet) return;
  std::cout << fmt::format("plan of {}: {} candidates: {} evaluated, {} pruned, {} invalid; {} on the frontier of "
                           "energy per reply{}\n",
                           space.scenario.name, rows.size(), evaluated, pruned, invalid, tables.frontier.size(),
                           plan.gpu_hour_usd.empty()
                               ? std::string()
                               : fmt::format(", {} on that of dollars per million output tokens",
                                             tables.usd_frontier.size()));
  if (evaluated == 0) print_nearest_pruned(rows);
  if (tables.top.empty()) {
    std::cout << "no candidate served every reply and met every objective\n";
  } else {
    std::cout << fmt::format("best by {} (meeting every objective):\n", goal);
    for (std::size_t k = 0; k < tables.top.size(); ++k) {
      const PlanRow& r = rows[tables.top[k]];
      const PlanFigures f = plan_figures(r, plan);
      std::cout << fmt::format("  {}. {}  {} GPUs  {} {:.4f} s  {:.3f} Wh per reply{}\n", k + 1,
                               candidate_name(r.candidate), r.gpus, plan.objective, *f.latency_s,
                               f.energy_per_reply_j / 3600.0,
                               f.usd_per_m_output_tokens ? fmt::format("  ${:.2f} per M output tokens",
                                                                       *f.usd_per_m_output_tokens)
                                                         : std::string());
    }
  }
  std::cout << "outputs in " << out.string() << "/\n";
}

// The rows with the summaries of the candidates to evaluate, found under `dirs` (as
// `finished` accepts them, against the catalog in `catalog_dir`); nullopt (and the
// missing names in `missing`) when some are absent.
std::optional<std::vector<PlanRow>> gather(const Space& space, const std::vector<fs::path>& dirs,
                                           const std::string& catalog_dir, std::vector<std::string>* missing,
                                           std::vector<fs::path>* found_in) {
  std::vector<PlanRow> rows = space.rows;
  for (PlanRow& row : rows) {
    if (row.status != "pending") {
      found_in->push_back({});
      continue;
    }
    fs::path where;
    for (const fs::path& dir : dirs) {
      if (finished(candidate_dir(dir, row), space.scenario, catalog_dir)) {
        where = candidate_dir(dir, row);
        break;
      }
    }
    found_in->push_back(where);
    if (where.empty()) {
      missing->push_back(candidate_name(row.candidate));
      continue;
    }
    row.summary = read_json_if_any(where / "summary.json");
    row.status = "evaluated";
  }
  if (!missing->empty()) return std::nullopt;
  return rows;
}

}  // namespace

int command_plan(const PlanRequest& request) {
  const auto started = std::chrono::steady_clock::now();
  const auto seconds_since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };
  const Catalog catalog = open_catalog(default_catalog_dir());
  const Scenario base = load_scenario(request.scenario_path, parse_overrides(request.sets), catalog, VariantCheck::skip);
  print_warnings(base);
  const std::string goal = request.goal.empty() ? base.plan.goal : request.goal;
  const Space space = plan_space(request.scenario_path, request.sets, catalog, goal);
  const Shard shard = parse_shard(request.shard);
  const fs::path dir = request.dir.empty() ? fs::path(default_output_dir(space.scenario)) / "plan" : fs::path(request.dir);
  fs::create_directories(dir / "candidates");
  std::vector<ChildTask> tasks;
  std::vector<std::string> ran;
  long resumed = 0;
  for (std::size_t k = 0; k < space.rows.size(); ++k) {
    const PlanRow& row = space.rows[k];
    if (row.status != "pending") continue;
    if (static_cast<int>(k % static_cast<std::size_t>(shard.count)) != shard.index - 1) continue;
    const std::string name = candidate_name(row.candidate);
    ran.push_back(name);
    const fs::path out = candidate_dir(dir, row);
    if (finished(out, space.scenario, catalog.dir)) {
      ++resumed;
      continue;
    }
    const std::vector<Override>& overrides = space.overrides[k];
    tasks.push_back({"plan[" + name + "]", [&request, &catalog, &space, overrides, out, name]() {
                       Scenario s = load_scenario(request.scenario_path, overrides, catalog, VariantCheck::skip);
                       s.name = space.scenario.name + "/" + name;
                       run_and_write(s, out.string(), RunOptions{});
                     }});
  }
  if (!request.quiet) {
    std::cerr << fmt::format("plan: {} candidates; this run evaluates {} ({} already done){}\n", space.rows.size(),
                             tasks.size(), resumed,
                             request.shard.empty() ? "" : fmt::format(", shard {}/{}", shard.index, shard.count));
  }
  const double judged_s = seconds_since(started);
  const auto simulating = std::chrono::steady_clock::now();
  int done = 0;
  const int failed = run_in_children(tasks, request.jobs, [&](std::size_t index, bool ok) {
    ++done;
    if (!request.quiet || !ok) {
      std::cerr << fmt::format("  [{}/{}] {} {}\n", done, tasks.size(), tasks[index].label, ok ? "done" : "FAILED");
    }
  });
  // Wall time on stderr only: the tables and stdout stay byte-identical run to run.
  const double simulated_s = seconds_since(simulating), total_s = seconds_since(started);
  if (!request.quiet) {
    std::cerr << fmt::format(
        "plan: {} candidates judged in {:.1f} s, {} simulated in {:.1f} s ({:.2f} per s, {} jobs); "
        "{:.2f} candidates per s in all\n",
        space.rows.size(), judged_s, tasks.size(), simulated_s,
        simulated_s > 0 ? static_cast<double>(tasks.size()) / simulated_s : 0.0, request.jobs,
        total_s > 0 ? static_cast<double>(space.rows.size()) / total_s : 0.0);
  }
  if (failed > 0) {
    std::cerr << failed << " candidate(s) could not run\n";
    return kExitRunFailed;
  }
  if (!request.shard.empty()) {
    const Json manifest = {{"convsim_version", CONVSIM_VERSION},
                           {"scenario", space.scenario.name},
                           {"scenario_path", fs::absolute(request.scenario_path).lexically_normal().string()},
                           {"scenario_path_given", request.scenario_path},
                           {"scenario_hash", space.scenario.source_text_hash},
                           {"sets", request.sets},
                           {"goal", goal},
                           {"shard", {{"index", shard.index}, {"count", shard.count}}},
                           {"ran", ran}};
    write_file_atomically((dir / fmt::format("plan-shard-{}-of-{}.json", shard.index, shard.count)).string(),
                          manifest.dump(2) + "\n");
  }
  std::vector<std::string> missing;
  std::vector<fs::path> found_in;
  const std::optional<std::vector<PlanRow>> rows = gather(space, {dir}, catalog.dir, &missing, &found_in);
  if (!rows) {
    if (request.quiet) return 0;
    std::cout << fmt::format("shard {}/{}: ran {} candidates into {}/; plan.csv is written once every candidate is "
                             "there (or by convsim merge); {} missing\n",
                             shard.index, shard.count, ran.size(), dir.string(), missing.size());
    return 0;
  }
  write_plan(space, *rows, dir, goal, request.quiet);
  return 0;
}

bool holds_plan_shards(const std::string& dir) {
  if (!fs::is_directory(dir)) return false;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    if (std::regex_match(entry.path().filename().string(), plan_manifest())) return true;
  }
  return false;
}

int command_plan_merge(const std::vector<std::string>& dirs, const std::string& out) {
  std::optional<Json> first;
  fs::path first_path;
  std::vector<fs::path> folders;
  for (const std::string& dir : dirs) {
    if (!fs::is_directory(dir)) throw ConfigError(fmt::format("{}: no such folder", dir));
    folders.push_back(dir);
    for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
      if (!std::regex_match(entry.path().filename().string(), plan_manifest())) continue;
      const std::optional<Json> manifest = read_json_if_any(entry.path());
      if (!manifest) throw ConfigError(fmt::format("{}: not a plan shard manifest", entry.path().string()));
      const Json shard = manifest->value("shard", Json::object());
      const long index = shard.value("index", 0L), count = shard.value("count", 0L);
      if (count < 1 || index < 1 || index > count) {
        throw ConfigError(fmt::format("{}: shard index {} not in 1..{}", entry.path().string(), index, count));
      }
      if (!first) {
        first = manifest;
        first_path = entry.path();
        continue;
      }
      for (const char* key : {"scenario_hash", "sets", "goal"}) {
        if (manifest->value(key, Json()) != first->value(key, Json())) {
          throw ConfigError(fmt::format("{}: not from the same plan as {} (their '{}' differ)", entry.path().string(),
                                        first_path.string(), key));
        }
      }
    }
  }
  if (!first) throw ConfigError(fmt::format("{}: no plan shard manifest (plan-shard-I-of-N.json)", join(dirs)));
  const Catalog catalog = open_catalog(default_catalog_dir());
  // The path as the shards were given it (messages in plan.csv quote it), when it
  // still leads to the file from here.
  const std::string given = first->value("scenario_path_given", std::string());
  const std::string path = !given.empty() && fs::exists(given) ? given : (*first)["scenario_path"].get<std::string>();
  const std::vector<std::string> sets = (*first)["sets"].get<std::vector<std::string>>();
  const std::string goal = (*first)["goal"].get<std::string>();
  const Space space = plan_space(path, sets, catalog, goal);
  if (space.scenario.source_text_hash != (*first)["scenario_hash"].get<std::string>()) {
    throw ConfigError(fmt::format("{}: changed since the shards ran (its hash differs from {})", path,
                                  first_path.string()));
  }
  std::vector<std::string> missing;
  std::vector<fs::path> found_in;
  const std::optional<std::vector<PlanRow>> rows = gather(space, folders, catalog.dir, &missing, &found_in);
  if (!rows) {
    throw ConfigError(fmt::format("{}: {} candidates missing (or run by another build or with other catalog presets): {}",
                                  join(dirs), missing.size(),
                                  join(std::vector<std::string>(missing.begin(),
                                                                missing.begin() + std::min<std::size_t>(5, missing.size())))));
  }
  fs::create_directories(fs::path(out) / "candidates");
  for (std::size_t k = 0; k < rows->size(); ++k) {
    if (found_in[k].empty()) continue;
    const fs::path target = candidate_dir(out, (*rows)[k]);
    if (fs::exists(target) && fs::equivalent(target, found_in[k])) continue;
    fs::remove_all(target);
    fs::copy(found_in[k], target, fs::copy_options::recursive);
  }
  write_plan(space, *rows, out, goal, false);
  return 0;
}

}  // namespace convsim::cli
