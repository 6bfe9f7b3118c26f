#include <algorithm>
#include <random>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "sim/accounting/external_sort.hpp"
#include "sim/accounting/stats.hpp"

namespace convsim {

TEST_CASE("an external sort gives std::stable_sort's order for any chunk size, on every pass") {
  // (key, position added): equal keys must come out in the order they were added.
  struct Value {
    int key;
    int added;
    bool operator==(const Value& other) const { return key == other.key && added == other.added; }
  };
  auto by_key = [](const Value& a, const Value& b) { return a.key < b.key; };
  std::mt19937_64 random(5);
  std::vector<Value> values;
  for (int i = 0; i < 500; ++i) values.push_back(Value{static_cast<int>(random() % 20), i});
  std::vector<Value> expected = values;
  std::stable_sort(expected.begin(), expected.end(), by_key);
  for (std::size_t chunk : {1, 2, 33, 499, 500, 10000}) {
    INFO("chunk of " << chunk << " values");
    ExternalSort<Value, decltype(by_key)> sort(chunk, by_key, "test values");
    for (const Value& v : values) sort.push_back(v);
    CHECK(sort.size() == values.size());
    CHECK(sort.runs_spilled() == (values.size() - 1) / chunk);
    CHECK(sort.peak_buffered() == std::min(chunk, values.size()));
    for (int pass = 0; pass < 2; ++pass) {
      std::vector<Value> got;
      sort.for_each([&](const Value& v) { got.push_back(v); });
      CHECK(got == expected);
    }
  }
}

TEST_CASE("exact percentiles sorted on disk equal percentiles() of all the values, bit for bit") {
  std::mt19937_64 random(11);
  std::lognormal_distribution<double> latency_s(-2.0, 1.0);
  std::vector<double> values;
  for (int i = 0; i < 1001; ++i) values.push_back(i % 10 == 0 ? 0.25 : latency_s(random));  // some ties too
  const Percentiles expected = percentiles(values);
  for (std::size_t chunk : {1, 7, 100, 5000}) {
    INFO("chunk of " << chunk << " values");
    ExactPercentiles streamed(chunk);
    for (double v : values) streamed.add(v);
    const Percentiles got = streamed.result();
    CHECK(got.count == expected.count);
    CHECK(got.mean == expected.mean);
    CHECK(got.p50 == expected.p50);
    CHECK(got.p90 == expected.p90);
    CHECK(got.p99 == expected.p99);
  }
  ExactPercentiles none(4);
  CHECK(none.result().count == 0);
}

}  // namespace convsim
