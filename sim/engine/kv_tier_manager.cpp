#include "sim/engine/kv_tier_manager.hpp"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "models/system_power.hpp"
#include "sim/accounting/energy.hpp"

namespace sg4 = simgrid::s4u;

namespace convsim {
namespace {

bool offloads(const Scenario& s) {
  return s.context.kv_between_turns == ContextSpec::KvBetweenTurns::offload_cpu ||
         s.context.kv_between_turns == ContextSpec::KvBetweenTurns::offload_nvme;
}

// A replica's share of its nodes' host memory and NVMe.
double replica_share(const Scenario& s, std::size_t gpus, double per_node) {
  return per_node * static_cast<double>(gpus) / s.cluster.gpus_per_node;
}

}  // namespace

KvTierManager::KvTierManager(const Scenario& scenario, const CostModel& cost, const Platform& platform,
                             std::vector<int> gpu_ids, KvMemory& memory, BatchScheduler& scheduler,
                             RunResult& result)
    : gpu_ids_(std::move(gpu_ids)),
      scenario_(scenario),
      cost_(cost),
      memory_(memory),
      scheduler_(scheduler),
      result_(result),
      platform_(platform),
      tiers_(replica_share(scenario, gpu_ids_.size(), scenario.cluster.host_memory_bytes_per_node),
             replica_share(scenario, gpu_ids_.size(), scenario.cluster.nvme_bytes_per_node)) {
  for (int g : gpu_ids_) {
    gpus_.push_back(platform.gpus[static_cast<std::size_t>(g)]);
    gpu_nodes_.push_back(platform.node_of(g));
  }
  if (scenario.conversation && scenario.context.kv_between_turns == ContextSpec::KvBetweenTurns::keep) {
    memory_.on_evict([this](int session, const KeptCache& cache) {
      pending_[session].network_energy_j += move_out(session, cache.tokens, KvTier::host, cache.last_use_s);
    });
  }
  if (scenario.serving.prefix_caching && scenario.serving.prefix_cache_offload) {
    scheduler_.on_prefix_evicted(
        [this](const Request& cause, const std::vector<std::uint64_t>& ids) { demote_blocks(cause, ids); });
  }
}

HostList KvTierManager::tier_hosts(KvTier tier) const {
  HostList hosts;
  for (int node : gpu_nodes_) hosts.push_back(tier == KvTier::host ? platform_.cpus[node] : platform_.nvme[node]);
  return hosts;
}

double KvTierManager::transfer_energy_j(double bytes) const {
  return bytes * scenario_.cluster.host_link.energy_j_per_byte;
}

double KvTierManager::move_out(int session, long tokens, KvTier tier, double last_use_s) {
  const double bytes = cost_.kv_bytes_for(static_cast<double>(tokens));
  const auto landed = tiers_.store(session, tokens, bytes, tier, last_use_s);
  if (!landed) {
    ++result_.kv_tier_drops;
    return 0.0;
  }
  pause_clock();
  sg4::ExecPtr transfer = start_pairwise_send(gpus_, tier_hosts(*landed), bytes / static_cast<double>(gpus_.size()));
  if (transfer) in_flight_.push_back(Transfer{transfer, now(), bytes, session, *landed});
  ++result_.kv_offloads;
  result_.kv_transfer_bytes += bytes;
  const double energy_j = transfer_energy_j(bytes);
  result_.network_energy_j += energy_j;
  return energy_j;
}

void KvTierManager::demote_blocks(const Request& cause, const std::vector<std::uint64_t>& ids) {
  const double now = this->now();
  const double block_bytes = cost_.kv_bytes_for(static_cast<double>(cause.prefix_block_tokens));
  double bytes[2] = {0, 0};  // landed in host memory, on NVMe
  for (const std::uint64_t id : ids) {
    const auto landed = tiers_.store(KvTierKey::of_block(id), cause.prefix_block_tokens, block_bytes, KvTier::host, now);
    if (!landed) {
      ++result_.kv_tier_drops;
      continue;
    }
    bytes[*landed == KvTier::host ? 0 : 1] += block_bytes;
    ++result_.prefix_demoted_blocks;
  }
  for (const KvTier tier : {KvTier::host, KvTier::nvme}) {
    const double moved = bytes[tier == KvTier::host ? 0 : 1];
    if (moved <= 0) continue;
    pause_clock();
    sg4::ExecPtr transfer = start_pairwise_send(gpus_, tier_hosts(tier), moved / static_cast<double>(gpus_.size()));
    if (transfer) in_flight_.push_back(Transfer{transfer, now, moved, cause.session, tier});
    result_.kv_transfer_bytes += moved;
    const double energy_j = transfer_energy_j(moved);
    result_.network_energy_j += energy_j;
    pending_[cause.session].network_energy_j += energy_j;
  }
}

long KvTierManager::prefix_run_end(const Request& request, long held, long context_blocks, KvTier* tier) const {
  const std::vector<std::uint64_t>& ids = *request.prefix_blocks;
  long end = held;
  for (; end < context_blocks; ++end) {
    const OffloadedCache* block = tiers_.find(KvTierKey::of_block(ids[static_cast<std::size_t>(end)]));
    if (!block || (end > held && block->tier != *tier)) break;
    *tier = block->tier;
  }
  return end;
}

long KvTierManager::restorable_prefix_blocks(const Request& request) const {
  if (!scenario_.serving.prefix_cache_offload || !scheduler_.has_prefix_cache() || !request.prefix_blocks) return 0;
  long context_blocks = 0;
  const long held = scheduler_.prefix_held_blocks(request, &context_blocks);
  KvTier tier = KvTier::host;
  return prefix_run_end(request, held, context_blocks, &tier) - held;
}

bool KvTierManager::restore_prefix(const Request& request) {
  if (!scenario_.serving.prefix_cache_offload || !scheduler_.has_prefix_cache() || !request.prefix_blocks) return false;
  long context_blocks = 0;
  const long held = scheduler_.prefix_held_blocks(request, &context_blocks);
  const std::vector<std::uint64_t>& ids = *request.prefix_blocks;
  KvTier tier = KvTier::host;
  const long end = prefix_run_end(request, held, context_blocks, &tier);
  if (end == held) return false;
  OffloadedCache run{0, 0, tier, 0};
  for (long k = held; k < end; ++k) {
    const OffloadedCache block = *tiers_.take(KvTierKey::of_block(ids[static_cast<std::size_t>(k)]));
    run.tokens += block.tokens;
    run.bytes += block.bytes;
  }
  start_restore(request, run, end);
  result_.prefix_restored_blocks += end - held;
  return true;
}

bool KvTierManager::start_restore(const Request& request, const OffloadedCache& cache, long prefix_blocks) {
  // Prefix blocks come back into the prefix cache, which lives in memory no one
  // reserves; a conversation's cache comes back reserved as its kept cache.
  const long units = prefix_blocks > 0 ? 0 : scheduler_.footprint_units(cache.tokens);
  if (units > 0 && !memory_.try_reserve(units)) return false;
  pause_clock();
  sg4::ExecPtr transfer =
      start_pairwise_send(tier_hosts(cache.tier), gpus_, cache.bytes / static_cast<double>(gpus_.size()));
  Restore restore{request, cache, units, transfer, now(), nullptr, prefix_blocks};
  if (transfer && restored_) {  // the watcher alone waits on the transfer
    restore.done = std::make_shared<bool>(false);
    sg4::Actor::create("kv-restore", gpus_.front(), [transfer, done = restore.done, notify = restored_] {
      transfer->wait();
      *done = true;
      notify();
    });
  }
  restoring_.push_back(restore);
  ++result_.kv_restores;
  result_.kv_transfer_bytes += cache.bytes;
  const double energy_j = transfer_energy_j(cache.bytes);
  result_.network_energy_j += energy_j;
  pending_[request.session].network_energy_j += energy_j;
  pending_[request.session].restore_energy_j += energy_j;
  return true;
}

bool KvTierManager::hold_for_restore(const Request& request) {
  auto cache = tiers_.take(request.session);
  if (!cache) return restore_prefix(request);
  if (cache->tokens != request.history_tokens) return false;  // stale: the session moved on
  if (!start_restore(request, *cache)) blocked_.emplace_back(request, *cache);
  return true;
}

void KvTierManager::poll() {
  const double now = this->now();
  for (auto it = restoring_.begin(); it != restoring_.end();) {
    const bool finished = !it->transfer || (it->done ? *it->done : it->transfer->test());
    if (!finished) {
      ++it;
      continue;
    }
    trace("kv restore", it->transfer, it->cache.bytes);
    charge_tier_time(it->request.session, it->cache.tier, true, it->transfer);
    if (it->prefix_blocks > 0) {
      scheduler_.prefix_restored(it->request, it->prefix_blocks);
    } else {
      memory_.keep(it->request.session, KeptCache{it->cache.tokens, it->units, now});
    }
    scheduler_.add_waiting(it->request);
    it = restoring_.erase(it);
  }
  while (!blocked_.empty() && start_restore(blocked_.front().first, blocked_.front().second)) blocked_.pop_front();
  if (!blocked_.empty() && !scheduler_.has_running() && restoring_.empty()) {
    // Nothing will free HBM: serve the request without its cache.
    scheduler_.add_waiting(blocked_.front().first);
    blocked_.pop_front();
  }
  in_flight_.erase(std::remove_if(in_flight_.begin(), in_flight_.end(),
                                  [this](const Transfer& t) {
                                    if (!t.activity->test()) return false;
                                    trace("kv offload", t.activity, t.bytes);
                                    charge_tier_time(t.session, t.tier, false, t.activity);
                                    return true;
                                  }),
                   in_flight_.end());
}

double KvTierManager::after_reply(int session) {
  if (!offloads(scenario_)) return 0.0;
  auto kept = memory_.take_kept(session);
  if (!kept) return 0.0;
  memory_.release(kept->units);
  const KvTier tier = scenario_.context.kv_between_turns == ContextSpec::KvBetweenTurns::offload_cpu ? KvTier::host
                                                                                                     : KvTier::nvme;
  return move_out(session, kept->tokens, tier, now());
}

EnergyCharge KvTierManager::take_pending(int session) {
  auto it = pending_.find(session);
  if (it == pending_.end()) return {};
  const EnergyCharge charge = it->second;
  pending_.erase(it);
  return charge;
}

std::vector<int> KvTierManager::restoring_sessions() const {
  std::vector<int> sessions;
  for (const Restore& r : restoring_) sessions.push_back(r.request.session);
  for (const auto& [request, cache] : blocked_) sessions.push_back(request.session);
  return sessions;
}

void KvTierManager::charge_tier_time(int session, KvTier tier, bool restore, const sg4::ExecPtr& transfer) {
  if (!transfer) return;
  const double node_s = node_fraction(scenario_, static_cast<int>(gpus_.size())) *
                        (transfer->get_finish_time() - transfer->get_start_time());
  const SystemSpec& system = scenario_.cluster.system;
  double extra_w = 0;
  if (tier == KvTier::host) {
    result_.dram_active_node_s += node_s;
    extra_w = dram_extra_w(system);
  } else if (restore) {
    result_.nvme_read_node_s += node_s;
    extra_w = nvme_read_extra_w(system);
  } else {
    result_.nvme_write_node_s += node_s;
    extra_w = nvme_write_extra_w(system);
  }
  const double energy_j = extra_w * node_s * (1 + psu_loss_fraction(system));  // with the supplies' loss on it
  pending_[session].host_energy_j += energy_j;
  if (restore) pending_[session].restore_energy_j += energy_j;
}

bool KvTierManager::restore_in_flight() const {
  for (const Restore& r : restoring_) {
    if (r.done && !*r.done) return true;
  }
  return false;
}

void KvTierManager::wait(double until_s) {
  pause_clock();  // waited out through SimGrid
  std::vector<sg4::ExecPtr> transfers;
  for (const Restore& r : restoring_) {
    if (r.transfer) transfers.push_back(r.transfer);
  }
  const double now = this->now();
  if (transfers.empty()) {
    if (until_s > now) sg4::this_actor::sleep_until(until_s);
    return;
  }
  sg4::Exec::wait_any_for(transfers, until_s < 0 ? -1.0 : std::max(0.0, until_s - now));
}

void KvTierManager::trace(const char* name, const sg4::ExecPtr& transfer, double bytes) {
  if (!tracer_ || !transfer) return;
  TraceSlice slice{fmt::format("gpu {} pcie", gpu_ids_.front()), name, transfer->get_start_time(),
                   transfer->get_finish_time() - transfer->get_start_time(), 0, 1};
  slice.bytes = bytes;
  tracer_(slice);
}

void KvTierManager::finish() {
  for (const Transfer& t : in_flight_) {
    t.activity->wait();
    trace("kv offload", t.activity, t.bytes);
    charge_tier_time(t.session, t.tier, false, t.activity);
  }
  in_flight_.clear();
  // Transfers for sessions that did not come back go to their last reply.
  result_.replies.add_to_last_record(pending_);
  pending_.clear();
}

}  // namespace convsim
