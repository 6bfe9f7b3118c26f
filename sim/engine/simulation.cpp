#include "sim/engine/simulation.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>

#include <fmt/format.h>
#include <simgrid/s4u.hpp>

#include "sim/cluster/platform.hpp"
#include "sim/engine/iteration_cost.hpp"
#include "sim/engine/replica.hpp"
#include "sim/engine/router.hpp"
#include "sim/scenario/config_error.hpp"
#include "sim/engine/run_context.hpp"
#include "sim/workload/workload.hpp"

namespace sg4 = simgrid::s4u;

namespace convsim {
namespace {

constexpr double kGb = 1e9;

// Slows one link for a while (a daemon: it does not keep the run going).
// Every link_slow fault of one link: from each fault's start or end on, the link runs
// at its own bandwidth divided by the largest factor of the faults then active (as
// gpu_slow takes the largest), and at its own bandwidth when none is.
void run_link_faults(const std::vector<const FaultSpec*>& faults, simgrid::s4u::Link* link) {
  const double bandwidth = link->get_bandwidth();
  std::vector<double> changes;
  for (const FaultSpec* f : faults) {
    changes.push_back(f->at_s);
    if (f->until_s >= 0) changes.push_back(f->until_s);
  }
  std::sort(changes.begin(), changes.end());
  changes.erase(std::unique(changes.begin(), changes.end()), changes.end());
  for (const double t : changes) {
    sg4::this_actor::sleep_until(t);
    double factor = 1.0;
    for (const FaultSpec* f : faults) {
      if (f->at_s <= t && (f->until_s < 0 || t < f->until_s)) factor = std::max(factor, f->factor);
    }
    link->set_bandwidth(bandwidth / factor);
  }
}

// Which replicas may run their iterations as computed waits: those whose
// collectives and sends cross only links that nothing else uses (no other
// replica, no KV-tier or disaggregation transfer, no link fault).
void mark_exclusive_replicas(const std::vector<std::unique_ptr<ReplicaActor>>& replicas, const Scenario& scenario,
                             const Platform& platform, const RunOptions& options) {
  if (options.simgrid_every_transfer) return;
  constexpr int kShared = -1, kOther = -2;
  std::map<const sg4::Link*, int> users;
  auto use = [&users](const sg4::Link* link, int who) {
    const auto [it, fresh] = users.emplace(link, who);
    if (!fresh && it->second != who) it->second = kShared;
  };
  auto use_route = [&](int a, sg4::Host* to) {
    std::vector<sg4::Link*> route;
    double latency_s = 0;
    platform.gpus[static_cast<std::size_t>(a)]->route_to(to, route, &latency_s);
    for (const sg4::Link* link : route) use(link, kOther);
  };
  for (std::size_t r = 0; r < replicas.size(); ++r) {
    if (!replicas[r]) continue;
    for (const sg4::Link* link : replicas[r]->runner().links()) use(link, static_cast<int>(r));
  }
  for (const auto& replica : replicas) {  // KV caches to and from host memory and NVMe
    if (!replica) continue;
    for (int g : replica->gpus()) {
      use_route(g, platform.cpus[static_cast<std::size_t>(platform.node_of(g))]);
      use_route(g, platform.nvme[static_cast<std::size_t>(platform.node_of(g))]);
    }
  }
  const ParallelismSpec& p = scenario.parallelism;
  for (int a = 0; a < p.prefill.replicas; ++a) {  // KV handoffs, prefill to decode
    const std::vector<int> src = replicas[static_cast<std::size_t>(p.dp + a)]->gpus();
    for (int b = 0; b < p.dp; ++b) {
      const std::vector<int> dst = replicas[static_cast<std::size_t>(b)]->gpus();
      for (std::size_t f = 0; f < std::max(src.size(), dst.size()); ++f) {
        use_route(src[f % src.size()], platform.gpus[static_cast<std::size_t>(dst[f % dst.size()])]);
      }
    }
  }
  // A faulted link is shared with the fault: its replicas run through SimGrid, where
  // the changed bandwidth shows. Routes hold a split-duplex link's two directions,
  // not the link itself.
  for (const FaultSpec& f : scenario.faults) {
    if (f.kind != FaultSpec::Kind::link_slow) continue;
    for (const auto* links : {&platform.nvlinks, &platform.nics, &platform.pcie}) {
      const sg4::Link* link = (*links)[static_cast<std::size_t>(f.gpu)];
      use(link, kOther);
      if (const auto* duplex = dynamic_cast<const sg4::SplitDuplexLink*>(link)) {
        use(duplex->get_link_up(), kOther);
        use(duplex->get_link_down(), kOther);
      }
    }
  }
  for (std::size_t r = 0; r < replicas.size(); ++r) {
    if (!replicas[r]) continue;
    bool alone = true;
    for (const sg4::Link* link : replicas[r]->runner().links()) alone = alone && users[link] == static_cast<int>(r);
    replicas[r]->runner().set_exclusive(alone);
  }
}

// The failure load_memory_failure describes, from the replica's and the prefill
// pool's cost models.
std::optional<FailureRecord> memory_failure(const Scenario& scenario, const CostModel& replica,
                                            const CostModel& pool) {
  const ParallelismSpec& p = scenario.parallelism;
  const bool pool_fits = !p.disaggregated() || pool.weights_fit();
  if (replica.weights_fit() && pool_fits) return std::nullopt;
  const bool in_pool = replica.weights_fit();
  const CostModel& tight = in_pool ? pool : replica;
  const ParallelismSpec layout = in_pool ? p.prefill_layout() : p;
  const CostModel::FixedMemory m = tight.fixed_memory_tightest();
  return FailureRecord{
      "memory", 0.0,
      fmt::format("weights ({:.1f} GB), the activations of a {}-token iteration ({:.1f} GB) and workspace ({:.1f} GB) "
                  "need {:.1f} GB on the busiest GPU{}, which has {:.1f} GB of HBM; no KV cache fits (tp = {}, cp = "
                  "{}, ep = {}, pp = {})",
                  m.weights_bytes / kGb, m.iteration_tokens, m.activation_bytes / kGb, m.workspace_bytes / kGb,
                  m.total() / kGb, in_pool ? " of the prefill pool" : "", scenario.cluster.gpu.hbm_bytes / kGb,
                  layout.tp, layout.cp, layout.ep, layout.pp),
      "capacity"};
}

}  // namespace

std::optional<FailureRecord> load_memory_failure(const Scenario& scenario) {
  Scenario prefill_scenario = scenario;
  prefill_scenario.parallelism = scenario.parallelism.prefill_layout();
  return memory_failure(scenario, CostModel(scenario), CostModel(prefill_scenario));
}

RunResult empty_run_result(const Scenario& scenario) {
  const ParallelismSpec& p = scenario.parallelism;
  RunResult result;
  result.gpus.assign(p.gpus_used(), GpuMeter{0, 0, scenario.cluster.gpu.power_idle_w});
  result.timeline = GpuTimeline(p.gpus_used(), 0.25);
  result.replica_busy_s.assign(static_cast<std::size_t>(p.dp + p.prefill.replicas), 0.0);
  result.replica_gpus.assign(static_cast<std::size_t>(p.dp), p.gpus_per_replica());
  result.replica_gpus.insert(result.replica_gpus.end(), static_cast<std::size_t>(p.prefill.replicas),
                             p.prefill_gpus_per_replica());
  result.replica_unattributed_s.assign(result.replica_gpus.size(), 0.0);
  result.replica_stopped_s.assign(result.replica_gpus.size(), 0.0);
  return result;
}

void finish_run(RunResult& result) {
  result.end_s = std::max(result.clock_s, result.horizon_s);
  for (std::size_t k = 0; k < result.replica_stopped_s.size(); ++k) {  // idle to the end, charged to nobody
    result.replica_unattributed_s[k] += result.end_s - result.replica_stopped_s[k];
  }
  std::sort(result.failures.begin(), result.failures.end(), [](const FailureRecord& a, const FailureRecord& b) {
    if (a.time_s != b.time_s) return a.time_s < b.time_s;
    return a.kind != b.kind ? a.kind < b.kind : a.cause < b.cause;
  });
}

RunResult simulate(const Scenario& scenario, const RunOptions& options) {
  const auto wall_start = std::chrono::steady_clock::now();
  const RunShard& shard = options.shard;
  if (!shard.whole()) {
    const std::string refusal = shard_refusal(scenario, options.trace, options.simgrid_every_transfer);
    if (!refusal.empty()) throw ConfigError(fmt::format("{}: cannot run in shards: {}", scenario.name, refusal));
  }
  RunResult result = empty_run_result(scenario);
  const ParallelismSpec& p = scenario.parallelism;
  // The replica a request of the affinity path goes to: sessions (and closed-loop
  // slots) stay on one replica; streams spread by id.
  auto replica_of = [&scenario, &p](const Request& r) {
    const long key = scenario.conversation || scenario.requests->arrival == RequestStreamSpec::Arrival::concurrency
                         ? r.session
                         : r.id;
    return static_cast<int>(key % p.dp);
  };

  const CostModel cost_model(scenario);
  // A disaggregated prefill pool has its own layout and cost model.
  Scenario prefill_scenario = scenario;
  prefill_scenario.parallelism = p.prefill_layout();
  const CostModel prefill_cost(prefill_scenario);
  Workload workload(scenario);
  if (std::optional<FailureRecord> failure = memory_failure(scenario, cost_model, prefill_cost)) {
    result.failures.push_back(std::move(*failure));
    for (const Request& r : workload.all_up_front()) {
      if (!shard.owns(replica_of(r))) continue;
      ReplyRecord rec;
      rec.session = r.session;
      rec.start_s = r.arrival_s;
      rec.prompt_tokens = r.prompt_tokens;
      rec.context_tokens = r.history_tokens + r.prompt_tokens;
      rec.output_tokens = r.output_tokens;
      rec.failure = "memory";
      result.replies.push_back(rec);
    }
    result.horizon_s = workload.horizon_s();  // nothing ran: every replica idle to the end
    if (shard.whole()) finish_run(result);
    return result;
  }

  int argc = 3;
  char arg0[] = "convsim";
  char arg1[] = "--log=xbt_cfg.thres:warning";
  char arg2[] = "--log=root.thres:warning";
  char* argv[] = {arg0, arg1, arg2, nullptr};
  sg4::Engine engine(&argc, argv);
  configure_exact_models(engine);
  const Platform platform = build_platform(scenario.cluster, shard_nodes(scenario, shard));

  RunContext run{scenario, cost_model, platform, workload, result, options.progress, options.trace, {}, {}, {}};
  result.trace_from_s = options.trace_from_s;
  result.trace_to_s = options.trace_to_s;
  run.trace_from_s = options.trace_from_s;
  run.trace_to_s = options.trace_to_s;
  run.log_iterations = options.log_iterations;
  run.rank_of_gpu.assign(platform.gpus.size(), -1);
  for (int rank = 0; rank < p.gpus_used(); ++rank) run.rank_of_gpu[static_cast<std::size_t>(p.gpu_of(rank))] = rank;
  // A shard's platform may hold only its own nodes (shard_nodes): the replicas on
  // the others are left null, as are their hosts.
  std::vector<std::unique_ptr<ReplicaActor>> replicas;
  const ReplicaRole decode_role = p.disaggregated() ? ReplicaRole::decode : ReplicaRole::whole;
  for (int r = 0; r < p.dp; ++r) {
    const int first_rank = r * p.gpus_per_replica();
    const bool built = platform.gpus[static_cast<std::size_t>(p.gpu_of(first_rank))] != nullptr;
    replicas.push_back(built ? std::make_unique<ReplicaActor>(r, decode_role, scenario, cost_model, first_rank, run)
                             : nullptr);
  }
  Handoff handoff;
  for (int r = 0; r < p.prefill.replicas; ++r) {
    const int first_rank = p.dp * p.gpus_per_replica() + r * p.prefill_gpus_per_replica();
    replicas.push_back(std::make_unique<ReplicaActor>(p.dp + r, ReplicaRole::prefill, prefill_scenario, prefill_cost,
                                                      first_rank, run));
  }
  mark_exclusive_replicas(replicas, scenario, platform, options);
  for (std::size_t r = 0; r < replicas.size() && !shard.whole(); ++r) {
    if (!replicas[r] || replicas[r]->runner().exclusive()) continue;
    throw ConfigError(fmt::format("{}: cannot run in shards: replica {}'s collectives and sends cross links that other "
                                  "traffic uses (another replica, KV-cache tiers, a fault), so they run in SimGrid's "
                                  "flow solver, whose times depend in the last bits on every replica's events",
                                  scenario.name, r));
  }
  std::unique_ptr<Router> router;
  // A disaggregated pool is fed every request up front; otherwise a source's
  // arrivals are pulled by the router as they fall due.
  const std::vector<Request> initial = p.disaggregated() ? workload.all_up_front() : workload.initial_requests();
  if (p.disaggregated()) {
    for (int r = 0; r < p.dp; ++r) handoff.decode.push_back(replicas[static_cast<std::size_t>(r)].get());
    for (int r = 0; r < p.prefill.replicas; ++r) handoff.prefill.push_back(replicas[static_cast<std::size_t>(p.dp + r)].get());
    for (auto& replica : replicas) replica->use_handoff(&handoff);
    handoff.unfinished = static_cast<long>(initial.size());
    for (const Request& r : initial) handoff.prefill_for(r.session)->accept(r);
  } else if (scenario.serving.routing != ServingSpec::Routing::affinity || workload.has_arrivals()) {
    std::vector<RoutedReplica*> targets;
    for (auto& replica : replicas) targets.push_back(replica.get());
    std::function<std::optional<Request>()> pull;
    if (workload.has_arrivals()) pull = [&workload] { return workload.next_arrival(); };
    router = std::make_unique<Router>(scenario.serving.routing, scenario.conversation.has_value(), targets, pull);
    for (auto& replica : replicas) replica->use_router(router.get());
    for (const Request& r : initial) router->push(r);
    Router* body = router.get();
    sg4::Actor::create("router", platform.gpus[0], [body] { (*body)(); });
  } else {
    for (const Request& r : initial) {
      const int replica = replica_of(r);
      if (shard.owns(replica)) replicas[static_cast<std::size_t>(replica)]->accept(r);
    }
  }
  // Replicas run ahead on clocks of their own (replica_clock.hpp) where nothing
  // else can affect them: not in a disaggregated pool (handoffs arrive at any
  // time); with a router, only up to its next routing, which the replicas cannot
  // bring forward, except by the requests a closed loop (requests.arrival:
  // concurrency) issues as others complete. Among several replicas, the trace and
  // the iteration log, kept in the order of events, need every wait on SimGrid.
  const bool alone = replicas.size() == 1;
  const bool closed_loop =
      scenario.requests && scenario.requests->arrival == RequestStreamSpec::Arrival::concurrency;
  const bool independent = options.run_ahead && !p.disaggregated() &&
                           (alone || (!options.trace && !options.log_iterations && !closed_loop));
  for (std::size_t r = 0; r < replicas.size(); ++r) {
    ReplicaActor* replica = replicas[r].get();
    if (!independent || !replica || !replica->runner().exclusive() || !shard.owns(static_cast<int>(r))) continue;
    if (router) {
      const Router* next = router.get();
      replica->run_ahead_until([next] { return next->next_event_s(); });
    } else {
      replica->run_ahead();
    }
    ++result.replicas_on_own_clock;
  }
  for (std::size_t r = 0; r < replicas.size(); ++r) {
    if (!shard.owns(static_cast<int>(r))) continue;  // another shard's: its records come from there
    ReplicaActor* actor = replicas[r].get();
    ++run.replicas_running;
    sg4::Actor::create(fmt::format("replica-{}", r), actor->home(), [actor] { (*actor)(); });
  }
  std::vector<std::pair<sg4::Link*, std::vector<const FaultSpec*>>> link_faults;  // in the order first named
  for (const FaultSpec& f : scenario.faults) {
    if (f.kind != FaultSpec::Kind::link_slow) continue;
    const std::vector<sg4::Link*>& links = f.link == FaultSpec::Link::nvlink ? platform.nvlinks
                                           : f.link == FaultSpec::Link::nic  ? platform.nics
                                                                             : platform.pcie;
    sg4::Link* link = links[static_cast<std::size_t>(f.gpu)];
    auto it = std::find_if(link_faults.begin(), link_faults.end(), [link](const auto& e) { return e.first == link; });
    if (it == link_faults.end()) it = link_faults.insert(link_faults.end(), {link, {}});
    it->second.push_back(&f);
  }
  for (const auto& [link, faults] : link_faults) {
    sg4::Actor::create(fmt::format("fault-{}", link->get_name()), platform.gpus[faults.front()->gpu],
                       [link = link, faults = faults] { run_link_faults(faults, link); })
        ->daemonize();
  }
  ClockTicks ticks;  // timers' dates reached exactly, whoever else runs (alarm.hpp)
  if (run.replicas_running > 0) {
    run.ticks = &ticks;
    ticks.start();
  }
  engine.run();
  if (options.progress) std::fprintf(stderr, "\n");

  result.clock_s = sg4::Engine::get_clock();
  result.horizon_s = workload.horizon_s();
  if (shard.whole()) {
    finish_run(result);
  } else if (const std::string refusal = shard_result_refusal(result); !refusal.empty()) {
    throw ConfigError(fmt::format("{}: cannot run in shards: {}; run it whole", scenario.name, refusal));
  }
  result.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return result;
}

}  // namespace convsim
