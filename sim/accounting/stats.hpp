#pragma once
// Summary statistics over reply records.

#include <cstddef>
#include <functional>
#include <vector>

#include "sim/accounting/exact_sum.hpp"
#include "sim/accounting/external_sort.hpp"

namespace convsim {

struct Percentiles {
  double mean = 0;
  double p50 = 0;
  double p90 = 0;
  double p99 = 0;
  long count = 0;
};

// Percentiles by linear interpolation between closest ranks; zeros for no values.
Percentiles percentiles(std::vector<double> values);

// The same percentiles, bit for bit, of more values than should stay in memory: the
// values are sorted externally (at most chunk_values in memory) and read back once.
class ExactPercentiles {
 public:
  explicit ExactPercentiles(std::size_t chunk_values);
  void add(double value) { values_.push_back(value); }
  Percentiles result();

 private:
  ExternalSort<double, std::less<double>> values_;
};

// A histogram of positive durations in logarithmic bins (kBinsPerDecade per factor
// of ten, from kMinValue): constant memory however many samples, percentiles
// within one bin (0.2%) of the exact value. Used for inter-token latencies, of which
// a long run has millions.
class LogHistogram {
 public:
  static constexpr int kBinsPerDecade = 500;
  static constexpr double kMinValue = 1e-7;
  static constexpr int kDecades = 12;

  LogHistogram();
  void add(double value, long count = 1);
  Percentiles percentiles() const;

  // Adds another histogram's samples: the same bits as adding them one by one, in
  // any order (the sum is an ExactSum). For the shards of a run.
  void merge(const LogHistogram& other);
  const std::vector<long>& counts() const { return counts_; }
  const ExactSum& sum() const { return sum_; }
  // REQUIRES: counts.size() == counts().size(); total is their sum.
  void assign(std::vector<long> counts, const ExactSum& sum);

 private:
  double value_at(std::size_t bin) const;
  std::vector<long> counts_;
  ExactSum sum_;
  long total_ = 0;
};

}  // namespace convsim
