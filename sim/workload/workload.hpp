#pragma once
// The run's requests: the source the scenario names (source_registry.hpp), behind
// the one interface the engine uses. The engine never knows which source feeds it.

#include <memory>
#include <optional>
#include <vector>

#include "sim/scenario/scenario.hpp"
#include "sim/workload/request.hpp"
#include "sim/workload/request_source.hpp"

namespace convsim {

class Workload {
 public:
  // The sources keep a reference to `scenario`: it must outlive the Workload (a
  // temporary is refused at compile time).
  explicit Workload(const Scenario& scenario);
  explicit Workload(Scenario&&) = delete;

  // See RequestSource for each call's contract.
  std::vector<Request> initial_requests() { return source_->initial_requests(); }
  std::optional<Request> next_arrival() { return source_->next_arrival(); }
  std::vector<Request> follow_up(const Request& done, const ReplyOutcome& outcome) {
    return source_->follow_up(done, outcome);
  }
  double horizon_s() const { return source_->horizon_s(); }
  bool has_arrivals() const { return source_->has_arrivals(); }

  // Every request known up front: the initial ones, then all arrivals (read whole;
  // for the paths that cannot pull them as they fall due).
  std::vector<Request> all_up_front();

 private:
  std::unique_ptr<RequestSource> source_;
};

}  // namespace convsim
