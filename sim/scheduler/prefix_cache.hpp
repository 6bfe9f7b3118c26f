#pragma once
// The prefix cache of one replica (serving.prefix_caching), as vLLM's automatic
// prefix caching and SGLang's radix cache keep it: the KV blocks the replica has
// computed, each known by an id naming the block and every token before it (see
// Request::prefix_blocks), so a request may skip the prefill of its longest run of
// leading blocks the cache holds.
//
// Eviction is least recently used, one block at a time. A request's blocks are
// used from its last to its first, so its first blocks are the most recent: under
// pressure a chain loses its tail before its head (vLLM frees a sequence's blocks
// in reverse order for the same reason), and a prefix shared by many requests stays.

#include <cstdint>
#include <list>
#include <unordered_map>
#include <vector>

namespace convsim {

class PrefixCache {
 public:
  // How many of the leading ids of `blocks` (at most `count`) the cache holds.
  long match(const std::vector<std::uint64_t>& blocks, long count) const;

  // The first `count` ids of `blocks` were computed or read now: held, most
  // recently used (the first most of all).
  void use(const std::vector<std::uint64_t>& blocks, long count);

  // Evicts least recently used blocks until at most `capacity_blocks` are held.
  void shrink_to(long capacity_blocks);

  long size() const { return static_cast<long>(index_.size()); }
  long evictions() const { return evictions_; }

 private:
  std::list<std::uint64_t> recency_;  // most recently used first
  std::unordered_map<std::uint64_t, std::list<std::uint64_t>::iterator> index_;
  long evictions_ = 0;
};

}  // namespace convsim
