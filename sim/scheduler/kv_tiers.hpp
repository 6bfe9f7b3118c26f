#pragma once
// KV caches held outside HBM: in host memory (CPU DRAM) or on NVMe, each tier with
// its capacity in bytes for one replica. They hold conversations' caches between
// turns and prefix-cache blocks evicted from HBM. Storing into a full tier pushes
// its least recently used entries down (host to NVMe) or out (NVMe: dropped; the
// next request prefills those tokens again).

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

namespace convsim {

enum class KvTier { host, nvme };

// What a tier entry is: a conversation's cache between turns, or one block of the
// prefix cache (by its id, see Request::prefix_blocks).
struct KvTierKey {
  enum class Kind { session, block };
  Kind kind = Kind::session;
  std::uint64_t id = 0;

  static KvTierKey of_session(int session) { return {Kind::session, static_cast<std::uint64_t>(session)}; }
  static KvTierKey of_block(std::uint64_t block) { return {Kind::block, block}; }
  bool operator<(const KvTierKey& o) const { return std::tie(kind, id) < std::tie(o.kind, o.id); }
};

struct OffloadedCache {
  long tokens = 0;
  double bytes = 0;  // all GPUs of the replica
  KvTier tier = KvTier::host;
  double last_use_s = 0;
};

class KvTiers {
 public:
  KvTiers(double host_bytes, double nvme_bytes) : capacity_{host_bytes, nvme_bytes} {}

  // Stores an entry in `tier` (or lower, if it does not fit), pushing least
  // recently used entries down (ties: sessions before blocks, then by id). Returns
  // the tier it landed in, or nothing when it fits nowhere (dropped).
  std::optional<KvTier> store(KvTierKey key, long tokens, double bytes, KvTier tier, double now_s);
  std::optional<KvTier> store(int session, long tokens, double bytes, KvTier tier, double now_s) {
    return store(KvTierKey::of_session(session), tokens, bytes, tier, now_s);
  }

  // Removes and returns the entry, if any tier holds it.
  std::optional<OffloadedCache> take(KvTierKey key);
  std::optional<OffloadedCache> take(int session) { return take(KvTierKey::of_session(session)); }

  // The entry, if a tier holds it (nullptr otherwise); valid until the next change.
  const OffloadedCache* find(KvTierKey key) const;

  double used_bytes(KvTier tier) const { return used_[index(tier)]; }
  long demotions() const { return demotions_; }  // host -> NVMe under pressure
  long drops() const { return drops_; }          // pushed out of the last tier

 private:
  using Age = std::pair<double, KvTierKey>;  // last use, then key
  static int index(KvTier tier) { return tier == KvTier::host ? 0 : 1; }
  bool make_room(KvTier tier, double bytes);
  void insert(KvTierKey key, const OffloadedCache& cache);

  double capacity_[2];
  double used_[2] = {0, 0};
  std::map<KvTierKey, OffloadedCache> entries_;
  std::set<Age> by_age_[2];  // per tier, least recently used first
  long demotions_ = 0;
  long drops_ = 0;
};

}  // namespace convsim
