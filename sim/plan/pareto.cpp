#include "sim/plan/pareto.hpp"

#include <algorithm>

namespace convsim {

bool dominates(const ParetoPoint& b, const ParetoPoint& a) {
  return b.x <= a.x && b.y <= a.y && (b.x < a.x || b.y < a.y);
}

std::vector<std::size_t> pareto_frontier(const std::vector<ParetoPoint>& points) {
  // By x, then y: a point can only be beaten by one before it, and it is beaten
  // exactly when the least y before it (over points strictly better on x or equal
  // on x and strictly better on y) is at most its own with one strict.
  std::vector<ParetoPoint> sorted = points;
  std::stable_sort(sorted.begin(), sorted.end(), [](const ParetoPoint& a, const ParetoPoint& b) {
    return a.x < b.x || (a.x == b.x && a.y < b.y);
  });
  std::vector<std::size_t> out;
  const ParetoPoint* best = nullptr;  // the kept point with the least y so far
  for (const ParetoPoint& p : sorted) {
    if (best && dominates(*best, p)) continue;
    out.push_back(p.index);
    if (!best || p.y < best->y) best = &p;
  }
  return out;
}

}  // namespace convsim
