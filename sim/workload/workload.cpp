#include "sim/workload/workload.hpp"

#include <algorithm>
#include <cmath>

namespace convsim {
namespace {

long at_least_one(double x) { return std::max(1L, std::lround(x)); }

}  // namespace

Workload::Workload(const Scenario& scenario) : scenario_(scenario), stream_rng_(Rng(scenario.seed).fork(0)) {
  if (scenario_.conversation) {
    const Rng base(scenario.seed);
    for (int s = 0; s < scenario_.conversation->sessions; ++s) {
      sessions_.push_back(SessionState{base.fork(1000 + static_cast<std::uint64_t>(s)), 0, 0, 0});
    }
  }
}

double Workload::horizon_s() const {
  return scenario_.conversation ? scenario_.conversation->duration_min * 60.0 : 0.0;
}

std::optional<Request> Workload::conversation_turn(int session, double start_s) {
  const ConversationSpec& c = *scenario_.conversation;
  SessionState& state = sessions_[session];
  if (start_s >= c.duration_min * 60.0) return std::nullopt;
  const Speaker& speaker = c.speakers[state.next_speaker];
  const long words = at_least_one(sample(speaker.turn_words, state.rng));
  Request r;
  r.id = next_id_++;
  r.session = session;
  r.turn = state.turns++;
  r.speaker = state.next_speaker;
  r.human_speech_s = static_cast<double>(words) / speaker.words_per_min * 60.0;
  r.arrival_s = start_s + r.human_speech_s;
  r.history_tokens = state.history_tokens;
  r.prompt_tokens = at_least_one(static_cast<double>(words) * c.tokens_per_word) +
                    (r.turn == 0 ? c.system_prompt_tokens : 0);
  r.output_tokens = at_least_one(sample(c.reply_output_tokens, state.rng));
  r.reply_speech_s = static_cast<double>(r.output_tokens) / c.tokens_per_word / c.reply_words_per_min * 60.0;
  state.history_tokens += r.prompt_tokens + r.output_tokens;
  state.next_speaker = (state.next_speaker + 1) % static_cast<int>(c.speakers.size());
  return r;
}

Request Workload::stream_request(int slot, double arrival_s) {
  const RequestStreamSpec& s = *scenario_.requests;
  Request r;
  r.id = next_id_++;
  r.session = slot;
  r.turn = 0;
  r.arrival_s = arrival_s;
  r.prompt_tokens = at_least_one(sample(s.input_tokens, stream_rng_));
  r.output_tokens = at_least_one(sample(s.output_tokens, stream_rng_));
  ++stream_issued_;
  return r;
}

std::vector<Request> Workload::initial_requests() {
  std::vector<Request> out;
  if (scenario_.conversation) {
    const ConversationSpec& c = *scenario_.conversation;
    for (int s = 0; s < c.sessions; ++s) {
      if (auto r = conversation_turn(s, s * c.session_stagger_s)) out.push_back(*r);
    }
    return out;
  }
  const RequestStreamSpec& s = *scenario_.requests;
  switch (s.arrival) {
    case RequestStreamSpec::Arrival::all_at_once:
      for (long i = 0; i < s.count; ++i) out.push_back(stream_request(static_cast<int>(i), 0.0));
      break;
    case RequestStreamSpec::Arrival::rate: {
      double t = 0;
      for (long i = 0; i < s.count; ++i) {
        t += stream_rng_.exponential(s.rate_per_s);
        out.push_back(stream_request(static_cast<int>(i), t));
      }
      break;
    }
    case RequestStreamSpec::Arrival::concurrency:
      for (long i = 0; i < std::min<long>(s.count, s.concurrency); ++i) {
        out.push_back(stream_request(static_cast<int>(i), 0.0));
      }
      break;
  }
  return out;
}

std::optional<Request> Workload::follow_up(const Request& done, const ReplyOutcome& outcome) {
  if (scenario_.conversation) {
    SessionState& state = sessions_[done.session];
    const double spoken_until_s = std::max(outcome.first_token_s + done.reply_speech_s, outcome.done_s);
    const double pause_s = std::max(0.0, sample(scenario_.conversation->pause_s, state.rng));
    return conversation_turn(done.session, spoken_until_s + pause_s);
  }
  const RequestStreamSpec& s = *scenario_.requests;
  if (s.arrival == RequestStreamSpec::Arrival::concurrency && stream_issued_ < s.count) {
    return stream_request(done.session, outcome.done_s);
  }
  return std::nullopt;
}

}  // namespace convsim
