#include "sim/workload/trace_source.hpp"

namespace convsim {

TraceSource::TraceSource(const Scenario& scenario)
    : spec_(*scenario.requests->trace),
      share_blocks_(scenario.serving.prefix_caching),
      reader_(spec_.path, spec_.format) {}

std::optional<Request> TraceSource::next_arrival() {
  while (!ended_) {
    if (spec_.max_requests > 0 && issued_ >= spec_.max_requests) break;
    const std::optional<TraceRow> row = reader_.next();
    if (!row || (spec_.duration_s > 0 && row->time_s >= spec_.start_s + spec_.duration_s)) break;
    if (row->time_s < spec_.start_s) continue;
    Request r;
    r.id = issued_++;
    r.session = static_cast<int>(r.id);  // every row is a conversation of its own
    r.arrival_s = (row->time_s - spec_.start_s) * spec_.time_scale;
    r.prompt_tokens = row->input_tokens;
    r.output_tokens = row->output_tokens;
    if (share_blocks_ && !row->hash_ids.empty()) {
      r.prefix_blocks = std::make_shared<const std::vector<std::uint64_t>>(row->hash_ids);
      r.prefix_block_tokens = kMooncakeBlockTokens;
    }
    return r;
  }
  ended_ = true;
  return std::nullopt;
}

}  // namespace convsim
