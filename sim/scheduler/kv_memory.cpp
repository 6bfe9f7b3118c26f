#include "sim/scheduler/kv_memory.hpp"

#include <cassert>

namespace convsim {

long KvMemory::kept_tokens(int session) const {
  auto it = kept_.find(session);
  return it == kept_.end() ? 0 : it->second.tokens;
}

long KvMemory::take_kept(int session) {
  auto it = kept_.find(session);
  if (it == kept_.end()) return 0;
  const long tokens = it->second.tokens;
  kept_total_ -= tokens;
  kept_.erase(it);
  return tokens;
}

bool KvMemory::try_reserve(long tokens) {
  assert(tokens >= 0 && "reservation must be non-negative");
  if (used_tokens_ - kept_total_ + tokens > capacity_tokens_) return false;
  while (used_tokens_ + tokens > capacity_tokens_) {
    auto lru = kept_.begin();
    for (auto it = kept_.begin(); it != kept_.end(); ++it) {
      if (it->second.last_use_s < lru->second.last_use_s) lru = it;
    }
    used_tokens_ -= lru->second.tokens;
    kept_total_ -= lru->second.tokens;
    kept_.erase(lru);
    ++evictions_;
  }
  used_tokens_ += tokens;
  return true;
}

void KvMemory::release(long tokens) {
  used_tokens_ -= tokens;
  assert(used_tokens_ >= 0 && "released more KV tokens than reserved");
}

void KvMemory::keep(int session, long tokens, double now_s) {
  Kept& k = kept_[session];
  kept_total_ += tokens - k.tokens;
  k.tokens = tokens;
  k.last_use_s = now_s;
}

}  // namespace convsim
