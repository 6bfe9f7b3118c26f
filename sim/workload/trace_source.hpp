#pragma once
// A production trace replayed (requests.trace): each row of the window becomes one
// single-turn request with the row's arrival time and lengths, read from the file
// as the run reaches it (never the whole file at once). Mooncake rows carry their
// prompt's 512-token prefix blocks (hash_ids), which the prefix cache shares
// between requests. The loader has checked every row; see request_source.hpp.

#include <optional>
#include <vector>

#include "sim/scenario/scenario.hpp"
#include "sim/scenario/trace_reader.hpp"
#include "sim/workload/request_source.hpp"

namespace convsim {

class TraceSource : public RequestSource {
 public:
  explicit TraceSource(const Scenario& scenario);

  std::vector<Request> initial_requests() override { return {}; }
  std::optional<Request> next_arrival() override;
  std::vector<Request> follow_up(const Request&, const ReplyOutcome&) override { return {}; }
  bool has_arrivals() const override { return true; }

 private:
  const TraceSpec& spec_;
  bool share_blocks_;
  TraceReader reader_;
  long issued_ = 0;
  bool ended_ = false;
};

}  // namespace convsim
