#include "sim/workload/conversation_source.hpp"

#include <algorithm>
#include <cmath>

namespace convsim {
namespace {

long at_least_one(double x) { return std::max(1L, std::lround(x)); }

// A block's id: its owner (0 for the system prompt every session shares, s + 1 for
// session s) and its position. A session's context is its system prompt then its
// own turns, so equal ids mean equal contents up to the end of the block.
std::uint64_t block_id(std::uint64_t owner, long block) {
  return owner << 40 | static_cast<std::uint64_t>(block);
}

// Session start times over [0, horizon_s): Poisson at a constant rate, or at the
// rate of the hour of day by thinning a Poisson process at the peak rate (Lewis and
// Shedler, 1979): a candidate at t is kept with probability rate(t) / peak.
std::vector<double> session_starts(const ConversationSpec& c, double horizon_s, Rng& rng) {
  std::vector<double> starts;
  if (c.session_arrival == ConversationSpec::SessionArrival::fixed) {
    for (int s = 0; s < c.sessions; ++s) starts.push_back(s * c.session_stagger_s);
    return starts;
  }
  const bool diurnal = c.session_arrival == ConversationSpec::SessionArrival::diurnal;
  const double peak_per_h = diurnal ? *std::max_element(c.sessions_per_hour_by_hour.begin(),
                                                        c.sessions_per_hour_by_hour.end())
                                    : c.sessions_per_hour;
  for (double t = rng.exponential(peak_per_h / 3600.0); t < horizon_s; t += rng.exponential(peak_per_h / 3600.0)) {
    if (diurnal) {
      const int hour = static_cast<int>(std::fmod(c.start_hour + t / 3600.0, 24.0));
      const double keep = rng.uniform01();
      if (keep * peak_per_h >= c.sessions_per_hour_by_hour[static_cast<std::size_t>(hour)]) continue;
    }
    starts.push_back(t);
  }
  return starts;
}

}  // namespace

ConversationSource::ConversationSource(const Scenario& scenario) : scenario_(scenario) {
  const ConversationSpec& c = *scenario_.conversation;
  const Rng base(scenario.seed);
  Rng arrivals = base.fork(2);
  const double horizon = horizon_s();
  const std::vector<double> starts = session_starts(c, horizon, arrivals);
  for (std::size_t s = 0; s < starts.size(); ++s) {
    double end_s = horizon;
    if (c.session_min) end_s = std::min(end_s, starts[s] + std::max(0.0, sample(*c.session_min, arrivals)) * 60.0);
    sessions_.push_back(
        SessionState{base.fork(1000 + static_cast<std::uint64_t>(s)), 0, 0, ContextState{}, std::nullopt, starts[s], end_s});
  }
}

void name_conversation_blocks(Request& r, const Scenario& scenario) {
  if (!scenario.serving.prefix_caching || !r.cache_reusable) return;
  const long block = scenario.serving.kv_block_tokens;
  const long system = scenario.conversation->system_prompt_tokens;
  // With the whole history kept, block k always holds the same tokens of the
  // session; other context policies rewrite the history, so only the system prompt
  // at the start of the first turn is shared.
  const bool whole_history = scenario.context.policy == ContextSpec::Policy::full;
  if (!whole_history && r.turn != 0) return;
  const long tokens = whole_history ? r.history_tokens + r.prompt_tokens + r.output_tokens : std::min(system, r.prompt_tokens);
  auto ids = std::make_shared<std::vector<std::uint64_t>>();
  for (long k = 0; (k + 1) * block <= tokens; ++k) {
    ids->push_back((k + 1) * block <= system ? block_id(0, k) : block_id(static_cast<std::uint64_t>(r.session) + 1, k));
  }
  if (ids->empty()) return;
  r.prefix_blocks = std::move(ids);
  r.prefix_block_tokens = block;
}

Request ConversationSource::base_request(int session, RequestKind kind) {
  Request r;
  r.kind = kind;
  r.id = next_id_++;
  r.session = session;
  return r;
}

std::vector<Request> ConversationSource::conversation_turn(int session, double start_s) {
  const ConversationSpec& c = *scenario_.conversation;
  SessionState& state = sessions_[session];
  if (start_s >= state.end_s) return {};
  const Speaker& speaker = c.speakers[state.next_speaker];
  const long words = at_least_one(sample(speaker.turn_words, state.rng));
  Request r = base_request(session, RequestKind::reply);
  r.turn = state.turns++;
  r.speaker = state.next_speaker;
  r.human_speech_s = static_cast<double>(words) / speaker.words_per_min * 60.0;
  r.arrival_s = start_s + r.human_speech_s;
  r.prompt_tokens = at_least_one(static_cast<double>(words) * c.tokens_per_word) +
                    (r.turn == 0 ? c.system_prompt_tokens : 0);
  r.output_tokens = at_least_one(sample(c.reply_output_tokens, state.rng));
  r.reply_speech_s = static_cast<double>(r.output_tokens) / c.tokens_per_word / c.reply_words_per_min * 60.0;
  state.next_speaker = (state.next_speaker + 1) % static_cast<int>(c.speakers.size());
  ShapedTurn shaped = shape_turn(scenario_.context, state.context, r, start_s, next_id_);
  if (shaped.after_summary) {
    state.after_summary = shaped.after_summary;
    return shaped.now;  // neither the summary nor the reply after it reuse the history's blocks
  }
  for (Request& each : shaped.now) name_conversation_blocks(each, scenario_);
  return shaped.now;
}

std::vector<Request> ConversationSource::initial_requests() {
  std::vector<Request> out;
  for (std::size_t s = 0; s < sessions_.size(); ++s) {
    for (const Request& r : conversation_turn(static_cast<int>(s), sessions_[s].start_s)) out.push_back(r);
  }
  return out;
}

std::vector<Request> ConversationSource::follow_up(const Request& done, const ReplyOutcome& outcome) {
  SessionState& state = sessions_[done.session];
  if (done.kind == RequestKind::ingest) return {};
  if (done.kind == RequestKind::summary) {
    std::vector<Request> out;
    if (state.after_summary) out.push_back(*state.after_summary);  // still due at the end of the turn
    state.after_summary.reset();
    return out;
  }
  const double spoken_until_s = std::max(outcome.first_token_s + done.reply_speech_s, outcome.done_s);
  const double pause_s = std::max(0.0, sample(scenario_.conversation->pause_s, state.rng));
  return conversation_turn(done.session, spoken_until_s + pause_s);
}

}  // namespace convsim
