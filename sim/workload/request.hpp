#pragma once
// A request to the model, as every request source produces it and the engine
// serves it, whatever its source (see request_source.hpp).

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

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
  // For the prefix cache (serving.prefix_caching): the ids of this request's KV
  // blocks of prefix_block_tokens tokens, in order, each naming its block and every
  // token before it, so that two requests share their first k blocks exactly when
  // their first k ids are equal. They cover the context (history + prompt) and, when
  // known, the reply. Empty: nothing to share.
  std::shared_ptr<const std::vector<std::uint64_t>> prefix_blocks;
  long prefix_block_tokens = 0;
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

}  // namespace convsim
