#include "sim/engine/replica.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>

#include <fmt/format.h>

#include "sim/cluster/collectives.hpp"
#include "sim/engine/iteration_meter.hpp"
#include "sim/engine/speculative.hpp"

namespace sg4 = simgrid::s4u;

namespace convsim {
namespace {

BatchScheduler::KvPolicy kv_policy(const Scenario& s, ReplicaRole role) {
  // A request stream has no history to reuse: its caches are freed at once. A
  // decode replica gets each turn's cache from a prefill replica. Offloaded caches
  // are kept until the tier manager moves them out.
  const bool keeps = s.conversation && s.context.kv_between_turns != ContextSpec::KvBetweenTurns::drop;
  return keeps && role != ReplicaRole::decode ? BatchScheduler::KvPolicy::keep : BatchScheduler::KvPolicy::drop;
}

// The batch limits with serving.speculative's k + 1 tokens per decoding step.
BatchLimits speculative_limits(BatchLimits limits, const ServingSpec& serving) {
  if (serving.speculative) {
    limits.speculative_tokens = serving.speculative->tokens;
    limits.tokens_per_step = expected_tokens_per_step(serving.speculative->acceptance, serving.speculative->tokens);
  }
  return limits;
}

std::vector<int> flatten(const std::vector<std::vector<int>>& stages) {
  std::vector<int> gpus;
  for (const auto& stage : stages) gpus.insert(gpus.end(), stage.begin(), stage.end());
  return gpus;
}

}  // namespace

void Handoff::finished_one() {
  if (--unfinished > 0) return;
  for (ReplicaActor* r : prefill) r->wake();
  for (ReplicaActor* r : decode) r->wake();
}

ReplicaActor::ReplicaActor(int index, ReplicaRole role, const Scenario& layout, const CostModel& cost,
                           int first_rank, RunContext& run)
    : index_(index),
      role_(role),
      run_(run),
      layout_(layout),
      cost_(cost),
      stage_gpus_(replica_stage_gpus(layout.parallelism, run.scenario.parallelism, first_rank)),
      memory_(KvMemory::kUnitsPerPool),
      scheduler_(speculative_limits(BatchLimits{layout.serving.max_batch_seqs, layout.serving.prefill_chunk_tokens,
                                                layout.serving.kv_block_tokens},
                                    layout.serving),
                 kv_policy(layout, role), memory_, [&cost](long tokens) { return cost.kv_footprint_units(tokens); }),
      tiers_(layout, cost, run.platform, flatten(stage_gpus_), memory_, scheduler_, run.result),
      runner_(run.scenario, layout.parallelism, run.platform, stage_gpus_, fmt::format("replica {}", index)),
      engine_(make_serving_engine(run.scenario.serving.engine)),
      power_(replica_power(layout, layout.parallelism.gpus_per_replica())) {
  tiers_.on_transfer([&run](TraceSlice slice) { run.add_slice(std::move(slice)); });
  tiers_.use_clock(&clock_);
  runner_.set_record_segments(run.log_iterations);
  // A stage's GPUs record the same activity each iteration: one timeline track each stage.
  for (const std::vector<int>& stage : stage_gpus_) {
    std::vector<int> ranks;
    for (int gpu : stage) ranks.push_back(run.rank_of_gpu[static_cast<std::size_t>(gpu)]);
    run.result.timeline.share(ranks);
  }
  if (layout.parallelism.pp > 1 && engine_->pipelines_prefill_chunks()) scheduler_.pipeline_long_prefills();
  if (layout.serving.prefix_caching && role != ReplicaRole::decode) {
    scheduler_.use_prefix_cache(layout.serving.prefix_cache_tokens);
  }
  for (const FaultSpec& f : run.scenario.faults) {
    const bool loss = f.kind == FaultSpec::Kind::gpu_lost || f.kind == FaultSpec::Kind::node_lost;
    if (loss && hits_replica(f)) losses_.push_back(&f);
  }
}

sg4::Host* ReplicaActor::home() const { return run_.platform.gpus[static_cast<std::size_t>(stage_gpus_[0][0])]; }

std::vector<int> ReplicaActor::gpus() const { return flatten(stage_gpus_); }

void ReplicaActor::deliver(const Request& request) {
  pending_.push(request);
  wake();
}

void ReplicaActor::operator()() {
  for (;;) {
    if (tiers_.quiet()) clock_.resume();  // no KV-cache transfer of its own in SimGrid
    apply_losses();
    const double now = clock_.now();
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
    const double waited_from_s = clock_.now();
    if (scheduler_.has_running()) {
      run_iteration();
    } else if (tiers_.restore_in_flight()) {  // woken by its end or by a delivery
      wait_until(std::min(pending_.empty() ? std::numeric_limits<double>::infinity() : pending_.top().ready_s(),
                          next_loss_s()));
      charge_wait(waited_from_s, true);
    } else if (tiers_.restoring()) {
      tiers_.wait(pending_.empty() ? -1.0 : pending_.top().ready_s());
      charge_wait(waited_from_s, true);
    } else if (!pending_.empty()) {
      wait_until(std::min(pending_.top().ready_s(), next_loss_s()));
      charge_wait(waited_from_s, false);
    } else {
      const bool more = wait_for_work();
      charge_wait(waited_from_s, false);
      if (!more) break;
    }
  }
  if (clock_.may_run_ahead()) ++run_.replicas_on_own_clock_done;
  clock_.pause();
  run_.result.replica_stopped_s[static_cast<std::size_t>(index_)] = clock_.now();
  if (--run_.replicas_running == 0 && run_.ticks != nullptr) run_.ticks->stop();
  // Reservation shares of conversations cut by the end of the run go to their last record.
  run_.result.replies.add_to_last_record(reserved_);
  reserved_.clear();
  tiers_.finish();
  run_.result.kv_evictions += memory_.evictions();
  run_.result.preemptions += scheduler_.preemptions();
  const PrefixCacheStats prefix = scheduler_.prefix_stats();
  run_.result.prefix_lookup_blocks += prefix.lookup_blocks;
  run_.result.prefix_hit_blocks += prefix.hit_blocks;
  run_.result.prefix_lookup_tokens += prefix.lookup_tokens;
  run_.result.prefix_hit_tokens += prefix.hit_tokens;
  run_.result.prefix_evicted_blocks += prefix.evicted_blocks;
}

long ReplicaActor::load_tokens() const {
  long tokens = scheduler_.load_tokens();
  // pending_ is a priority queue: count what it holds through a copy (routers ask
  // rarely, once per routed request).
  auto pending = pending_;
  for (; !pending.empty(); pending.pop()) {
    const Request& r = pending.top();
    tokens += r.history_tokens + r.prompt_tokens + r.output_tokens;
  }
  return tokens;
}

bool ReplicaActor::wait_for_work() {
  if (router_) {
    clock_.pause();  // the router's state, read and changed at SimGrid's date
    if (router_->idle(index_)) return false;
    wait_until(next_loss_s());  // a delivery, the end of the run, or a loss
    if (router_->finished()) return false;
    router_->busy(index_);
    return true;
  }
  if (handoff_ && handoff_->unfinished > 0) {
    wait_until(next_loss_s());  // a delivery, the last reply anywhere, or a loss
    return true;
  }
  return false;
}

ReplyRecord ReplicaActor::base_record(const Request& r) const {
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

// Without a router or a handoff a replica sleeps; with one, a delivery may wake it
// earlier.
void ReplicaActor::wait_until(double time_s) {
  if (!router_ && !handoff_) {
    clock_.wait_until(time_s);
    return;
  }
  // Before the router's next routing nothing is delivered, so a wait that ends
  // before it is the replica's own, unless a wake-up is already pending.
  if (clock_.ahead() && !woken_ && time_s < clock_.horizon()) {
    clock_.wait_until(time_s);
    return;
  }
  clock_.pause();
  std::unique_lock<sg4::Mutex> lock(*mutex_);
  if (woken_) {  // woken while on the way here: the caller looks again at once
    woken_ = false;
    return;
  }
  clock_.wait_until(lock, *cv_, time_s);
  woken_ = false;
}

void ReplicaActor::continue_session(const Request& r, const ReplyOutcome& outcome) {
  const std::vector<Request> next_requests = run_.workload.follow_up(r, outcome);
  if (run_.scenario.conversation && r.kind == RequestKind::reply && next_requests.empty()) {
    run_.finished_sessions.insert(r.session);
  }
  for (const Request& next : next_requests) {
    if (handoff_) {
      ++handoff_->unfinished;
      handoff_->prefill_for(next.session)->deliver(next);
    } else if (router_) {
      if (router_->queues(next)) clock_.pause();  // the router reacts at once, at SimGrid's date
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

void ReplicaActor::run_iteration() {
  IterationPlan& plan = plan_;
  scheduler_.plan_into(plan);
  std::vector<IterationCost>& micro = micro_;  // resized, not cleared: each keeps its stages' capacity
  double flops = 0, hbm_bytes = 0;
  // A pipelined prompt runs as chunks of the token budget; otherwise the layout's micro-batches.
  const long chunk_tokens = plan.micro_batch_tokens;
  const int parts = chunk_tokens > 0 ? static_cast<int>((plan.tokens + chunk_tokens - 1) / chunk_tokens)
                                     : layout_.parallelism.micro_batches;
  if (parts == 1) {
    micro.resize(1);
    cost_.iteration_into(plan.work, micro[0]);
  } else {
    const std::vector<std::vector<SequenceWork>> split = split_micro_batches(plan.work, parts);
    micro.resize(split.size());
    for (std::size_t k = 0; k < split.size(); ++k) cost_.iteration_into(split[k], micro[k]);
  }
  for (const IterationCost& c : micro) {
    flops += c.flops;
    hbm_bytes += c.hbm_bytes;
  }
  const double start_s = clock_.now();
  // Speculative decoding: the draft's passes run first, on the first stage's GPUs.
  const DraftCost draft = draft_cost(layout_, cost_, plan.work, plan.decode_tokens);
  if (draft.time_s > 0) clock_.wait_for(draft.time_s);
  flops += draft.flops;
  hbm_bytes += draft.hbm_bytes;
  // A GPU holds one micro-batch's activations at a time.
  const double memory_bytes =
      cost_.gpu_memory_bytes(memory_.used_units(), chunk_tokens > 0 ? std::min(plan.tokens, chunk_tokens) : plan.tokens);
  const int sequences = static_cast<int>(plan.members.size());
  const char* kind = plan.decode_tokens == sequences ? "decode" : plan.decode_tokens == 0 ? "prefill" : "mixed";
  const std::function<void(TraceSlice)> sink = [this, sequences](TraceSlice slice) {
    slice.sequences = sequences;
    run_.add_slice(std::move(slice));
  };
  double gpu_s = 0;
  for (const IterationCost& c : micro) gpu_s += c.uncontended_s;
  const double sequence_gpu_s = engine_->sequence_gpu_s(sequences);
  const double host_s = engine_->exposed_host_s(engine_->host_s(sequences), gpu_s + sequence_gpu_s);
  const double gpus_start_s = clock_.now();
  const IterationRun& ran = runner_.run(gpus_start_s, micro, [this](int stage) { return slowdown(stage); }, kind,
                                        run_.trace ? &sink : nullptr, host_s, sequence_gpu_s);
  if (runner_.exclusive()) clock_.wait_until(gpus_start_s + ran.span_s);  // computed, not run through SimGrid

  const ActiveTotals active = meter_iteration(run_, stage_gpus_, ran, draft, start_s, memory_bytes);
  const double span_s = ran.span_s + draft.time_s;
  const double gpus = static_cast<double>(layout_.parallelism.gpus_per_replica());
  const double iteration_energy_j = active.energy_j + layout_.cluster.gpu.power_idle_w * (span_s * gpus - active.gpu_s);
  run_.result.replica_busy_s[static_cast<std::size_t>(index_)] += span_s;
  run_.result.inter_token_s.add(span_s, plan.decode_tokens);
  log_iteration(run_, stage_gpus_, ran, active, start_s, span_s, plan.decode_tokens);
  if (plan.decode_tokens > 0) {
    ++run_.result.decode_iterations;
    run_.result.decode_tokens += static_cast<double>(plan.decode_tokens);
  }
  run_.result.network_energy_j += ran.network_energy_j;
  run_.result.activities += ran.activities;
  ++run_.result.iterations;

  std::vector<Sequence>& running = scheduler_.running();
  std::vector<double>& shares = shares_;
  cost_.work_shares_into(plan.work, plan.tokens, shares);
  // Each member's share of what the iteration drew and did. The reservation and a
  // restore are charged elsewhere (their terms here would be zero).
  const double host_energy_j = power_.host_busy_w * span_s + power_.psu_loss * iteration_energy_j;
  const double gpu_s_all = gpus * span_s;
  for (std::size_t k = 0; k < plan.members.size(); ++k) {
    Attribution& charged = running[static_cast<std::size_t>(plan.members[k])].charged;
    const SequenceWork& w = plan.work[k];
    const double share = shares[k];
    charged.energy_j += iteration_energy_j * share;
    charged.network_energy_j += ran.network_energy_j * share;
    charged.host_energy_j += host_energy_j * share;
    charged.gpu_s += gpu_s_all * share;
    charged.flops += flops * share;
    charged.hbm_bytes += hbm_bytes * share;
    charged.net_bytes += ran.net_bytes * share;
    charged.kv_bytes += cost_.kv_bytes_for(static_cast<double>(w.context_tokens + 2 * w.new_tokens));
    charged.peak_gpu_mem_bytes = std::max(charged.peak_gpu_mem_bytes, memory_bytes);
  }
  const double end_s = clock_.now();
  for (const Sequence& seq : scheduler_.finish_iteration(plan, start_s, end_s)) {
    const auto original = originals_.find(seq.request.id);
    if (role_ == ReplicaRole::prefill && original != originals_.end() && original->second.output_tokens > 1) {
      hand_off(seq);
    } else {
      complete(seq);
    }
  }
  report_progress(end_s);
}

void ReplicaActor::complete(const Sequence& seq) {
  Request request = seq.request;
  const auto original = originals_.find(request.id);
  if (original != originals_.end()) {  // a prefill replica's request that needed no decode
    request = original->second;
    originals_.erase(original);
  }
  const auto part = handoff_ ? handoff_->parts.find(request.id) : std::map<long, Handoff::PrefillPart>::iterator{};
  const bool decoded = handoff_ && part != handoff_->parts.end();
  const Handoff::PrefillPart prefill = decoded ? part->second : Handoff::PrefillPart{};
  if (decoded) {
    request = prefill.original;
    handoff_->parts.erase(part);
  }
  const double first_token_s = decoded ? prefill.first_token_s : seq.first_token_s;
  ReplyRecord rec = base_record(request);
  rec.served = true;
  rec.cached_tokens = decoded ? prefill.cached_tokens : seq.cached_tokens;
  rec.queue_s = (decoded ? prefill.scheduled_s : seq.scheduled_s) - request.arrival_s;
  rec.ttft_s = request.output_tokens > 0 ? first_token_s - request.arrival_s : 0.0;
  rec.e2e_s = seq.done_s - request.arrival_s;
  rec.tpot_s = request.output_tokens > 1
                   ? (seq.done_s - first_token_s) / static_cast<double>(request.output_tokens - 1)
                   : 0.0;
  Attribution charged = seq.charged;
  charged += prefill.charged;
  charged += take_charges(request.session);
  charged.network_energy_j += tiers_.after_reply(request.session);
  charged.copy_to(rec);
  run_.result.replies.push_back(rec);
  continue_session(request, ReplyOutcome{request.output_tokens > 0 ? first_token_s : seq.done_s, seq.done_s});
  if (handoff_) handoff_->finished_one();
}

// The prefill is done and the first token out: the KV cache of the context goes
// to the session's decode replica, by a transfer of its own so this replica goes on.
void ReplicaActor::hand_off(const Sequence& seq) {
  const Request original = originals_.at(seq.request.id);
  originals_.erase(seq.request.id);
  Handoff::PrefillPart part;
  part.original = original;
  part.prefill_replica = index_;
  part.cached_tokens = seq.cached_tokens;
  part.scheduled_s = seq.scheduled_s;
  part.first_token_s = seq.first_token_s;
  part.charged = seq.charged;
  part.charged += take_charges(original.session);
  part.charged.network_energy_j += tiers_.after_reply(original.session);

  ReplicaActor* target = handoff_->decode_for(original.session);
  const long context = original.history_tokens + original.prompt_tokens;
  const double bytes = cost_.kv_bytes_for(static_cast<double>(context));
  const std::vector<int> src = gpus(), dst = target->gpus();
  const std::size_t count = std::max(src.size(), dst.size());
  std::vector<Flow> flows;
  double transfer_energy_j = 0;
  for (std::size_t f = 0; f < count; ++f) {
    const int a = src[f % src.size()], b = dst[f % dst.size()];
    const double each = bytes / static_cast<double>(count);
    flows.push_back(Flow{run_.platform.gpus[static_cast<std::size_t>(a)], run_.platform.gpus[static_cast<std::size_t>(b)],
                         each});
    if (a != b) transfer_energy_j += each * route_energy_j_per_byte(layout_.cluster, run_.platform, a, b);
  }
  part.charged.network_energy_j += transfer_energy_j;
  run_.result.network_energy_j += transfer_energy_j;
  part.charged.net_bytes += bytes;
  run_.result.kv_handoff_bytes += bytes;
  handoff_->parts[original.id] = part;

  Request next = original;
  next.history_tokens = context;
  next.prompt_tokens = 0;
  next.output_tokens = original.output_tokens - 1;
  next.kv_transferred = true;
  next.host_delay_s = 0;
  RunContext* run = &run_;
  const std::string track = fmt::format("replica {} -> {} kv", index_, target->index_);
  sg4::Actor::create("kv-handoff", home(), [flows, target, next, run, track, bytes]() mutable {
    const double start_s = sg4::Engine::get_clock();
    sg4::ExecPtr transfer = start_flows(flows);
    if (transfer) transfer->wait();
    next.arrival_s = sg4::Engine::get_clock();
    run->add_slice({track, "kv handoff", start_s, next.arrival_s - start_s, next.history_tokens, 1, bytes});
    target->deliver(next);
  });
  // The session may go on here (a streamed chunk) while the reply decodes elsewhere.
  busy_sessions_.erase(original.session);
  auto parked = parked_.find(original.session);
  if (parked != parked_.end() && !parked->second.empty()) {
    pending_.push(parked->second.front());
    parked->second.pop_front();
  }
}

void ReplicaActor::charge_wait(double from_s, bool for_restore) {
  const double waited_s = clock_.now() - from_s;
  if (waited_s <= 0) return;
  const double gpus = static_cast<double>(layout_.parallelism.gpus_per_replica());
  if (for_restore) {
    const std::vector<int> sessions = tiers_.restoring_sessions();
    if (!sessions.empty()) {
      const double each_s = waited_s / static_cast<double>(sessions.size());
      for (int session : sessions) {
        EnergyCharge c;
        c.energy_j = power_.gpu_idle_w * each_s;
        c.host_energy_j = power_.host_idle_w * each_s;
        c.gpu_s = gpus * each_s;
        c.restore_energy_j = c.energy_j + c.host_energy_j;
        tiers_.add_pending(session, c);
      }
      return;
    }
  }
  std::vector<int> open;
  for (auto it = seen_sessions_.begin(); it != seen_sessions_.end();) {
    if (run_.finished_sessions.count(*it) > 0) {
      it = seen_sessions_.erase(it);
    } else {
      open.push_back(*it++);
    }
  }
  if (open.empty()) {
    run_.result.replica_unattributed_s[static_cast<std::size_t>(index_)] += waited_s;
    return;
  }
  const double each_s = waited_s / static_cast<double>(open.size());
  for (int session : open) {
    EnergyCharge& c = reserved_[session];
    c.reserved_energy_j += power_.idle_w() * each_s;
    c.reserved_gpu_s += gpus * each_s;
  }
}

EnergyCharge ReplicaActor::take_charges(int session) {
  EnergyCharge charge = tiers_.take_pending(session);
  if (const auto it = reserved_.find(session); it != reserved_.end()) {
    charge += it->second;
    reserved_.erase(it);
  }
  return charge;
}

void ReplicaActor::report_progress(double now_s) {
  if (!run_.progress || (run_.result.iterations & 1023) != 0) return;
  const auto wall = std::chrono::steady_clock::now();
  if (wall - run_.last_progress < std::chrono::milliseconds(500)) return;
  run_.last_progress = wall;
  const double horizon_s = run_.workload.horizon_s();
  const long own_clocks = run_.result.replicas_on_own_clock;
  // Unbounded, replicas on their own clocks run one after another, each from the start.
  if (clock_.ahead() && own_clocks > 1 && !clock_.has_horizon()) {
    std::fprintf(stderr, "\r[convsim] %d of %ld replicas done; replica %d at %.1f min, %zu replies ",
                 run_.replicas_on_own_clock_done, own_clocks, index_, now_s / 60.0, run_.result.replies.size());
  } else if (horizon_s > 0) {
    std::fprintf(stderr, "\r[convsim] simulated %.1f of %.1f min, %zu replies ", now_s / 60.0, horizon_s / 60.0,
                 run_.result.replies.size());
  } else {
    std::fprintf(stderr, "\r[convsim] simulated %.1f s, %zu replies ", now_s, run_.result.replies.size());
  }
}

}  // namespace convsim
