#pragma once
// The conversation generator (the scenario's `conversation:` section): sessions of
// speakers taking turns, the model replying after each turn. Closed loops: a
// session's next turn starts after the model's reply has been spoken and a pause,
// so it is issued by follow_up() when the reply is done. Sessions start together
// (staggered), or arrive as a Poisson process or a diurnal profile, drawn up front
// with how long each goes on. See request_source.hpp.

#include <optional>
#include <vector>

#include "sim/scenario/scenario.hpp"
#include "sim/workload/context_policy.hpp"
#include "sim/workload/distribution.hpp"
#include "sim/workload/request_source.hpp"

namespace convsim {

// With serving.prefix_caching, names the whole blocks of a conversation's request
// (see Request::prefix_blocks): the system prompt's blocks are shared by every
// session, the rest belong to the session. Only a context kept whole (policy full)
// names its history; otherwise the first turn names its system prompt.
void name_conversation_blocks(Request& r, const Scenario& scenario);

class ConversationSource : public RequestSource {
 public:
  explicit ConversationSource(const Scenario& scenario);

  std::vector<Request> initial_requests() override;
  std::vector<Request> follow_up(const Request& done, const ReplyOutcome& outcome) override;
  double horizon_s() const override { return scenario_.conversation->duration_min * 60.0; }

 private:
  struct SessionState {
    Rng rng;
    int next_speaker = 0;
    long turns = 0;
    ContextState context;  // what the model sees next turn
    std::optional<Request> after_summary;  // the reply waiting for its summary
    double start_s = 0;  // its first turn
    double end_s = 0;    // no human turn of it starts after this
  };

  // The requests of the human turn starting at `start_s` (none past the duration).
  std::vector<Request> conversation_turn(int session, double start_s);
  Request base_request(int session, RequestKind kind);

  const Scenario& scenario_;
  std::vector<SessionState> sessions_;
  long next_id_ = 0;
};

}  // namespace convsim
