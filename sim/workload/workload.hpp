#pragma once
// Requests to the model: the turns of generated conversations, or a plain request
// stream. Conversations are closed loops (the next human turn starts after the
// model's reply has been spoken), so the workload hands out a session's next
// request only when its previous reply is done.

#include <optional>
#include <string_view>
#include <string>
#include <vector>

#include "sim/scenario/scenario.hpp"
#include "sim/workload/distribution.hpp"

namespace convsim {

// reply: answers a human turn; summary: the model summarises the history (context
// policy summary); ingest: words streamed in while the person speaks, prefilled
// with no output.
enum class RequestKind { reply, summary, ingest };
std::string_view request_kind_name(RequestKind kind);

struct Request {
  RequestKind kind = RequestKind::reply;
  long id = 0;            // unique, in order of creation
  int session = 0;        // conversation, or closed-loop slot of a request stream
  long turn = 0;          // reply number within the session, from 0
  int speaker = -1;       // index into the conversation's speakers; -1 for streams
  double arrival_s = 0;   // when the request reaches the service
  long history_tokens = 0;  // context before this turn (earlier turns and replies)
  long prompt_tokens = 0;   // new tokens of this turn
  long output_tokens = 1;   // tokens of the reply
  double human_speech_s = 0;  // how long the human turn took to speak
  double reply_speech_s = 0;  // how long the reply takes to speak
  // Whether history_tokens are the same tokens the session's cache holds. False
  // when the context was cut (window), restarted (after a summary) or rebuilt
  // around retrieved chunks: the cache cannot be reused.
  bool cache_reusable = true;
  double host_delay_s = 0;  // host work before the request reaches the GPUs (retrieval)
  // Disaggregated decode: the KV cache of history_tokens arrived from a prefill
  // replica; nothing is prefilled.
  bool kv_transferred = false;
  double ready_s() const { return arrival_s + host_delay_s; }
};

// Orders a priority queue so the request due first (then the oldest) is on top.
struct RequestLater {
  bool operator()(const Request& a, const Request& b) const {
    return a.ready_s() != b.ready_s() ? a.ready_s() > b.ready_s() : a.id > b.id;
  }
};

// How a reply went, as the workload needs it to continue the session.
struct ReplyOutcome {
  double first_token_s = 0;
  double done_s = 0;
};

class Workload {
 public:
  explicit Workload(const Scenario& scenario);

  // The requests that do not depend on any reply: each session's first turn, each
  // closed-loop slot's first request, every open-loop arrival.
  std::vector<Request> initial_requests();

  // The requests that follow `done` in its session (none after an ingest chunk: the
  // rest of its turn was issued with it).
  std::vector<Request> follow_up(const Request& done, const ReplyOutcome& outcome);

  // Time by which the generator stops issuing new human turns, 0 for streams.
  double horizon_s() const;

 private:
  struct SessionState {
    Rng rng;
    int next_speaker = 0;
    long turns = 0;
    long context_tokens = 0;  // the history the model sees next turn (full, window, summary)
    long recent_tokens = 0;   // the conversation so far (retrieval's recent window)
    std::optional<Request> after_summary;  // the reply waiting for its summary
  };

  // The requests of the human turn starting at `start_s` (none past the duration).
  std::vector<Request> conversation_turn(int session, double start_s);
  Request base_request(int session, RequestKind kind);
  Request stream_request(int slot, double arrival_s);

  const Scenario& scenario_;
  Rng stream_rng_;
  std::vector<SessionState> sessions_;
  long next_id_ = 0;
  long stream_issued_ = 0;
};

}  // namespace convsim
