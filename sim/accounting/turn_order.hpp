#pragma once
// The order of reply records in every output: start time, session, turn. Records
// equal in all three belong to one session, hence to one replica, and keep their
// order of completion (the sorts are stable). Records of different replicas never
// tie, so outputs do not depend on how the replicas' completions interleave (nor on
// which replicas share the process: convsim run --shard).

namespace convsim {

// Compares ReplyRecord or StoredReply.
struct TurnOrder {
  template <class Record>
  bool operator()(const Record& a, const Record& b) const {
    if (a.start_s != b.start_s) return a.start_s < b.start_s;
    if (a.session != b.session) return a.session < b.session;
    return a.turn < b.turn;
  }
};

}  // namespace convsim
