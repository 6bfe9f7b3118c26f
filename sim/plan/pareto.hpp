#pragma once
// The Pareto frontier of points with two costs to minimise (a latency and a cost
// per unit of service): the points no other point beats.

#include <cstddef>
#include <vector>

namespace convsim {

struct ParetoPoint {
  std::size_t index = 0;  // the caller's name for the point (a row of plan.csv)
  double x = 0;           // first cost (the latency objective, s)
  double y = 0;           // second cost (energy per reply, or dollars per million output tokens)
};

// Whether `b` beats `a`: at most equal on both costs and below on one.
bool dominates(const ParetoPoint& b, const ParetoPoint& a);

// The indices of the points no other point dominates, by x, then y, then input order.
// Two points equal on both costs are both kept (neither beats the other).
std::vector<std::size_t> pareto_frontier(const std::vector<ParetoPoint>& points);

}  // namespace convsim
