#include "sim/scheduler/kv_tiers.hpp"

namespace convsim {

void KvTiers::insert(KvTierKey key, const OffloadedCache& cache) {
  const int t = index(cache.tier);
  used_[t] += cache.bytes;
  entries_[key] = cache;
  by_age_[t].insert({cache.last_use_s, key});
}

bool KvTiers::make_room(KvTier tier, double bytes) {
  const int t = index(tier);
  if (bytes > capacity_[t]) return false;
  while (used_[t] + bytes > capacity_[t]) {
    if (by_age_[t].empty()) return false;
    const KvTierKey key = by_age_[t].begin()->second;
    OffloadedCache victim = *take(key);
    if (tier == KvTier::host && make_room(KvTier::nvme, victim.bytes)) {
      victim.tier = KvTier::nvme;
      insert(key, victim);
      ++demotions_;
    } else {
      ++drops_;
    }
  }
  return true;
}

std::optional<KvTier> KvTiers::store(KvTierKey key, long tokens, double bytes, KvTier tier, double now_s) {
  take(key);
  const KvTier order[] = {tier, KvTier::nvme};
  const int tiers = tier == KvTier::host ? 2 : 1;  // host memory overflows to NVMe
  for (int i = 0; i < tiers; ++i) {
    if (make_room(order[i], bytes)) {
      insert(key, OffloadedCache{tokens, bytes, order[i], now_s});
      return order[i];
    }
  }
  ++drops_;
  return std::nullopt;
}

std::optional<OffloadedCache> KvTiers::take(KvTierKey key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  OffloadedCache cache = it->second;
  const int t = index(cache.tier);
  used_[t] -= cache.bytes;
  by_age_[t].erase({cache.last_use_s, key});
  entries_.erase(it);
  return cache;
}

const OffloadedCache* KvTiers::find(KvTierKey key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second;
}

}  // namespace convsim
