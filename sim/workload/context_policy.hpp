#pragma once
// What the model sees each turn under context.policy, whatever produces the turns
// (the conversation generator, a replayed transcript): the history of a reply
// request, the summary that replaces a long history, the streamed chunks of a
// turn, and what the session carries to its next turn.
//
//   full       the whole history; with ingestion streaming, the words spoken so
//              far are prefilled every streaming_interval_s while the person speaks
//   window     the last window_tokens; a cut context is prefilled again
//   summary    past summary_every_tokens, the model first summarises the history
//              (a summary request), and the reply sees the summary instead
//   retrieval  retrieval_chunks chunks plus a recent window, after a host delay

#include <optional>
#include <vector>

#include "sim/scenario/scenario.hpp"
#include "sim/workload/request.hpp"

namespace convsim {

// What a session carries from turn to turn.
struct ContextState {
  long context_tokens = 0;  // the history the model sees next turn (full, window, summary)
  long recent_tokens = 0;   // the conversation so far (retrieval's recent window)
};

struct ShapedTurn {
  // To issue now, in order: streamed chunks then the reply, or a summary alone.
  std::vector<Request> now;
  // With a summary: the reply, to issue once the summary is done.
  std::optional<Request> after_summary;
};

// Shapes the reply `r` (session, turn, speaker, arrival_s, human_speech_s,
// prompt_tokens and output_tokens set; its history is set here) of a human turn
// that started at `start_s`, and updates `state`. Extra requests (summary,
// streamed chunks) take ids from `next_id`.
ShapedTurn shape_turn(const ContextSpec& ctx, ContextState& state, Request r, double start_s, long& next_id);

}  // namespace convsim
