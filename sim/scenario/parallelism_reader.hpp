#pragma once
// The scenario's `parallelism:` section: degrees tp, ep, cp, pp, micro_batches,
// dp, an optional disaggregated `prefill:` pool and an optional explicit
// `placement:` (the GPU of each rank), checked against the model and the cluster.

#include <string>
#include <vector>

#include "sim/scenario/scenario.hpp"
#include "sim/scenario/yaml_reader.hpp"

namespace convsim {

// All degrees are 1 when the section is absent. Valid but probably unintended
// layouts add "file:line:column: warning: ..." to `warnings`.
ParallelismSpec read_parallelism(const MapReader& root, const ModelSpec& model, const ClusterSpec& cluster,
                                 std::vector<std::string>& warnings);

}  // namespace convsim
