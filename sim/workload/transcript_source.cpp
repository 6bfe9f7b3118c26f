#include "sim/workload/transcript_source.hpp"

#include "sim/workload/conversation_source.hpp"

namespace convsim {

TranscriptSource::TranscriptSource(const Scenario& scenario)
    : scenario_(scenario), reader_(scenario.conversation->transcript->path, scenario.conversation->tokens_per_word) {}

std::optional<Request> TranscriptSource::next_arrival() {
  if (!ready_.empty()) {
    const Request r = ready_.front();
    ready_.pop_front();
    return r;
  }
  const ConversationSpec& c = *scenario_.conversation;
  const double scale = c.transcript->time_scale;
  while (const std::optional<TranscriptRow> row = reader_.next()) {
    const auto [it, fresh] = session_index_.emplace(row->session, static_cast<int>(session_index_.size()));
    if (fresh) sessions_.push_back(SessionState{0, ContextState{}, c.system_prompt_tokens});
    SessionState& state = sessions_[static_cast<std::size_t>(it->second)];
    state.unanswered_tokens += row->tokens;
    if (row->reply_tokens == 0) continue;
    Request r;
    r.id = next_id_++;
    r.session = it->second;
    r.turn = state.turns++;
    for (std::size_t k = 0; k < c.speakers.size(); ++k) {
      if (c.speakers[k].name == row->speaker) r.speaker = static_cast<int>(k);
    }
    r.arrival_s = row->end_s * scale;
    r.human_speech_s = (row->end_s - row->start_s) * scale;
    r.prompt_tokens = state.unanswered_tokens;
    r.output_tokens = row->reply_tokens;
    r.reply_speech_s = static_cast<double>(r.output_tokens) / c.tokens_per_word / c.reply_words_per_min * 60.0;
    state.unanswered_tokens = 0;
    ShapedTurn shaped = shape_turn(scenario_.context, state.context, r, row->start_s * scale, next_id_);
    if (shaped.after_summary) {  // due with its summary, served after it; created after it, so ordered after it
      Request reply = *shaped.after_summary;
      reply.id = next_id_++;
      shaped.now.push_back(reply);
    } else {
      for (Request& each : shaped.now) name_conversation_blocks(each, scenario_);
    }
    ready_.assign(shaped.now.begin() + 1, shaped.now.end());
    return shaped.now.front();
  }
  return std::nullopt;
}

}  // namespace convsim
