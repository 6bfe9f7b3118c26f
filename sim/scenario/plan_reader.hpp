#pragma once
// The `plan:` section (see PlanSpec in scenario.hpp): the search space of
// `convsim plan`, with defaults taken from the scenario already read.

#include "sim/scenario/catalog.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/scenario/yaml_reader.hpp"

namespace convsim {

// The goals the top candidates can be ranked by.
inline const std::vector<std::string> kPlanGoals = {"energy", "gpus", "usd", "throughput_per_gpu"};

// REQUIRES: `scenario` holds everything but the plan (model, cluster, parallelism,
// serving, context, slo).
PlanSpec read_plan(const MapReader& plan, const Scenario& scenario, const Catalog& catalog);

}  // namespace convsim
