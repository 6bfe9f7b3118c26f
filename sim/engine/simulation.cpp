#include "sim/engine/simulation.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <cstdio>
#include <memory>
#include <deque>
#include <map>
#include <mutex>
#include <queue>
#include <set>

#include <fmt/format.h>
#include <simgrid/s4u.hpp>

#include "models/power.hpp"
#include "sim/cluster/collectives.hpp"
#include "sim/cluster/platform.hpp"
#include "sim/engine/iteration_cost.hpp"
#include "sim/engine/kv_tier_manager.hpp"
#include "sim/engine/router.hpp"
#include "sim/engine/run_context.hpp"
#include "sim/scheduler/batch_scheduler.hpp"
#include "sim/workload/workload.hpp"

namespace sg4 = simgrid::s4u;

namespace convsim {
namespace {

constexpr double kGb = 1e9;
// A route from GPU to GPU crosses two port links (GPU to switch, switch to GPU);
// fabric presets give the energy of one crossing.
constexpr double kLinkCrossingsPerRoute = 2.0;

struct LaterArrival {
  bool operator()(const Request& a, const Request& b) const {
    return a.ready_s() != b.ready_s() ? a.ready_s() > b.ready_s() : a.id > b.id;
  }
};


class ReplicaActor : public RoutedReplica {
 public:
  ReplicaActor(int index, RunContext& run)
      : index_(index),
        run_(run),
        memory_(KvMemory::kUnitsPerPool),
        scheduler_(BatchLimits{run.scenario.serving.max_batch_seqs, run.scenario.serving.prefill_chunk_tokens,
                               run.scenario.serving.kv_block_tokens},
                   // A request stream has no history to reuse: its caches are freed at once.
                   // Offloaded caches are kept until the tier manager moves them out.
                   run.scenario.conversation &&
                           run.scenario.context.kv_between_turns != ContextSpec::KvBetweenTurns::drop
                       ? BatchScheduler::KvPolicy::keep
                       : BatchScheduler::KvPolicy::drop,
                   memory_, [&cost = run.cost_model](long tokens) { return cost.kv_footprint_units(tokens); }),
        tiers_(run.scenario, run.cost_model, run.platform, index * run.scenario.parallelism.gpus_per_replica(),
               memory_, scheduler_, run.result) {
    const ParallelismSpec& p = run.scenario.parallelism;
    first_gpu_ = index * p.gpus_per_replica();
    for (int s = 0; s < p.pp; ++s) {
      HostList hosts;
      for (int r = 0; r < p.tp; ++r) hosts.push_back(run.platform.gpus[first_gpu_ + s * p.tp + r]);
      stage_hosts_.push_back(hosts);
    }
    tiers_.on_transfer([&run](TraceSlice slice) { run.add_slice(std::move(slice)); });
    for (const FaultSpec& f : run.scenario.faults) {
      const bool loss = f.kind == FaultSpec::Kind::gpu_lost || f.kind == FaultSpec::Kind::node_lost;
      if (loss && hits_replica(f)) losses_.push_back(&f);
    }
  }

  sg4::Host* home() const { return stage_hosts_[0][0]; }
  void accept(const Request& request) { pending_.push(request); }
  void use_router(Router* router) { router_ = router; }
  int load() const override { return static_cast<int>(pending_.size()) + scheduler_.queued(); }
  void deliver(const Request& request) override {
    pending_.push(request);
    wake();
  }
  void wake() override { cv_->notify_all(); }

  void operator()() {
    for (;;) {
      apply_losses();
      const double now = sg4::Engine::get_clock();
      while (!pending_.empty() && pending_.top().ready_s() <= now) {
        Request r = pending_.top();
        pending_.pop();
        // A conversation's requests are served one after another, in order.
        if (run_.scenario.conversation && !busy_sessions_.insert(r.session).second) {
          parked_[r.session].push_back(r);
          continue;
        }
        admit_or_fail(r);
      }
      tiers_.poll();
      for (const Request& r : scheduler_.admit()) fail_memory(r);
      if (scheduler_.has_running()) scheduler_.reserve_next_tokens();
      if (scheduler_.has_running()) {
        run_iteration();
      } else if (tiers_.restoring()) {
        tiers_.wait(pending_.empty() ? -1.0 : pending_.top().ready_s());
      } else if (!pending_.empty()) {
        wait_until(std::min(pending_.top().ready_s(), next_loss_s()));
      } else if (router_) {
        if (router_->idle(index_)) break;
        wait_until(next_loss_s());  // a delivery, the end of the run, or a loss
        if (router_->finished()) break;
        router_->busy(index_);
      } else {
        break;
      }
    }
    tiers_.finish();
    run_.result.kv_evictions += memory_.evictions();
    run_.result.preemptions += scheduler_.preemptions();
  }

 private:
  // Whether a fault's GPU or node is one of this replica's.
  bool hits_replica(const FaultSpec& f) const {
    const int count = run_.scenario.parallelism.gpus_per_replica();
    for (int g = first_gpu_; g < first_gpu_ + count; ++g) {
      if (f.kind == FaultSpec::Kind::node_lost ? run_.platform.node_of(g) == f.node : g == f.gpu) return true;
    }
    return false;
  }

  double next_loss_s() const {
    double next = std::numeric_limits<double>::infinity();
    for (const FaultSpec* f : losses_) next = std::min(next, f->at_s);
    return next;
  }

  // A lost GPU or node takes the replica down until repaired: the KV caches it held
  // are gone and its running sequences start over.
  void apply_losses() {
    for (auto it = losses_.begin(); it != losses_.end();) {
      const FaultSpec& f = **it;
      if (sg4::Engine::get_clock() < f.at_s) {
        ++it;
        continue;
      }
      const int caches = memory_.drop_all_kept();
      const int running = scheduler_.preempt_all();
      const std::string what = f.kind == FaultSpec::Kind::node_lost ? fmt::format("node {}", f.node)
                                                                    : fmt::format("GPU {}", f.gpu);
      run_.record_failure("fault", f.at_s,
                          fmt::format("{} lost at minute {:.2f}: replica {} down until minute {:.2f}; {} kept KV "
                                      "caches lost, {} running sequences start over",
                                      what, f.at_s / 60.0, index_, (f.at_s + f.repair_s) / 60.0, caches, running));
      ++run_.result.faults_applied;
      const double back_s = f.at_s + f.repair_s;
      it = losses_.erase(it);
      if (back_s > sg4::Engine::get_clock()) sg4::this_actor::sleep_until(back_s);
    }
  }

  // A TP group computes at the pace of its slowest GPU.
  double slowdown(int stage) const {
    const double now = sg4::Engine::get_clock();
    double factor = 1.0;
    const int tp = run_.scenario.parallelism.tp;
    for (const FaultSpec& f : run_.scenario.faults) {
      if (f.kind != FaultSpec::Kind::gpu_slow || now < f.at_s || (f.until_s >= 0 && now >= f.until_s)) continue;
      const int first = first_gpu_ + stage * tp;
      if (f.gpu >= first && f.gpu < first + tp) factor = std::max(factor, f.factor);
    }
    return factor;
  }

  void admit_or_fail(const Request& r) {
    const long context = r.history_tokens + r.prompt_tokens + r.output_tokens;
    const long limit = run_.scenario.model.spec.max_context_tokens;
    if (context > limit) {
      const std::string cause = fmt::format(
          "context of {} tokens (history {} + prompt {} + reply {}) exceeds the model's {} tokens",
          context, r.history_tokens, r.prompt_tokens, r.output_tokens, limit);
      fail(r, "context_limit", cause);
      return;
    }
    if (!tiers_.hold_for_restore(r)) scheduler_.add_waiting(r);
  }

  void fail_memory(const Request& r) {
    const long tokens = r.history_tokens + r.prompt_tokens + r.output_tokens;
    const double share = static_cast<double>(run_.cost_model.kv_footprint_units(tokens)) /
                         static_cast<double>(KvMemory::kUnitsPerPool);
    const double pool_gb = run_.cost_model.kv_pool_bytes_min() / kGb;
    fail(r, "memory",
         fmt::format("KV cache of {} tokens needs {:.1f} GB on the busiest GPU; {:.1f} GB are free there after "
                     "weights, activations and workspace",
                     tokens, share * pool_gb, pool_gb));
  }

  void fail(const Request& r, const std::string& kind, const std::string& cause) {
    const double now = sg4::Engine::get_clock();
    run_.record_failure(kind, now, cause);
    ReplyRecord rec = base_record(r);
    rec.failure = kind;
    run_.result.replies.push_back(rec);
    continue_session(r, ReplyOutcome{now, now});
  }

  ReplyRecord base_record(const Request& r) const {
    ReplyRecord rec;
    rec.kind = std::string(request_kind_name(r.kind));
    rec.host_delay_s = r.host_delay_s;
    rec.session = r.session;
    rec.turn = r.turn;
    rec.speaker = r.speaker;
    rec.replica = index_;
    rec.start_s = r.arrival_s;
    rec.context_tokens = r.history_tokens + r.prompt_tokens;
    rec.prompt_tokens = r.prompt_tokens;
    rec.output_tokens = r.output_tokens;
    rec.human_speech_s = r.human_speech_s;
    rec.reply_speech_s = r.reply_speech_s;
    return rec;
  }

  // Without a router a replica sleeps; with one, a delivery may wake it earlier.
  void wait_until(double time_s) {
    if (!router_) {
      sg4::this_actor::sleep_until(time_s);
      return;
    }
    std::unique_lock<sg4::Mutex> lock(*mutex_);
    if (time_s == std::numeric_limits<double>::infinity()) {
      cv_->wait(lock);
    } else {
      cv_->wait_until(lock, time_s);
    }
  }

  void continue_session(const Request& r, const ReplyOutcome& outcome) {
    for (const Request& next : run_.workload.follow_up(r, outcome)) {
      if (router_) {
        router_->push(next);
      } else {
        pending_.push(next);
      }
    }
    if (!run_.scenario.conversation) return;
    busy_sessions_.erase(r.session);
    auto parked = parked_.find(r.session);
    if (parked != parked_.end() && !parked->second.empty()) {
      pending_.push(parked->second.front());  // already due: served next
      parked->second.pop_front();
    }
  }

  void run_iteration() {
    const ParallelismSpec& p = run_.scenario.parallelism;
    const ClusterSpec& cluster = run_.scenario.cluster;
    const IterationPlan plan = scheduler_.plan();
    const IterationCost cost = run_.cost_model.iteration(plan.work);
    const double start_s = sg4::Engine::get_clock();
    const double comm_w = communication_power_w(cluster.gpu);

    double span_s = 0, active_energy_j = 0, active_time_s = 0, net_bytes = 0, network_energy_j = 0;
    const double memory_bytes = run_.cost_model.gpu_memory_bytes(memory_.used_units(), plan.tokens);
    for (int s = 0; s < p.pp; ++s) {
      const StageCost& stage = cost.stages[s];
      const HostList& hosts = stage_hosts_[s];
      const double stage_start_s = sg4::Engine::get_clock();
      // The all-reduce activity pays one route latency itself; the other hops are
      // accounted on the GPUs here.
      const double route_latency_s = stage.work.allreduces > 0 ? cluster.scale_up.latency_s : 0.0;
      const double latency_s = std::max(0.0, stage.collective_latency_s - route_latency_s);
      const double compute_s = stage.timing.compute_s * slowdown(s);
      run_compute(compute_s + latency_s);
      double t = sg4::Engine::get_clock();
      const double allreduce_bytes = run_allreduce(hosts, stage.allreduce, stage.work.allreduces);
      const double allreduce_s = sg4::Engine::get_clock() - t;
      double send_bytes = 0, send_s = 0;
      if (s + 1 < p.pp) {
        t = sg4::Engine::get_clock();
        send_bytes = run_pairwise_send(hosts, stage_hosts_[s + 1], stage.work.send_bytes / p.tp);
        send_s = sg4::Engine::get_clock() - t;
        const FabricSpec& f = run_.cost_model.send_crosses_nodes(s) ? cluster.scale_out : cluster.scale_up;
        network_energy_j += send_bytes * f.energy_j_per_byte * kLinkCrossingsPerRoute;
      }
      network_energy_j += allreduce_bytes * cluster.scale_up.energy_j_per_byte * kLinkCrossingsPerRoute;
      net_bytes += allreduce_bytes + send_bytes;
      run_.result.activities += (stage.timing.compute_s + latency_s > 0 ? 1 : 0) + (allreduce_bytes > 0 ? 1 : 0) +
                                (send_bytes > 0 ? 1 : 0);

      const double comm_s = latency_s + allreduce_s + send_s;
      if (run_.trace) {
        const std::string kind = plan.decode_tokens == static_cast<long>(plan.members.size()) ? "decode"
                                 : plan.decode_tokens == 0                                       ? "prefill"
                                                                                                 : "mixed";
        const int sequences = static_cast<int>(plan.members.size());
        for (int r = 0; r < p.tp; ++r) {
          const std::string track = fmt::format("gpu {}", first_gpu_ + s * p.tp + r);
          run_.add_slice({track, kind, stage_start_s, compute_s + latency_s, plan.tokens, sequences});
          run_.add_slice({track, "all-reduce", stage_start_s + compute_s + latency_s, allreduce_s,
                          plan.tokens, sequences});
        }
        run_.add_slice({fmt::format("replica {} stage {} -> {}", index_, s, s + 1), "send",
                        stage_start_s + compute_s + latency_s + allreduce_s, send_s, plan.tokens,
                        sequences});
      }
      const double gpu_energy_j = compute_s * stage.busy_power_w + comm_s * comm_w;
      const double gpu_time_s = compute_s + comm_s;
      for (int r = 0; r < p.tp; ++r) {
        const int gpu = first_gpu_ + s * p.tp + r;
        GpuMeter& meter = run_.result.gpus[gpu];
        meter.active_energy_j += gpu_energy_j;
        meter.active_time_s += gpu_time_s;
        run_.result.timeline.add(gpu, stage_start_s, compute_s, comm_s, gpu_energy_j, memory_bytes);
      }
      active_energy_j += gpu_energy_j * p.tp;
      active_time_s += gpu_time_s * p.tp;
      span_s += gpu_time_s;
    }
    const double end_s = sg4::Engine::get_clock();
    const double idle_w = cluster.gpu.power_idle_w;
    const double iteration_energy_j =
        active_energy_j + idle_w * (span_s * p.gpus_per_replica() - active_time_s);
    run_.result.replica_busy_s[index_] += span_s;
    run_.result.inter_token_s.add(span_s, plan.decode_tokens);
    run_.result.network_energy_j += network_energy_j;
    ++run_.result.iterations;

    std::vector<Sequence>& running = scheduler_.running();
    const std::vector<double> shares = run_.cost_model.work_shares(plan.work);
    for (std::size_t k = 0; k < plan.members.size(); ++k) {
      Sequence& seq = running[plan.members[k]];
      const SequenceWork& w = plan.work[k];
      const double share = shares[k];
      seq.energy_j += iteration_energy_j * share;
      seq.network_energy_j += network_energy_j * share;
      seq.flops += cost.flops * share;
      seq.hbm_bytes += cost.hbm_bytes * share;
      seq.net_bytes += net_bytes * share;
      seq.kv_bytes += run_.cost_model.kv_bytes_for(static_cast<double>(w.context_tokens + 2 * w.new_tokens));
      seq.peak_gpu_mem_bytes = std::max(seq.peak_gpu_mem_bytes, memory_bytes);
    }
    for (const Sequence& seq : scheduler_.finish_iteration(plan, start_s, end_s)) complete(seq);
    report_progress(end_s);
  }

  void complete(const Sequence& seq) {
    ReplyRecord rec = base_record(seq.request);
    rec.served = true;
    rec.cached_tokens = seq.cached_tokens;
    rec.queue_s = seq.scheduled_s - seq.request.arrival_s;
    rec.ttft_s = seq.request.output_tokens > 0 ? seq.first_token_s - seq.request.arrival_s : 0.0;
    rec.e2e_s = seq.done_s - seq.request.arrival_s;
    rec.tpot_s = seq.request.output_tokens > 1
                     ? (seq.done_s - seq.first_token_s) / static_cast<double>(seq.request.output_tokens - 1)
                     : 0.0;
    rec.energy_j = seq.energy_j;
    rec.network_energy_j = seq.network_energy_j + tiers_.take_pending_energy(seq.request.session) +
                           tiers_.after_reply(seq.request.session);
    rec.flops = seq.flops;
    rec.hbm_bytes = seq.hbm_bytes;
    rec.net_bytes = seq.net_bytes;
    rec.kv_bytes = seq.kv_bytes;
    rec.peak_gpu_mem_bytes = seq.peak_gpu_mem_bytes;
    run_.result.replies.push_back(rec);
    continue_session(seq.request, ReplyOutcome{seq.request.output_tokens > 0 ? seq.first_token_s : seq.done_s,
                                                seq.done_s});
  }

  void report_progress(double now_s) {
    if (!run_.progress || (run_.result.iterations & 1023) != 0) return;
    const auto wall = std::chrono::steady_clock::now();
    if (wall - run_.last_progress < std::chrono::milliseconds(500)) return;
    run_.last_progress = wall;
    const double horizon_s = run_.workload.horizon_s();
    if (horizon_s > 0) {
      std::fprintf(stderr, "\r[convsim] simulated %.1f of %.1f min, %zu replies ", now_s / 60.0, horizon_s / 60.0,
                   run_.result.replies.size());
    } else {
      std::fprintf(stderr, "\r[convsim] simulated %.1f s, %zu replies ", now_s, run_.result.replies.size());
    }
  }

  int index_;
  RunContext& run_;
  int first_gpu_ = 0;
  std::vector<HostList> stage_hosts_;
  std::priority_queue<Request, std::vector<Request>, LaterArrival> pending_;
  std::set<int> busy_sessions_;                // sessions with a request in flight
  std::map<int, std::deque<Request>> parked_;  // their next requests, in order
  KvMemory memory_;
  BatchScheduler scheduler_;
  KvTierManager tiers_;
  std::vector<const FaultSpec*> losses_;  // losses of this replica's GPUs, not yet applied
  Router* router_ = nullptr;
  sg4::MutexPtr mutex_ = sg4::Mutex::create();
  sg4::ConditionVariablePtr cv_ = sg4::ConditionVariable::create();
};

// Slows one link for a while (a daemon: it does not keep the run going).
void run_link_fault(const FaultSpec& f, simgrid::s4u::Link* link) {
  const double bandwidth = link->get_bandwidth();
  sg4::this_actor::sleep_until(f.at_s);
  link->set_bandwidth(bandwidth / f.factor);
  if (f.until_s < 0) return;
  sg4::this_actor::sleep_until(f.until_s);
  link->set_bandwidth(bandwidth);
}

}  // namespace

RunResult simulate(const Scenario& scenario, const RunOptions& options) {
  const auto wall_start = std::chrono::steady_clock::now();
  RunResult result;
  const ParallelismSpec& p = scenario.parallelism;
  result.gpus.assign(p.gpus_used(), GpuMeter{0, 0, scenario.cluster.gpu.power_idle_w});
  result.timeline = GpuTimeline(p.gpus_used(), 0.25);
  result.replica_busy_s.assign(p.dp, 0.0);
  result.replica_gpus.assign(p.dp, p.gpus_per_replica());

  const CostModel cost_model(scenario);
  Workload workload(scenario);
  if (!cost_model.weights_fit()) {
    const double need = cost_model.weight_bytes_per_gpu_max() + scenario.serving.workspace_bytes_per_gpu;
    result.failures.push_back(FailureRecord{
        "memory", 0.0,
        fmt::format("weights and workspace need {:.1f} GB on the busiest GPU, which has {:.1f} GB of HBM; "
                    "no KV cache fits (tp = {}, pp = {})",
                    need / kGb, scenario.cluster.gpu.hbm_bytes / kGb, p.tp, p.pp),
        "capacity"});
    for (const Request& r : workload.initial_requests()) {
      ReplyRecord rec;
      rec.session = r.session;
      rec.start_s = r.arrival_s;
      rec.prompt_tokens = r.prompt_tokens;
      rec.context_tokens = r.history_tokens + r.prompt_tokens;
      rec.output_tokens = r.output_tokens;
      rec.failure = "memory";
      result.replies.push_back(rec);
    }
    result.end_s = workload.horizon_s();
    return result;
  }

  int argc = 3;
  char arg0[] = "convsim";
  char arg1[] = "--log=xbt_cfg.thres:warning";
  char arg2[] = "--log=root.thres:warning";
  char* argv[] = {arg0, arg1, arg2, nullptr};
  sg4::Engine engine(&argc, argv);
  configure_exact_models(engine);
  const Platform platform = build_platform(scenario.cluster);

  RunContext run{scenario, cost_model, platform, workload, result, options.progress, options.trace};
  std::vector<std::unique_ptr<ReplicaActor>> replicas;
  for (int r = 0; r < p.dp; ++r) replicas.push_back(std::make_unique<ReplicaActor>(r, run));
  std::unique_ptr<Router> router;
  if (scenario.serving.routing != ServingSpec::Routing::affinity) {
    std::vector<RoutedReplica*> targets;
    for (auto& replica : replicas) targets.push_back(replica.get());
    router = std::make_unique<Router>(scenario.serving.routing, scenario.conversation.has_value(), targets);
    for (auto& replica : replicas) replica->use_router(router.get());
    for (const Request& r : workload.initial_requests()) router->push(r);
    Router* body = router.get();
    sg4::Actor::create("router", platform.gpus[0], [body] { (*body)(); });
  } else {
    for (const Request& r : workload.initial_requests()) {
      // Sessions (and closed-loop slots) stay on one replica; streams spread by id.
      const long key = scenario.conversation || scenario.requests->arrival == RequestStreamSpec::Arrival::concurrency
                           ? r.session
                           : r.id;
      replicas[static_cast<std::size_t>(key % p.dp)]->accept(r);
    }
  }
  for (int r = 0; r < p.dp; ++r) {
    ReplicaActor* actor = replicas[r].get();
    sg4::Actor::create(fmt::format("replica-{}", r), actor->home(), [actor] { (*actor)(); });
  }
  for (const FaultSpec& f : scenario.faults) {
    if (f.kind != FaultSpec::Kind::link_slow) continue;
    const std::vector<sg4::Link*>& links = f.link == FaultSpec::Link::nvlink ? platform.nvlinks
                                           : f.link == FaultSpec::Link::nic  ? platform.nics
                                                                             : platform.pcie;
    sg4::Link* link = links[static_cast<std::size_t>(f.gpu)];
    sg4::Actor::create(fmt::format("fault-{}", link->get_name()), platform.gpus[f.gpu], [&f, link] {
      run_link_fault(f, link);
    })->daemonize();
  }
  engine.run();
  if (options.progress) std::fprintf(stderr, "\n");

  result.end_s = std::max(sg4::Engine::get_clock(), workload.horizon_s());
  result.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return result;
}

}  // namespace convsim
