#pragma once
// A stable sort of more values than should stay in memory: values are buffered up
// to `chunk_values`; each full chunk is stable-sorted and written to a SpillFile as
// a run; for_each merges the runs (and the buffered tail) in order. Equal values come
// out in the order they were added, as with std::stable_sort over all of them.
// Memory: the buffer (at most chunk_values) plus, while merging, read windows of
// about chunk_values values in all (at least kMinWindowValues per run).

#include <algorithm>
#include <cstddef>
#include <memory>
#include <numeric>
#include <queue>
#include <string>
#include <type_traits>
#include <vector>

#include "sim/accounting/spill_file.hpp"

namespace convsim {

template <class T, class Less>
class ExternalSort {
  static_assert(std::is_trivially_copyable_v<T>, "runs are written as raw bytes");

 public:
  static constexpr std::size_t kMinWindowValues = 64;

  // REQUIRES: chunk_values > 0. `what` names the values in error messages.
  ExternalSort(std::size_t chunk_values, Less less, std::string what)
      : chunk_values_(chunk_values), less_(less), what_(std::move(what)) {}

  void push_back(const T& value) {
    if (buffer_.size() >= chunk_values_) spill();
    // The buffer is allocated once, at its full size (pages are touched as it fills):
    // growing it by doubling would copy every value several times.
    if (buffer_.capacity() == 0) buffer_.reserve(chunk_values_);
    buffer_.push_back(value);
    sorted_ = false;
    peak_buffered_ = std::max(peak_buffered_, buffer_.size());
    ++size_;
  }

  std::size_t size() const { return size_; }
  std::size_t runs_spilled() const { return runs_.size(); }
  std::size_t peak_buffered() const { return peak_buffered_; }

  // Calls f(const T&) for every value in sorted order. May be called repeatedly.
  template <class F>
  void for_each(F&& f) {
    sort_buffer();
    if (runs_.empty()) {
      for (const T& v : buffer_) f(v);
      return;
    }
    const std::size_t window = std::max(kMinWindowValues, chunk_values_ / (runs_.size() + 1));
    std::vector<Cursor> cursors;
    for (const Run& run : runs_) cursors.push_back(Cursor{run, 0, {}, 0});
    cursors.push_back(Cursor{Run{0, buffer_.size()}, 0, {}, 0});  // the tail, read from memory
    const std::size_t tail = runs_.size();
    auto head = [&](std::size_t k) -> const T& {
      const Cursor& c = cursors[k];
      return k == tail ? buffer_[c.next] : c.window[c.next - c.window_start];
    };
    auto refill = [&](std::size_t k) {
      Cursor& c = cursors[k];
      if (k == tail || c.next < c.window_start + c.window.size() || c.next >= c.run.count) return;
      c.window.resize(std::min(window, c.run.count - c.next));
      file_->read((c.run.first + c.next) * sizeof(T), c.window.data(), c.window.size() * sizeof(T));
      c.window_start = c.next;
    };
    // Ties go to the earlier run: runs hold consecutive stretches of the input.
    auto later = [&](std::size_t a, std::size_t b) {
      if (less_(head(a), head(b))) return false;
      if (less_(head(b), head(a))) return true;
      return a > b;
    };
    std::priority_queue<std::size_t, std::vector<std::size_t>, decltype(later)> heap(later);
    for (std::size_t k = 0; k < cursors.size(); ++k) {
      refill(k);
      if (cursors[k].run.count > 0) heap.push(k);
    }
    while (!heap.empty()) {
      const std::size_t k = heap.top();
      heap.pop();
      f(head(k));
      if (++cursors[k].next < cursors[k].run.count) {
        refill(k);
        heap.push(k);
      }
    }
  }

 private:
  struct Run {
    std::size_t first = 0;  // index of its first value in the file
    std::size_t count = 0;
  };
  struct Cursor {
    Run run;
    std::size_t next = 0;  // within the run
    std::vector<T> window;
    std::size_t window_start = 0;
  };

  // Sorts the positions, not the values (a reply record is hundreds of bytes, and a
  // merge sort moves each value about log2(n) times), then moves each value once:
  // the same order as std::stable_sort of the values.
  void sort_buffer() {
    if (sorted_) return;
    sorted_ = true;
    std::vector<std::size_t> order(buffer_.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [this](std::size_t a, std::size_t b) { return less_(buffer_[a], buffer_[b]); });
    std::vector<T> sorted;
    sorted.reserve(buffer_.capacity());
    for (std::size_t i : order) sorted.push_back(std::move(buffer_[i]));
    buffer_.swap(sorted);
  }

  void spill() {
    sort_buffer();
    if (!file_) file_ = std::make_unique<SpillFile>(what_);
    const std::size_t offset = file_->append(buffer_.data(), buffer_.size() * sizeof(T));
    runs_.push_back(Run{offset / sizeof(T), buffer_.size()});
    buffer_.clear();
  }

  std::size_t chunk_values_;
  Less less_;
  std::string what_;
  std::vector<T> buffer_;
  bool sorted_ = true;
  std::vector<Run> runs_;
  std::unique_ptr<SpillFile> file_;
  std::size_t size_ = 0;
  std::size_t peak_buffered_ = 0;
};

}  // namespace convsim
