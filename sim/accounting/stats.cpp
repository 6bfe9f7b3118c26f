#include "sim/accounting/stats.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace convsim {
namespace {

double quantile(const std::vector<double>& sorted, double q) {
  const double position = q * static_cast<double>(sorted.size() - 1);
  const std::size_t below = static_cast<std::size_t>(std::floor(position));
  const std::size_t above = std::min(below + 1, sorted.size() - 1);
  const double fraction = position - static_cast<double>(below);
  return sorted[below] + (sorted[above] - sorted[below]) * fraction;
}

}  // namespace

Percentiles percentiles(std::vector<double> values) {
  Percentiles p;
  if (values.empty()) return p;
  std::sort(values.begin(), values.end());
  p.count = static_cast<long>(values.size());
  p.mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
  p.p50 = quantile(values, 0.50);
  p.p90 = quantile(values, 0.90);
  p.p99 = quantile(values, 0.99);
  return p;
}

LogHistogram::LogHistogram() : counts_(static_cast<std::size_t>(kBinsPerDecade) * kDecades + 1, 0) {}

void LogHistogram::add(double value, long count) {
  if (count <= 0) return;
  const double position = value > kMinValue ? std::log10(value / kMinValue) * kBinsPerDecade : 0.0;
  const std::size_t bin = std::min(counts_.size() - 1, static_cast<std::size_t>(position));
  counts_[bin] += count;
  sum_ += value * static_cast<double>(count);
  total_ += count;
}

double LogHistogram::value_at(std::size_t bin) const {  // geometric middle of the bin
  return kMinValue * std::pow(10.0, (static_cast<double>(bin) + 0.5) / kBinsPerDecade);
}

Percentiles LogHistogram::percentiles() const {
  Percentiles p;
  if (total_ == 0) return p;
  p.count = total_;
  p.mean = sum_ / static_cast<double>(total_);
  double* targets[] = {&p.p50, &p.p90, &p.p99};
  const double quantiles[] = {0.50, 0.90, 0.99};
  long seen = 0;
  int next = 0;
  for (std::size_t bin = 0; bin < counts_.size() && next < 3; ++bin) {
    seen += counts_[bin];
    while (next < 3 && static_cast<double>(seen) >= quantiles[next] * static_cast<double>(total_)) {
      *targets[next++] = value_at(bin);
    }
  }
  return p;
}

}  // namespace convsim
