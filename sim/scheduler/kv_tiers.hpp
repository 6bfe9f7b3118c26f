#pragma once
// Conversations' KV caches held outside HBM between turns: in host memory (CPU
// DRAM) or on NVMe, each tier with its capacity in bytes for one replica. Storing
// into a full tier pushes its least recently used caches down (host to NVMe) or
// out (NVMe: dropped; the next turn prefills its history again).

#include <map>
#include <optional>

namespace convsim {

enum class KvTier { host, nvme };

struct OffloadedCache {
  long tokens = 0;
  double bytes = 0;  // all GPUs of the replica
  KvTier tier = KvTier::host;
  double last_use_s = 0;
};

class KvTiers {
 public:
  KvTiers(double host_bytes, double nvme_bytes) : capacity_{host_bytes, nvme_bytes} {}

  // Stores `session`'s cache in `tier` (or lower, if it does not fit), pushing
  // least recently used caches down. Returns the tier it landed in, or nothing
  // when it fits nowhere (dropped).
  std::optional<KvTier> store(int session, long tokens, double bytes, KvTier tier, double now_s);

  // Removes and returns the session's cache, if any tier holds it.
  std::optional<OffloadedCache> take(int session);

  double used_bytes(KvTier tier) const { return used_[index(tier)]; }
  long demotions() const { return demotions_; }  // host -> NVMe under pressure
  long drops() const { return drops_; }          // pushed out of the last tier

 private:
  static int index(KvTier tier) { return tier == KvTier::host ? 0 : 1; }
  bool make_room(KvTier tier, double bytes, int except_session);

  double capacity_[2];
  double used_[2] = {0, 0};
  std::map<int, OffloadedCache> caches_;
  long demotions_ = 0;
  long drops_ = 0;
};

}  // namespace convsim
