#pragma once
// Where a mixture of experts' work lands across an expert-parallel group: the busiest
// GPU, which every iteration waits for.

#include "models/architecture.hpp"

namespace convsim {

// The expected largest of `count` independent standard normal draws (0 for one).
double expected_max_standard_normal(int count);

// The GPU of an expert-parallel group with the most expert work, which the
// iteration waits for. With T tokens each routed to top_k of E experts uniformly,
// an expert is touched with probability q = 1 - (1 - top_k/E)^T; a rank holding
// n = E/ep experts touches Binomial(n, q) of them and receives about
// Binomial(T top_k, 1/ep) assignments. The busiest of ep ranks is taken at the
// expected maximum of ep normal approximations: mean + z_ep * standard deviation
// (z_ep = expected_max_standard_normal(ep)), times moe.imbalance (skew beyond
// uniform routing), at most n experts and T top_k assignments. ep <= 1: every GPU
// reads a slice of the E q distinct experts and computes all assignments.
struct BusiestExpertRank {
  double distinct_experts = 0;
  double assignments = 0;
  // The mean rank's (n q distinct experts, T top_k / ep assignments): what the
  // group's energy follows, while its time waits for the busiest.
  double mean_distinct_experts = 0;
  double mean_assignments = 0;
};
BusiestExpertRank busiest_expert_rank(const MoeSpec& moe, int ep, double tokens);

}  // namespace convsim
