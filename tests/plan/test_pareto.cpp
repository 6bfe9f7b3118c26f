// The Pareto frontier of two costs, against the definition applied by brute force
// here: a point is on the frontier when no other point is at most equal on both
// costs and below on one.

#include <algorithm>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "sim/plan/pareto.hpp"

using namespace convsim;

namespace {

// Every point that no other point beats, checked pair by pair.
std::vector<std::size_t> brute_force_frontier(const std::vector<ParetoPoint>& points) {
  std::vector<std::size_t> out;
  for (const ParetoPoint& a : points) {
    bool beaten = false;
    for (const ParetoPoint& b : points) {
      beaten = beaten || (b.x <= a.x && b.y <= a.y && (b.x < a.x || b.y < a.y));
    }
    if (!beaten) out.push_back(a.index);
  }
  return out;
}

std::vector<std::size_t> sorted(std::vector<std::size_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

TEST_CASE("the frontier is exactly the points no other beats on both costs, for random point sets with ties") {
  std::mt19937_64 random(14);
  // Costs drawn from a few values, so that equal latencies, equal costs and equal
  // points all occur.
  std::uniform_int_distribution<int> value(0, 6);
  for (int trial = 0; trial < 500; ++trial) {
    INFO("trial " << trial);
    const int n = 1 + trial % 25;
    std::vector<ParetoPoint> points;
    for (int i = 0; i < n; ++i) {
      points.push_back({static_cast<std::size_t>(100 + i), 0.1 * value(random), 2.5 * value(random)});
    }
    const std::vector<std::size_t> frontier = pareto_frontier(points);
    CHECK(sorted(frontier) == sorted(brute_force_frontier(points)));
    // In order of the first cost, then the second.
    for (std::size_t k = 1; k < frontier.size(); ++k) {
      const auto at = [&](std::size_t index) {
        return *std::find_if(points.begin(), points.end(), [&](const ParetoPoint& p) { return p.index == index; });
      };
      const ParetoPoint a = at(frontier[k - 1]), b = at(frontier[k]);
      CHECK((a.x < b.x || (a.x == b.x && a.y <= b.y)));
    }
  }
}

TEST_CASE("a frontier trades one cost for the other: along it the first rises and the second falls") {
  // (1, 9), (2, 5), (4, 2) trade latency for cost; (3, 6) is beaten by (2, 5); (4, 2)
  // and (5, 2): equal cost, the slower one is beaten; two equal points are both kept.
  const std::vector<ParetoPoint> points = {{0, 3, 6}, {1, 1, 9}, {2, 4, 2}, {3, 2, 5}, {4, 5, 2}, {5, 2, 5}};
  CHECK(pareto_frontier(points) == std::vector<std::size_t>{1, 3, 5, 2});
  CHECK(pareto_frontier({}).empty());
}
