#include "sim/workload/request_stream_source.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>

namespace convsim {
namespace {

long at_least_one(double x) { return std::max(1L, std::lround(x)); }

}  // namespace

RequestStreamSource::RequestStreamSource(const Scenario& scenario)
    : spec_(*scenario.requests),
      rng_(Rng(scenario.seed).fork(0)),
      prompt_rng_(Rng(scenario.seed).fork(1)),
      name_blocks_(scenario.serving.prefix_caching),
      block_tokens_(scenario.serving.kv_block_tokens) {}

Request RequestStreamSource::stream_request(int slot, double arrival_s) {
  Request r;
  r.id = next_id_++;
  r.session = slot;
  r.arrival_s = arrival_s;
  if (spec_.unique_prompts > 0) {
    const long prompt = issued_ % spec_.unique_prompts;
    if (prompt == static_cast<long>(prompt_tokens_.size())) {
      prompt_tokens_.push_back(at_least_one(sample(spec_.input_tokens, prompt_rng_)));
    }
    r.prompt_tokens = prompt_tokens_[static_cast<std::size_t>(prompt)];
    if (name_blocks_ && r.prompt_tokens >= block_tokens_) {
      // Equal ids, equal contents up to the block's end: the prompt's number and
      // the block's position.
      auto ids = std::make_shared<std::vector<std::uint64_t>>();
      for (long k = 0; (k + 1) * block_tokens_ <= r.prompt_tokens; ++k) {
        ids->push_back(static_cast<std::uint64_t>(prompt) << 40 | static_cast<std::uint64_t>(k));
      }
      r.prefix_blocks = std::move(ids);
      r.prefix_block_tokens = block_tokens_;
    }
  } else {
    r.prompt_tokens = at_least_one(sample(spec_.input_tokens, rng_));
  }
  r.output_tokens = at_least_one(sample(spec_.output_tokens, rng_));
  ++issued_;
  return r;
}

std::vector<Request> RequestStreamSource::initial_requests() {
  std::vector<Request> out;
  if (spec_.arrival != RequestStreamSpec::Arrival::concurrency) out.reserve(static_cast<std::size_t>(spec_.count));
  switch (spec_.arrival) {
    case RequestStreamSpec::Arrival::all_at_once:
      for (long i = 0; i < spec_.count; ++i) out.push_back(stream_request(static_cast<int>(i), 0.0));
      break;
    case RequestStreamSpec::Arrival::rate: {
      double t = 0;
      for (long i = 0; i < spec_.count; ++i) {
        t += rng_.exponential(spec_.rate_per_s);
        out.push_back(stream_request(static_cast<int>(i), t));
      }
      break;
    }
    case RequestStreamSpec::Arrival::concurrency:
      for (long i = 0; i < std::min<long>(spec_.count, spec_.concurrency); ++i) {
        out.push_back(stream_request(static_cast<int>(i), 0.0));
      }
      break;
  }
  return out;
}

std::vector<Request> RequestStreamSource::follow_up(const Request& done, const ReplyOutcome& outcome) {
  if (spec_.arrival == RequestStreamSpec::Arrival::concurrency && issued_ < spec_.count) {
    return {stream_request(done.session, outcome.done_s)};
  }
  return {};
}

}  // namespace convsim
