#pragma once
// Where requests come from. One implementation per source, each in its own file,
// chosen by the registry (source_registry.hpp) from the scenario's workload section:
//
//   conversation            conversation_source    generated conversations (closed loops)
//   requests                request_stream_source  a plain stream (closed loop, Poisson, all at once)
//   requests.trace          trace_source           a production trace replayed, streamed from its file
//   conversation.transcript transcript_source      a transcript's turns replayed, replies simulated in place
//
// Contract, which the engine relies on and nothing more (it never asks which
// source it is fed by):
// - initial_requests() is called once, before time starts: the requests known up
//   front (each conversation's first turn, each closed-loop slot's first request).
// - next_arrival() hands out open-loop arrivals one at a time, in order of
//   ready_s(), and nothing once they are exhausted. It is pulled lazily while the
//   run goes on, so a source may read them from a file as they fall due; a source
//   with none returns nothing at once.
// - follow_up(done, outcome) is called exactly once for each request when it ends
//   (served or failed) and returns what follows it in its session, due at or after
//   outcome.done_s (a conversation's next turn, a closed-loop slot's next request).
// - Requests of one session are issued in the order they must be served; ids are
//   unique and increase in order of creation.
// - Same scenario and seed: the same requests.
// Sources read their settings from the validated Scenario; they cannot fail.

#include <optional>
#include <vector>

#include "sim/workload/request.hpp"

namespace convsim {

class RequestSource {
 public:
  virtual ~RequestSource() = default;

  virtual std::vector<Request> initial_requests() = 0;
  virtual std::optional<Request> next_arrival() { return std::nullopt; }
  virtual std::vector<Request> follow_up(const Request& done, const ReplyOutcome& outcome) = 0;

  // Time by which the source stops issuing new requests on its own (a
  // conversation's duration); 0 when the requests alone decide the end.
  virtual double horizon_s() const { return 0.0; }

  // Whether next_arrival() may hand out requests (so the engine must keep pulling).
  virtual bool has_arrivals() const { return false; }
};

}  // namespace convsim
