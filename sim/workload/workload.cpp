#include "sim/workload/workload.hpp"

#include "sim/workload/source_registry.hpp"

namespace convsim {

std::string_view request_kind_name(RequestKind kind) {
  switch (kind) {
    case RequestKind::reply: return "reply";
    case RequestKind::summary: return "summary";
    case RequestKind::ingest: return "ingest";
  }
  return "reply";
}

Workload::Workload(const Scenario& scenario) : source_(make_request_source(scenario)) {}

std::vector<Request> Workload::all_up_front() {
  std::vector<Request> out = initial_requests();
  while (std::optional<Request> r = next_arrival()) out.push_back(std::move(*r));
  return out;
}

}  // namespace convsim
