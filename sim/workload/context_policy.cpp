#include "sim/workload/context_policy.hpp"

#include <algorithm>
#include <cmath>

namespace convsim {
namespace {

Request extra_request(const Request& reply, RequestKind kind, long& next_id) {
  Request r;
  r.kind = kind;
  r.id = next_id++;
  r.session = reply.session;
  r.turn = reply.turn;
  return r;
}

}  // namespace

ShapedTurn shape_turn(const ContextSpec& ctx, ContextState& state, Request r, double start_s, long& next_id) {
  ShapedTurn out;
  const long spoken = r.prompt_tokens + r.output_tokens;
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
          Request chunk = extra_request(r, RequestKind::ingest, next_id);
          chunk.speaker = r.speaker;
          chunk.arrival_s = start_s + k * ctx.streaming_interval_s;
          chunk.history_tokens = r.history_tokens + ingested;
          chunk.prompt_tokens = upto - ingested;
          chunk.output_tokens = 0;
          out.now.push_back(chunk);
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
        Request summary = extra_request(r, RequestKind::summary, next_id);
        summary.arrival_s = r.arrival_s;
        summary.history_tokens = state.context_tokens;
        summary.prompt_tokens = ctx.summary_instruction_tokens;
        summary.output_tokens = ctx.summary_tokens;
        out.now.push_back(summary);
        r.history_tokens = ctx.summary_tokens;  // the context restarts from the summary
        r.cache_reusable = false;
        out.after_summary = r;
        state.context_tokens = ctx.summary_tokens + spoken;
        return out;  // neither the summary nor the reply after it reuse the history's blocks
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
  out.now.push_back(r);
  return out;
}

}  // namespace convsim
