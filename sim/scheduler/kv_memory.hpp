#pragma once
// KV-cache capacity of one replica. Sizes are in footprint units: 1/kUnitsPerPool of
// the KV pool of the replica's tightest GPU (see CostModel::kv_footprint_units), so
// that sliding-window layers (which stop growing), state-space layers (a fixed state
// per sequence) and MLA latents are all counted by what they really hold.
// Requests reserve their final size (history + prompt + output) when admitted, so
// a running batch never overflows; with `keep`, a conversation's cache stays
// reserved between its turns and may be evicted, least recently used first, when a
// new request needs the room.

#include <functional>
#include <map>
#include <optional>

namespace convsim {

// A conversation's cache kept between turns.
struct KeptCache {
  long tokens = 0;
  long units = 0;
  double last_use_s = 0;
};

class KvMemory {
 public:
  static constexpr long kUnitsPerPool = 1'000'000'000'000L;

  explicit KvMemory(long capacity_units) : capacity_units_(capacity_units) {}

  long capacity_units() const { return capacity_units_; }
  long used_units() const { return used_units_; }
  long evictions() const { return evictions_; }
  long kept_units() const { return kept_units_; }  // held by conversations between turns

  // Tokens of `session` kept from its previous turn (0 if none or evicted).
  long kept_tokens(int session) const;

  // Hands the session's kept cache to its new request: its units stay used and
  // become part of that request's reservation (or are released by the caller).
  std::optional<KeptCache> take_kept(int session);

  // Reserves `units` more, evicting other sessions' kept caches (least recently
  // used first) if needed. REQUIRES: units >= 0. Returns false, changing nothing,
  // when they would not fit even with every kept cache evicted.
  bool try_reserve(long units);

  void release(long units);

  // Frees every kept cache (the GPUs holding them were lost). Returns how many.
  int drop_all_kept();

  // Called with each kept cache evicted to make room (to spill it to another tier).
  void on_evict(std::function<void(int session, const KeptCache&)> callback) { on_evict_ = std::move(callback); }

  // Keeps reserved units as `session`'s cache: a finished request's reservation,
  // or a cache taken back from a request that could not be admitted.
  void keep(int session, const KeptCache& cache);

 private:
  long capacity_units_;
  long used_units_ = 0;
  long kept_units_ = 0;
  long evictions_ = 0;
  std::map<int, KeptCache> kept_;
  std::function<void(int, const KeptCache&)> on_evict_;
};

}  // namespace convsim
