#pragma once
// Where a run's reply records go: memory bounded however long the run. Records are
// appended in order of completion into a buffer of `chunk_records`; each full
// buffer is written to a temporary file (SpillFile) as a chunk. Readers stream the
// records back: in order of completion (begin()/end(), an input iterator), or sorted
// (sorted(), an external merge sort). Memory: one chunk of compact records (a
// StoredReply is 216 bytes; the default chunk 2.9 MB), the few distinct strings,
// and while sorting about one more chunk; disk: 216 bytes per record and per sort.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sim/accounting/external_sort.hpp"
#include "sim/accounting/reply_record.hpp"
#include "sim/accounting/spill_file.hpp"

namespace convsim {

// A ReplyRecord as it is kept: the strings (kind, failure) as ids into the store's
// table of distinct strings; every number as in ReplyRecord, under the same name (so
// sort orders can be written once for both, as generic lambdas).
struct StoredReply {
  std::int32_t session = 0;
  std::int32_t speaker = -1;
  std::int32_t replica = 0;
  std::uint16_t kind = 0;
  std::uint16_t failure = 0;
  bool served = false;
  long turn = 0;
  long context_tokens = 0;
  long prompt_tokens = 0;
  long cached_tokens = 0;
  long output_tokens = 0;
  double start_s = 0;
  double queue_s = 0;
  double ttft_s = 0;
  double tpot_s = 0;
  double e2e_s = 0;
  double human_speech_s = 0;
  double reply_speech_s = 0;
  double host_delay_s = 0;
  double energy_j = 0;
  double network_energy_j = 0;
  double host_energy_j = 0;
  double reserved_energy_j = 0;
  double gpu_s = 0;
  double reserved_gpu_s = 0;
  double restore_energy_j = 0;
  double flops = 0;
  double hbm_bytes = 0;
  double net_bytes = 0;
  double kv_bytes = 0;
  double peak_gpu_mem_bytes = 0;
};

// Distinct strings of the records, each stored once; id 0 is the empty string.
class StringIds {
 public:
  StringIds();
  std::uint16_t id(const std::string& text);  // adds it when new
  const std::string& text(std::uint16_t id) const { return texts_[id]; }

 private:
  std::vector<std::string> texts_;
  std::map<std::string, std::uint16_t> ids_;
};

ReplyRecord to_record(const StoredReply& stored, const StringIds& strings);

// Records sorted by an order given to ReplyStore::sorted(); read by for_each.
template <class Less>
class SortedReplies {
 public:
  SortedReplies(std::size_t chunk_records, Less less, std::shared_ptr<const StringIds> strings)
      : sort_(chunk_records, less, "sorted reply records"), strings_(std::move(strings)) {}
  void push_back(const StoredReply& r) { sort_.push_back(r); }
  std::size_t size() const { return sort_.size(); }
  std::size_t runs_spilled() const { return sort_.runs_spilled(); }

  // Calls f(const ReplyRecord&) in sorted order (equal records in order of
  // completion). May be called repeatedly; each call reads the sorted runs again.
  template <class F>
  void for_each(F&& f) {
    sort_.for_each([&](const StoredReply& r) { f(to_record(r, *strings_)); });
  }

 private:
  ExternalSort<StoredReply, Less> sort_;
  std::shared_ptr<const StringIds> strings_;
};

class ReplyStore {
 public:
  // 16,384 records: 2.9 MB in memory, written to disk in one call per chunk. Larger
  // chunks cost memory; smaller ones more sorted runs to merge.
  static constexpr std::size_t kDefaultChunkRecords = 16'384;
  // Records read from the file at a time by iterators and passes.
  static constexpr std::size_t kReadWindowRecords = 4'096;

  ReplyStore() : ReplyStore(kDefaultChunkRecords) {}
  // REQUIRES: chunk_records > 0. Throws SpillError when the file cannot be created.
  explicit ReplyStore(std::size_t chunk_records);

  // Appends a record (the name follows the standard containers).
  void push_back(const ReplyRecord& record);

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::size_t chunk_records() const { return chunk_records_; }
  std::size_t chunks_spilled() const { return spilled_ / chunk_records_; }
  // The most records ever held in memory at once (at most chunk_records()).
  std::size_t peak_buffered_records() const { return peak_buffered_; }

  // Adds charge_by_session[s] to session s's last record (sessions without a record
  // are skipped). Reads back from the newest record and stops once every session is
  // found: at most one pass over the file.
  void add_to_last_record(const std::map<int, EnergyCharge>& charge_by_session);

  // Input iterator over the records in order of completion. Each iterator reads the
  // file through its own window; the records must not change while it is used.
  class const_iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = ReplyRecord;
    using difference_type = std::ptrdiff_t;
    using pointer = const ReplyRecord*;
    using reference = const ReplyRecord&;

    const_iterator(const ReplyStore* store, std::size_t index);
    reference operator*() const { return current_; }
    pointer operator->() const { return &current_; }
    const_iterator& operator++();
    bool operator==(const const_iterator& other) const { return index_ == other.index_; }
    bool operator!=(const const_iterator& other) const { return index_ != other.index_; }

   private:
    void load();
    const ReplyStore* store_;
    std::size_t index_;
    std::vector<StoredReply> window_;
    std::size_t window_start_ = 0;
    ReplyRecord current_;
  };
  const_iterator begin() const {
    throw_if_failed();
    return const_iterator(this, 0);
  }
  const_iterator end() const { return const_iterator(this, size_); }

  // The records kept by `keep` (a predicate on ReplyRecord), stable-sorted by
  // `less`, which compares two StoredReply (see there).
  template <class Keep, class Less>
  SortedReplies<Less> sorted(Keep keep, Less less) const {
    throw_if_failed();
    SortedReplies<Less> out(chunk_records_, less, strings_);
    std::vector<StoredReply> window;
    for (std::size_t first = 0; first < spilled_; first += window.size()) {
      read_window(first, std::min(kReadWindowRecords, spilled_ - first), &window);
      for (const StoredReply& r : window) {
        if (keep(to_record(r, *strings_))) out.push_back(r);
      }
    }
    for (const StoredReply& r : buffer_) {
      if (keep(to_record(r, *strings_))) out.push_back(r);
    }
    return out;
  }

 private:
  void throw_if_failed() const;
  void add_to_last(const std::map<int, EnergyCharge>& charge_by_session);
  // Reads `count` spilled records from index `first` on.
  void read_window(std::size_t first, std::size_t count, std::vector<StoredReply>* window) const;

  std::size_t chunk_records_;
  std::vector<StoredReply> buffer_;  // the records after the spilled ones
  std::size_t spilled_ = 0;          // records in the file
  std::size_t size_ = 0;
  std::size_t peak_buffered_ = 0;
  std::shared_ptr<StringIds> strings_;
  std::unique_ptr<SpillFile> file_;
  std::string error_;  // the first write error, thrown to readers
};

}  // namespace convsim
