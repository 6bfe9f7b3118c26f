// convsim explain: where the time and energy of one reply go.

#include <algorithm>
#include <iostream>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>

#include "sim/analysis/explain.hpp"
#include "sim/cli/commands.hpp"
#include "sim/engine/simulation.hpp"
#include "sim/output/writers.hpp"
#include "sim/scenario/config_error.hpp"

namespace convsim::cli {

int command_explain(const std::string& path, const std::vector<std::string>& sets, double minute, int session) {
  const Catalog catalog = open_catalog(default_catalog_dir());
  const Scenario scenario = load_scenario(path, parse_overrides(sets), catalog, VariantCheck::skip);
  print_warnings(scenario);
  const RunResult result = simulate(scenario);
  SortedTurns sorted = sorted_replies(result.replies);
  std::optional<ReplyRecord> chosen;
  std::optional<double> last_minute;
  long sessions = 0;  // sessions with a request, numbered from 0
  sorted.for_each([&](const ReplyRecord& r) {
    sessions = std::max(sessions, static_cast<long>(r.session) + 1);
    if (r.session != session) return;
    last_minute = r.start_s / 60.0;
    if (!chosen && r.start_s >= minute * 60.0) chosen = r;
  });
  if (!chosen) {
    std::string why =
        last_minute ? fmt::format("no reply of session {} starts at or after it (the last starts at minute {:.2f})",
                                  session, *last_minute)
                    : fmt::format("session {} made no request (the run's requests come from sessions 0 to {})",
                                  session, sessions - 1);
    if (sessions == 0) why = "the run made no request";
    if (!result.failures.empty()) {
      const FailureRecord& f = result.failures.front();
      why += fmt::format("; the run's first failure: {} at minute {:.2f}: {}", f.kind, f.time_s / 60.0, f.cause);
    }
    throw ConfigError(fmt::format("{}: --minute {}: {}", path, minute, why));
  }
  if (!chosen->served) {
    std::cout << fmt::format("the reply at minute {:.2f} was not served: {}\n", chosen->start_s / 60.0,
                             chosen->failure);
    for (const FailureRecord& f : result.failures) {
      if (f.kind == chosen->failure) std::cout << "  " << f.cause << '\n';
    }
    return 0;
  }
  const CostModel cost(scenario);
  std::cout << format_breakdown(explain_reply(scenario, cost, *chosen), *chosen);
  return 0;
}

}  // namespace convsim::cli
