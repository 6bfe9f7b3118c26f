// The registry of search strategies: plan.strategy name -> implementation, one line
// each. Adding a strategy: its own file, one line here, one build line, one test.

#include <functional>
#include <utility>

#include "sim/plan/grid_search.hpp"
#include "sim/plan/search_strategy.hpp"

namespace convsim {
namespace {

using Factory = std::function<std::unique_ptr<SearchStrategy>()>;

const std::vector<std::pair<std::string, Factory>>& registry() {
  static const std::vector<std::pair<std::string, Factory>> strategies = {
      {"grid", [] { return std::make_unique<GridSearch>(); }},
  };
  return strategies;
}

}  // namespace

std::vector<std::string> search_strategy_names() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : registry()) names.push_back(name);
  return names;
}

std::unique_ptr<SearchStrategy> make_search_strategy(const std::string& name) {
  for (const auto& [registered, factory] : registry()) {
    if (registered == name) return factory();
  }
  return nullptr;
}

}  // namespace convsim
