#include "sim/accounting/stats.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace convsim {
namespace {

// Where quantile q of n sorted values lies: between the values at `below` and
// `above`, `fraction` of the way.
struct Rank {
  std::size_t below = 0;
  std::size_t above = 0;
  double fraction = 0;
};

Rank rank(std::size_t n, double q) {
  const double position = q * static_cast<double>(n - 1);
  Rank r;
  r.below = static_cast<std::size_t>(std::floor(position));
  r.above = std::min(r.below + 1, n - 1);
  r.fraction = position - static_cast<double>(r.below);
  return r;
}

double interpolate(double below, double above, double fraction) { return below + (above - below) * fraction; }

double quantile(const std::vector<double>& sorted, double q) {
  const Rank r = rank(sorted.size(), q);
  return interpolate(sorted[r.below], sorted[r.above], r.fraction);
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

ExactPercentiles::ExactPercentiles(std::size_t chunk_values)
    : values_(chunk_values, std::less<double>(), "latency samples") {}

Percentiles ExactPercentiles::result() {
  Percentiles p;
  const std::size_t n = values_.size();
  if (n == 0) return p;
  const double quantiles[] = {0.50, 0.90, 0.99};
  double* targets[] = {&p.p50, &p.p90, &p.p99};
  Rank ranks[3];
  double below[3] = {}, above[3] = {};
  for (int k = 0; k < 3; ++k) ranks[k] = rank(n, quantiles[k]);
  double sum = 0;
  std::size_t i = 0;
  values_.for_each([&](double v) {
    sum += v;
    for (int k = 0; k < 3; ++k) {
      if (i == ranks[k].below) below[k] = v;
      if (i == ranks[k].above) above[k] = v;
    }
    ++i;
  });
  p.count = static_cast<long>(n);
  p.mean = sum / static_cast<double>(n);
  for (int k = 0; k < 3; ++k) *targets[k] = interpolate(below[k], above[k], ranks[k].fraction);
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

void LogHistogram::merge(const LogHistogram& other) {
  for (std::size_t k = 0; k < counts_.size(); ++k) counts_[k] += other.counts_[k];
  sum_ += other.sum_;
  total_ += other.total_;
}

void LogHistogram::assign(std::vector<long> counts, const ExactSum& sum) {
  if (counts.size() != counts_.size()) throw std::invalid_argument("LogHistogram::assign: wrong number of bins");
  counts_ = std::move(counts);
  sum_ = sum;
  total_ = 0;
  for (long c : counts_) total_ += c;
}

double LogHistogram::value_at(std::size_t bin) const {  // geometric middle of the bin
  return kMinValue * std::pow(10.0, (static_cast<double>(bin) + 0.5) / kBinsPerDecade);
}

Percentiles LogHistogram::percentiles() const {
  Percentiles p;
  if (total_ == 0) return p;
  p.count = total_;
  p.mean = sum_.value() / static_cast<double>(total_);
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
