#pragma once
// A transcript replayed (conversation.transcript): each turn the model replies to
// becomes a request when the person stops speaking (end_s, times time_scale), its
// prompt the turn's tokens (and those of the turns before it that got no reply),
// its history what context.policy lets the model see of everything said and
// replied in the session so far (see context_policy.hpp; a summary is issued just
// before the reply it precedes, which the replica serves after it); the model's
// replies are simulated in place, the people's turns keep their recorded times.
// Read from the file as the run reaches it; the loader has checked every row.
// See request_source.hpp and sim/scenario/transcript_reader.hpp for the file.

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sim/scenario/scenario.hpp"
#include "sim/scenario/transcript_reader.hpp"
#include "sim/workload/context_policy.hpp"
#include "sim/workload/request_source.hpp"

namespace convsim {

class TranscriptSource : public RequestSource {
 public:
  explicit TranscriptSource(const Scenario& scenario);

  std::vector<Request> initial_requests() override { return {}; }
  std::optional<Request> next_arrival() override;
  std::vector<Request> follow_up(const Request&, const ReplyOutcome&) override { return {}; }
  double horizon_s() const override { return scenario_.conversation->duration_min * 60.0; }
  bool has_arrivals() const override { return true; }

 private:
  struct SessionState {
    long turns = 0;
    ContextState context;        // what the model sees next turn
    long unanswered_tokens = 0;  // turns with no reply yet, sent with the next reply
  };

  const Scenario& scenario_;
  TranscriptReader reader_;
  std::map<std::string, int> session_index_;  // in order of first appearance, as the loader numbered them
  std::vector<SessionState> sessions_;
  std::deque<Request> ready_;  // shaped from the last row, not yet handed out
  long next_id_ = 0;
};

}  // namespace convsim
