#include "sim/scheduler/kv_tiers.hpp"

namespace convsim {

bool KvTiers::make_room(KvTier tier, double bytes, int except_session) {
  const int t = index(tier);
  if (bytes > capacity_[t]) return false;
  while (used_[t] + bytes > capacity_[t]) {
    auto lru = caches_.end();
    for (auto it = caches_.begin(); it != caches_.end(); ++it) {
      if (it->second.tier != tier || it->first == except_session) continue;
      if (lru == caches_.end() || it->second.last_use_s < lru->second.last_use_s) lru = it;
    }
    if (lru == caches_.end()) return false;
    OffloadedCache victim = lru->second;
    used_[t] -= victim.bytes;
    const int session = lru->first;
    caches_.erase(lru);
    if (tier == KvTier::host && make_room(KvTier::nvme, victim.bytes, session)) {
      victim.tier = KvTier::nvme;
      used_[1] += victim.bytes;
      caches_[session] = victim;
      ++demotions_;
    } else {
      ++drops_;
    }
  }
  return true;
}

std::optional<KvTier> KvTiers::store(int session, long tokens, double bytes, KvTier tier, double now_s) {
  take(session);
  const KvTier order[] = {tier, KvTier::nvme};
  const int tiers = tier == KvTier::host ? 2 : 1;  // host memory overflows to NVMe
  for (int i = 0; i < tiers; ++i) {
    if (make_room(order[i], bytes, session)) {
      used_[index(order[i])] += bytes;
      caches_[session] = OffloadedCache{tokens, bytes, order[i], now_s};
      return order[i];
    }
  }
  ++drops_;
  return std::nullopt;
}

std::optional<OffloadedCache> KvTiers::take(int session) {
  auto it = caches_.find(session);
  if (it == caches_.end()) return std::nullopt;
  OffloadedCache cache = it->second;
  used_[index(cache.tier)] -= cache.bytes;
  caches_.erase(it);
  return cache;
}

}  // namespace convsim
