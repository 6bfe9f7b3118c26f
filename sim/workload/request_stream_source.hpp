#pragma once
// A plain stream of single-turn requests (the scenario's `requests:` section without
// a trace), for published serving benchmarks: lengths drawn from their
// distributions; arrivals all at once, Poisson at rate_per_s (drawn up front), or
// a closed loop of `concurrency` slots, each issuing its next request when its
// previous one is done. With unique_prompts, request i repeats prompt
// i mod unique_prompts: the same length, and (with prefix caching) the same block
// ids for its whole blocks. See request_source.hpp.

#include <vector>

#include "sim/scenario/scenario.hpp"
#include "sim/workload/distribution.hpp"
#include "sim/workload/request_source.hpp"

namespace convsim {

class RequestStreamSource : public RequestSource {
 public:
  explicit RequestStreamSource(const Scenario& scenario);

  std::vector<Request> initial_requests() override;
  std::vector<Request> follow_up(const Request& done, const ReplyOutcome& outcome) override;

 private:
  Request stream_request(int slot, double arrival_s);

  const RequestStreamSpec& spec_;
  Rng rng_;
  Rng prompt_rng_;                  // the prompt set's lengths, drawn as first needed
  std::vector<long> prompt_tokens_; // of the prompts drawn so far (unique_prompts)
  bool name_blocks_ = false;        // serving.prefix_caching
  long block_tokens_ = 16;
  long next_id_ = 0;
  long issued_ = 0;
};

}  // namespace convsim
