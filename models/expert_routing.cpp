#include "models/expert_routing.hpp"

#include <algorithm>
#include <cmath>

namespace convsim {

double expected_max_standard_normal(int count) {
  if (count <= 1) return 0.0;
  // Blom (1958): the expected largest of n standard normal draws is close to
  // the quantile (n - 0.375) / (n + 0.25); the quantile by Acklam's rational
  // approximation of the inverse normal CDF (relative error below 1.2e-9).
  const double q = (count - 0.375) / (count + 0.25);
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                                 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                 6.680131188771972e+01, -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                 -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
  static constexpr double dd[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                  3.754408661907416e+00};
  if (q > 0.97575) {
    const double t = std::sqrt(-2.0 * std::log(1.0 - q));
    return -(((((c[0] * t + c[1]) * t + c[2]) * t + c[3]) * t + c[4]) * t + c[5]) /
           ((((dd[0] * t + dd[1]) * t + dd[2]) * t + dd[3]) * t + 1.0);
  }
  const double r = q - 0.5, r2 = r * r;
  return (((((a[0] * r2 + a[1]) * r2 + a[2]) * r2 + a[3]) * r2 + a[4]) * r2 + a[5]) * r /
         (((((b[0] * r2 + b[1]) * r2 + b[2]) * r2 + b[3]) * r2 + b[4]) * r2 + 1.0);
}

BusiestExpertRank busiest_expert_rank(const MoeSpec& e, int ep, double tokens) {
  BusiestExpertRank busiest;
  if (tokens <= 0) return busiest;
  const double experts = e.experts, k = e.top_k, all = tokens * k;
  const double q = 1.0 - std::pow(1.0 - k / experts, tokens);  // one expert is touched
  if (ep <= 1) {  // every GPU holds a slice of every expert
    busiest.distinct_experts = busiest.mean_distinct_experts = experts * q;
    busiest.assignments = busiest.mean_assignments = all;
    return busiest;
  }
  const double z = expected_max_standard_normal(ep);
  const double per_rank = experts / ep;
  const double distinct = per_rank * q + z * std::sqrt(per_rank * q * (1.0 - q));
  const double share = 1.0 / ep;
  const double assignments = all * share + z * std::sqrt(all * share * (1.0 - share));
  busiest.distinct_experts = std::min(per_rank, e.imbalance * distinct);
  busiest.assignments = std::min(all, e.imbalance * assignments);
  busiest.mean_distinct_experts = per_rank * q;
  busiest.mean_assignments = all * share;
  return busiest;
}

}  // namespace convsim
