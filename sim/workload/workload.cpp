#include "sim/workload/workload.hpp"

#include <algorithm>
#include <cmath>

namespace convsim {
namespace {

long at_least_one(double x) { return std::max(1L, std::lround(x)); }

}  // namespace

std::string_view request_kind_name(RequestKind kind) {
  switch (kind) {
    case RequestKind::reply: return "reply";
    case RequestKind::summary: return "summary";
    case RequestKind::ingest: return "ingest";
  }
  return "reply";
}

Workload::Workload(const Scenario& scenario) : scenario_(scenario), stream_rng_(Rng(scenario.seed).fork(0)) {
  if (scenario_.conversation) {
    const Rng base(scenario.seed);
    for (int s = 0; s < scenario_.conversation->sessions; ++s) {
      sessions_.push_back(SessionState{base.fork(1000 + static_cast<std::uint64_t>(s)), 0, 0, 0, 0, std::nullopt});
    }
  }
}

double Workload::horizon_s() const {
  return scenario_.conversation ? scenario_.conversation->duration_min * 60.0 : 0.0;
}

Request Workload::base_request(int session, RequestKind kind) {
  Request r;
  r.kind = kind;
  r.id = next_id_++;
  r.session = session;
  return r;
}

std::vector<Request> Workload::conversation_turn(int session, double start_s) {
  const ConversationSpec& c = *scenario_.conversation;
  const ContextSpec& ctx = scenario_.context;
  SessionState& state = sessions_[session];
  if (start_s >= c.duration_min * 60.0) return {};
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
  const long spoken = r.prompt_tokens + r.output_tokens;

  std::vector<Request> out;
  switch (ctx.policy) {
    case ContextSpec::Policy::full:
      r.history_tokens = state.context_tokens;
      if (ctx.ingestion == ContextSpec::Ingestion::streaming) {
        // Every interval of speech, the words spoken so far are prefilled.
        const int chunks = static_cast<int>(r.human_speech_s / ctx.streaming_interval_s);
        long ingested = 0;
        for (int k = 1; k <= chunks; ++k) {
          const long upto = std::lround(static_cast<double>(r.prompt_tokens) * k * ctx.streaming_interval_s /
                                        r.human_speech_s);
          if (upto <= ingested || upto >= r.prompt_tokens) continue;
          Request chunk = base_request(session, RequestKind::ingest);
          chunk.turn = r.turn;
          chunk.speaker = r.speaker;
          chunk.arrival_s = start_s + k * ctx.streaming_interval_s;
          chunk.history_tokens = r.history_tokens + ingested;
          chunk.prompt_tokens = upto - ingested;
          chunk.output_tokens = 0;
          out.push_back(chunk);
          ingested = upto;
        }
        r.history_tokens += ingested;
        r.prompt_tokens -= ingested;
      }
      state.context_tokens += spoken;
      break;
    case ContextSpec::Policy::window: {
      const long total = state.context_tokens + r.prompt_tokens;
      if (total <= ctx.window_tokens) {
        r.history_tokens = state.context_tokens;
      } else {  // the oldest tokens fall out: the shifted context is prefilled again
        r.prompt_tokens = std::min(r.prompt_tokens, ctx.window_tokens);
        r.history_tokens = ctx.window_tokens - r.prompt_tokens;
        r.cache_reusable = false;
      }
      state.context_tokens = r.history_tokens + r.prompt_tokens + r.output_tokens;
      break;
    }
    case ContextSpec::Policy::summary:
      if (state.context_tokens >= ctx.summary_every_tokens) {
        Request summary = base_request(session, RequestKind::summary);
        summary.turn = r.turn;
        summary.arrival_s = r.arrival_s;
        summary.history_tokens = state.context_tokens;
        summary.prompt_tokens = ctx.summary_instruction_tokens;
        summary.output_tokens = ctx.summary_tokens;
        out.push_back(summary);
        r.history_tokens = ctx.summary_tokens;  // the context restarts from the summary
        r.cache_reusable = false;
        state.after_summary = r;
        state.context_tokens = ctx.summary_tokens + spoken;
        return out;
      }
      r.history_tokens = state.context_tokens;
      state.context_tokens += spoken;
      break;
    case ContextSpec::Policy::retrieval:
      r.history_tokens = static_cast<long>(ctx.retrieval_chunks) * ctx.retrieval_chunk_tokens +
                         std::min(state.recent_tokens, ctx.window_tokens);
      r.cache_reusable = false;
      r.host_delay_s = ctx.retrieval_latency_s;
      break;
  }
  state.recent_tokens += spoken;
  out.push_back(r);
  return out;
}

Request Workload::stream_request(int slot, double arrival_s) {
  const RequestStreamSpec& s = *scenario_.requests;
  Request r = base_request(slot, RequestKind::reply);
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
      for (const Request& r : conversation_turn(s, s * c.session_stagger_s)) out.push_back(r);
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

std::vector<Request> Workload::follow_up(const Request& done, const ReplyOutcome& outcome) {
  if (scenario_.conversation) {
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
  const RequestStreamSpec& s = *scenario_.requests;
  if (s.arrival == RequestStreamSpec::Arrival::concurrency && stream_issued_ < s.count) {
    return {stream_request(done.session, outcome.done_s)};
  }
  return {};
}

}  // namespace convsim
