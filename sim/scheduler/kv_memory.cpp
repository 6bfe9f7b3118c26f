#include "sim/scheduler/kv_memory.hpp"

#include <cassert>

namespace convsim {

long KvMemory::kept_tokens(int session) const {
  auto it = kept_.find(session);
  return it == kept_.end() ? 0 : it->second.tokens;
}

std::optional<KeptCache> KvMemory::take_kept(int session) {
  auto it = kept_.find(session);
  if (it == kept_.end()) return std::nullopt;
  const KeptCache cache = it->second;
  kept_units_ -= cache.units;
  kept_.erase(it);
  return cache;
}

bool KvMemory::try_reserve(long units) {
  assert(units >= 0 && "reservation must be non-negative");
  if (used_units_ - kept_units_ + units > capacity_units_) return false;
  while (used_units_ + units > capacity_units_) {
    auto lru = kept_.begin();
    for (auto it = kept_.begin(); it != kept_.end(); ++it) {
      if (it->second.last_use_s < lru->second.last_use_s) lru = it;
    }
    const int session = lru->first;
    const KeptCache evicted = lru->second;
    used_units_ -= evicted.units;
    kept_units_ -= evicted.units;
    kept_.erase(lru);
    ++evictions_;
    if (on_evict_) on_evict_(session, evicted);
  }
  used_units_ += units;
  return true;
}

int KvMemory::drop_all_kept() {
  const int dropped = static_cast<int>(kept_.size());
  used_units_ -= kept_units_;
  kept_units_ = 0;
  kept_.clear();
  return dropped;
}

void KvMemory::release(long units) {
  used_units_ -= units;
  assert(used_units_ >= 0 && "released more KV memory than reserved");
}

void KvMemory::keep(int session, const KeptCache& cache) {
  KeptCache& k = kept_[session];
  kept_units_ += cache.units - k.units;
  k = cache;
}

}  // namespace convsim
