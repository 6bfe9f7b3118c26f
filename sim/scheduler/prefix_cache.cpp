#include "sim/scheduler/prefix_cache.hpp"

#include <algorithm>
#include <cassert>

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
    if (it == index_.end()) {
      recency_.push_front(id);
      index_.emplace(id, Entry{0, recency_.begin()});
    } else if (it->second.pins == 0) {
      recency_.splice(recency_.begin(), recency_, it->second.position);
    }
  }
}

long PrefixCache::pin(const std::vector<std::uint64_t>& blocks, long from, long to) {
  to = std::min(to, static_cast<long>(blocks.size()));
  long fresh = 0;
  for (long k = from; k < to; ++k) {
    const std::uint64_t id = blocks[static_cast<std::size_t>(k)];
    auto it = index_.find(id);
    if (it == index_.end()) {  // absent: added, pinned at once
      it = index_.emplace(id, Entry{}).first;
      ++fresh;
    } else if (it->second.pins == 0) {
      recency_.erase(it->second.position);
      ++fresh;
    }
    ++it->second.pins;
  }
  return fresh;
}

long PrefixCache::unpin(const std::vector<std::uint64_t>& blocks, long from, long to) {
  to = std::min(to, static_cast<long>(blocks.size()));
  long freed = 0;
  for (long k = to - 1; k >= from; --k) {  // the first block ends most recent
    const std::uint64_t id = blocks[static_cast<std::size_t>(k)];
    const auto it = index_.find(id);
    assert(it != index_.end() && it->second.pins > 0 && "unpinning a block that is not pinned");
    if (--it->second.pins > 0) continue;
    recency_.push_front(id);
    it->second.position = recency_.begin();
    ++freed;
  }
  return freed;
}

std::vector<std::uint64_t> PrefixCache::shrink_to(long capacity_blocks) {
  std::vector<std::uint64_t> evicted;
  while (size() > std::max(0L, capacity_blocks) && !recency_.empty()) {
    evicted.push_back(recency_.back());
    index_.erase(recency_.back());
    recency_.pop_back();
    ++evictions_;
  }
  return evicted;
}

}  // namespace convsim
