#pragma once
// The prefix cache of one replica (serving.prefix_caching), as vLLM's automatic
// prefix caching and SGLang's radix cache keep it: the KV blocks the replica has
// computed, each known by an id naming the block and every token before it (see
// Request::prefix_blocks), so a request may skip the prefill of its longest run of
// leading blocks the cache holds.
//
// A block is pinned while running sequences hold it (a count per block, as vLLM's
// reference counts): it is held once however many share it, and cannot be
// evicted. Unpinned blocks are free memory that still remembers its contents.
//
// Eviction is least recently used among unpinned blocks, one block at a time. A
// request's blocks are used from its last to its first, so its first blocks are
// the most recent: under pressure a chain loses its tail before its head (vLLM
// frees a sequence's blocks in reverse order for the same reason), and a prefix
// shared by many requests stays.

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
  // recently used (the first most of all). Pinned ones stay pinned.
  void use(const std::vector<std::uint64_t>& blocks, long count);

  // A running sequence holds blocks [from, to) of `blocks` (adding those absent).
  // Returns how many were not pinned before: the blocks it newly counts in memory.
  long pin(const std::vector<std::uint64_t>& blocks, long from, long to);
  // It lets go of blocks [from, to), which it pinned. Returns how many are no
  // longer pinned by anyone (free memory again, evictable, most recently used).
  long unpin(const std::vector<std::uint64_t>& blocks, long from, long to);

  // Evicts least recently used unpinned blocks until at most `capacity_blocks` are
  // held (or none unpinned is left). Returns the ids evicted, oldest first.
  std::vector<std::uint64_t> shrink_to(long capacity_blocks);

  long size() const { return static_cast<long>(index_.size()); }
  long pinned() const { return size() - static_cast<long>(recency_.size()); }
  long evictions() const { return evictions_; }

 private:
  struct Entry {
    long pins = 0;
    std::list<std::uint64_t>::iterator position;  // in recency_, when pins == 0
  };
  std::list<std::uint64_t> recency_;  // unpinned blocks, most recently used first
  std::unordered_map<std::uint64_t, Entry> index_;
  long evictions_ = 0;
};

}  // namespace convsim
