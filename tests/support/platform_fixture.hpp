#pragma once
// Running one SimGrid simulation on a cluster's platform inside a test. SimGrid
// allows one simulation per process: ctest runs every TEST_CASE in its own.

#include <functional>
#include <vector>

#include <simgrid/s4u.hpp>

#include "sim/cluster/platform.hpp"

namespace convsim::test {

// Builds the platform (only the nodes `nodes_wanted` marks, if given), runs `body`
// in an actor on its first GPU, returns when done.
inline void simulate(const ClusterSpec& cluster, const std::function<void(const Platform&)>& body,
                     const std::vector<bool>& nodes_wanted = {}) {
  int argc = 2;
  char arg0[] = "test";
  char arg1[] = "--log=root.thres:critical";
  char* argv[] = {arg0, arg1, nullptr};
  simgrid::s4u::Engine engine(&argc, argv);
  configure_exact_models(engine);
  const Platform platform = build_platform(cluster, nodes_wanted);
  simgrid::s4u::Host* first = nullptr;
  for (simgrid::s4u::Host* gpu : platform.gpus) {
    if (first == nullptr) first = gpu;
  }
  simgrid::s4u::Actor::create("test", first, [&] { body(platform); });
  engine.run();
}

// The simulated time `action` takes. REQUIRES: called from an actor.
inline double timed(const std::function<void()>& action) {
  const double start = simgrid::s4u::Engine::get_clock();
  action();
  return simgrid::s4u::Engine::get_clock() - start;
}

}  // namespace convsim::test
