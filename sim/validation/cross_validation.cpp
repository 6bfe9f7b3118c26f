#include "sim/validation/cross_validation.hpp"

#include <algorithm>
#include <cmath>

namespace convsim {
namespace {

double lower_median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[(values.size() - 1) / 2];
}

}  // namespace

ErrorStats error_stats(const std::string& group, const std::vector<ErrorPoint>& points) {
  ErrorStats s;
  s.group = group;
  if (points.empty()) return s;
  std::vector<double> signed_errors, abs_errors;
  long within = 0;
  for (const ErrorPoint& p : points) {
    const double e = p.signed_error();
    signed_errors.push_back(e);
    abs_errors.push_back(std::abs(e));
    within += std::abs(e) <= 0.25 ? 1 : 0;
  }
  s.count = static_cast<long>(points.size());
  s.median_abs = lower_median(abs_errors);
  s.median_signed = lower_median(signed_errors);
  s.worst_abs = *std::max_element(abs_errors.begin(), abs_errors.end());
  s.within_25 = static_cast<double>(within) / static_cast<double>(points.size());
  return s;
}

std::vector<ErrorStats> error_breakdown(const std::vector<ErrorPoint>& points) {
  std::vector<std::string> groups;
  for (const ErrorPoint& p : points) {
    for (const std::string& g : p.groups) {
      if (std::find(groups.begin(), groups.end(), g) == groups.end()) groups.push_back(g);
    }
  }
  std::vector<ErrorStats> out = {error_stats("all", points)};
  for (const std::string& g : groups) {
    std::vector<ErrorPoint> members;
    for (const ErrorPoint& p : points) {
      if (std::find(p.groups.begin(), p.groups.end(), g) != p.groups.end()) members.push_back(p);
    }
    out.push_back(error_stats(g, members));
  }
  return out;
}

std::string batch_bucket(int batch) {
  if (batch < 32) return "batch 1-31";
  if (batch < 256) return "batch 32-255";
  if (batch < 1024) return "batch 256-1023";
  return "batch 1024+";
}

}  // namespace convsim
