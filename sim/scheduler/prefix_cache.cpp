#include "sim/scheduler/prefix_cache.hpp"

#include <algorithm>

namespace convsim {

long PrefixCache::match(const std::vector<std::uint64_t>& blocks, long count) const {
  const long n = std::min(count, static_cast<long>(blocks.size()));
  long held = 0;
  while (held < n && index_.count(blocks[static_cast<std::size_t>(held)]) > 0) ++held;
  return held;
}

void PrefixCache::use(const std::vector<std::uint64_t>& blocks, long count) {
  const long n = std::min(count, static_cast<long>(blocks.size()));
  for (long k = n - 1; k >= 0; --k) {  // the first block ends most recent
    const std::uint64_t id = blocks[static_cast<std::size_t>(k)];
    const auto it = index_.find(id);
    if (it != index_.end()) {
      recency_.splice(recency_.begin(), recency_, it->second);
    } else {
      recency_.push_front(id);
      index_.emplace(id, recency_.begin());
    }
  }
}

void PrefixCache::shrink_to(long capacity_blocks) {
  while (size() > std::max(0L, capacity_blocks)) {
    index_.erase(recency_.back());
    recency_.pop_back();
    ++evictions_;
  }
}

}  // namespace convsim
