#pragma once
// KV-cache capacity of one replica, counted in tokens (the busiest GPU's free
// memory divided by its KV bytes per token). Requests reserve their final size
// (history + prompt + output) when admitted, so a running batch never overflows;
// with `keep`, a conversation's cache stays reserved between its turns and may be
// evicted, least recently used first, when a new request needs the room.

#include <map>

namespace convsim {

class KvMemory {
 public:
  explicit KvMemory(long capacity_tokens) : capacity_tokens_(capacity_tokens) {}

  long capacity_tokens() const { return capacity_tokens_; }
  long used_tokens() const { return used_tokens_; }
  long evictions() const { return evictions_; }

  // Tokens of `session` kept from its previous turn (0 if none or evicted).
  long kept_tokens(int session) const;

  // Hands the session's kept cache to its new request: the tokens stay used and
  // become part of that request's reservation. Returns how many.
  long take_kept(int session);

  // Reserves `tokens` more, evicting other sessions' kept caches (least recently
  // used first) if needed. REQUIRES: tokens >= 0. Returns false, changing nothing,
  // when they would not fit even with every kept cache evicted.
  bool try_reserve(long tokens);

  void release(long tokens);

  // Keeps `tokens` (already reserved by the finished request) for `session`.
  void keep(int session, long tokens, double now_s);

 private:
  struct Kept {
    long tokens = 0;
    double last_use_s = 0;
  };
  long capacity_tokens_;
  long used_tokens_ = 0;
  long kept_total_ = 0;
  long evictions_ = 0;
  std::map<int, Kept> kept_;
};

}  // namespace convsim
