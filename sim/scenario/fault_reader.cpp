// Reads the optional `faults:` list of a scenario.

#include <algorithm>

#include <fmt/core.h>

#include "sim/scenario/fault_reader.hpp"

namespace convsim {

std::vector<FaultSpec> read_faults(const Locator& at, const YAML::Node& list, const YAML::Node& spot,
                                   const ClusterSpec& cluster, const ParallelismSpec& parallelism) {
  if (!list.IsSequence()) {
    at.fail(spot, fmt::format("faults: expected a list of faults ({{at_min, kind, ...}}), got {}", describe_node(list)));
  }
  std::vector<FaultSpec> faults;
  const int gpus = parallelism.gpus_used();
  const int nodes_used = (gpus + cluster.gpus_per_node - 1) / cluster.gpus_per_node;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const MapReader f(at, list[i], fmt::format("faults[{}]", i));
    f.allow_only({"at_min", "kind", "gpu", "node", "link", "factor", "until_min", "repair_min"});
    FaultSpec fault;
    const std::string kind = f.choice("kind", {"gpu_slow", "link_slow", "gpu_lost", "node_lost"});
    fault.kind = kind == "gpu_slow"    ? FaultSpec::Kind::gpu_slow
                 : kind == "link_slow" ? FaultSpec::Kind::link_slow
                 : kind == "gpu_lost"  ? FaultSpec::Kind::gpu_lost
                                       : FaultSpec::Kind::node_lost;
    const double at_min = f.number("at_min", Limits::at_least(0));
    fault.at_s = at_min * 60.0;
    if (fault.kind == FaultSpec::Kind::node_lost) {
      // A node the replicas use: losing one they do not would change nothing.
      fault.node = f.int_value("node", Limits::between(0, std::min(cluster.nodes, nodes_used) - 1));
    } else {
      fault.gpu = f.int_value("gpu", Limits::between(0, gpus - 1));  // the GPUs the replicas use
    }
    if (fault.kind == FaultSpec::Kind::link_slow) {
      const std::string link = f.choice("link", {"nvlink", "nic", "pcie"});
      fault.link = link == "nvlink" ? FaultSpec::Link::nvlink : link == "nic" ? FaultSpec::Link::nic : FaultSpec::Link::pcie;
    }
    if (fault.kind == FaultSpec::Kind::gpu_slow || fault.kind == FaultSpec::Kind::link_slow) {
      fault.factor = f.number("factor", Limits::at_least(1));
      if (f.has("until_min")) {
        const double until_min = f.number("until_min", Limits::at_least(0));
        if (until_min <= at_min) {
          at.fail(f.spot("until_min"), fmt::format("{} = {} must be after {} = {}", f.child_path("until_min"),
                                                   format_number(until_min), f.child_path("at_min"),
                                                   format_number(at_min)));
        }
        fault.until_s = until_min * 60.0;
      }
    } else {
      fault.repair_s = f.number("repair_min", Limits::positive()) * 60.0;
    }
    faults.push_back(fault);
  }
  return faults;
}

}  // namespace convsim
