#pragma once
// The request sources by name (see request_source.hpp for their contract). The
// name is the scenario's workload section: `conversation`, `conversation.transcript`,
// `requests`, or `requests.trace`.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sim/scenario/scenario.hpp"
#include "sim/workload/request_source.hpp"

namespace convsim {

struct SourceEntry {
  std::string name;
  std::function<std::unique_ptr<RequestSource>(const Scenario&)> make;
};

// Every source, one line each.
const std::vector<SourceEntry>& request_sources();

// The name of the source the scenario asks for.
std::string source_name(const Scenario& scenario);

// REQUIRES: the scenario was validated by the loader (it names a known source).
std::unique_ptr<RequestSource> make_request_source(const Scenario& scenario);

}  // namespace convsim
