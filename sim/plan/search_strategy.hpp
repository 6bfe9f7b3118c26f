#pragma once
// How `convsim plan` walks its search space: the family of search strategies.
//
// Contract: candidates(space) returns the candidates to consider, each at most once,
// in an order that depends only on `space` (the same space gives the same list, so
// that shards and resumed runs agree on what candidate k is). It does not judge them:
// the planner prunes those that cannot fit or cannot meet the objectives and
// evaluates the rest. A strategy is chosen by plan.strategy; the registry below maps
// that name to its implementation.

#include <memory>
#include <string>
#include <vector>

#include "sim/plan/candidate.hpp"
#include "sim/scenario/scenario.hpp"

namespace convsim {

class SearchStrategy {
 public:
  virtual ~SearchStrategy() = default;
  virtual std::vector<Candidate> candidates(const PlanSpec& space) const = 0;
};

// The registered strategies' names, in registry order.
std::vector<std::string> search_strategy_names();

// The strategy registered under `name`; nullptr when there is none.
std::unique_ptr<SearchStrategy> make_search_strategy(const std::string& name);

}  // namespace convsim
