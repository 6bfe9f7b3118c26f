#pragma once
// Accumulators over predicted-versus-measured serving rows: the figures `convsim
// validate` prints for the in-sample prediction and for leave-one-model-out
// cross-validation (each row predicted by the fold fitted without its model).

#include <functional>
#include <string>
#include <vector>

namespace convsim {

// One metric of one row: what was measured, what was predicted, and the groups the
// row belongs to (family, GPU, precision, batch bucket), for the breakdown.
struct ErrorPoint {
  double measured = 0;
  double predicted = 0;
  std::vector<std::string> groups;
  double signed_error() const { return (predicted - measured) / measured; }
};

struct ErrorStats {
  std::string group;
  long count = 0;
  double median_abs = 0;     // median |predicted / measured - 1|
  double median_signed = 0;  // median of predicted / measured - 1: the bias
  double worst_abs = 0;
  double within_25 = 0;      // share of rows with |error| <= 25%
};

// The statistics of `points` (an empty set gives zeros). Medians are the lower
// median (rank floor((n - 1) / 2)), as the rest of validate's quantiles.
ErrorStats error_stats(const std::string& group, const std::vector<ErrorPoint>& points);

// One ErrorStats for every group any point names, in first-seen order, after "all".
std::vector<ErrorStats> error_breakdown(const std::vector<ErrorPoint>& points);

// The batch bucket of a batch: "batch 1-31", "batch 32-255", "batch 256-1023", "batch 1024+".
std::string batch_bucket(int batch);

}  // namespace convsim
