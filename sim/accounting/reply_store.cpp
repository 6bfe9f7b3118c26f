#include "sim/accounting/reply_store.hpp"

#include <algorithm>
#include <limits>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

namespace convsim {

StringIds::StringIds() : texts_{""}, ids_{{"", 0}} {}

std::uint16_t StringIds::id(const std::string& text) {
  const auto found = ids_.find(text);
  if (found != ids_.end()) return found->second;
  if (texts_.size() > std::numeric_limits<std::uint16_t>::max()) {
    throw std::logic_error(fmt::format("reply records hold over {} distinct kinds and failures; \"{}\" is one too many",
                                       texts_.size(), text));
  }
  const auto id = static_cast<std::uint16_t>(texts_.size());
  texts_.push_back(text);
  ids_.emplace(text, id);
  return id;
}

namespace {

StoredReply to_stored(const ReplyRecord& r, StringIds& strings) {
  StoredReply s;
  s.session = r.session;
  s.speaker = r.speaker;
  s.replica = r.replica;
  s.kind = strings.id(r.kind);
  s.failure = strings.id(r.failure);
  s.served = r.served;
  s.turn = r.turn;
  s.context_tokens = r.context_tokens;
  s.prompt_tokens = r.prompt_tokens;
  s.cached_tokens = r.cached_tokens;
  s.output_tokens = r.output_tokens;
  s.start_s = r.start_s;
  s.queue_s = r.queue_s;
  s.ttft_s = r.ttft_s;
  s.tpot_s = r.tpot_s;
  s.e2e_s = r.e2e_s;
  s.human_speech_s = r.human_speech_s;
  s.reply_speech_s = r.reply_speech_s;
  s.host_delay_s = r.host_delay_s;
  s.energy_j = r.energy_j;
  s.network_energy_j = r.network_energy_j;
  s.host_energy_j = r.host_energy_j;
  s.reserved_energy_j = r.reserved_energy_j;
  s.gpu_s = r.gpu_s;
  s.reserved_gpu_s = r.reserved_gpu_s;
  s.restore_energy_j = r.restore_energy_j;
  s.flops = r.flops;
  s.hbm_bytes = r.hbm_bytes;
  s.net_bytes = r.net_bytes;
  s.kv_bytes = r.kv_bytes;
  s.peak_gpu_mem_bytes = r.peak_gpu_mem_bytes;
  return s;
}

}  // namespace

ReplyRecord to_record(const StoredReply& s, const StringIds& strings) {
  ReplyRecord r;
  r.kind = strings.text(s.kind);
  r.session = s.session;
  r.turn = s.turn;
  r.speaker = s.speaker;
  r.replica = s.replica;
  r.start_s = s.start_s;
  r.context_tokens = s.context_tokens;
  r.prompt_tokens = s.prompt_tokens;
  r.cached_tokens = s.cached_tokens;
  r.output_tokens = s.output_tokens;
  r.served = s.served;
  r.queue_s = s.queue_s;
  r.ttft_s = s.ttft_s;
  r.tpot_s = s.tpot_s;
  r.e2e_s = s.e2e_s;
  r.human_speech_s = s.human_speech_s;
  r.reply_speech_s = s.reply_speech_s;
  r.host_delay_s = s.host_delay_s;
  r.energy_j = s.energy_j;
  r.network_energy_j = s.network_energy_j;
  r.host_energy_j = s.host_energy_j;
  r.reserved_energy_j = s.reserved_energy_j;
  r.gpu_s = s.gpu_s;
  r.reserved_gpu_s = s.reserved_gpu_s;
  r.restore_energy_j = s.restore_energy_j;
  r.flops = s.flops;
  r.hbm_bytes = s.hbm_bytes;
  r.net_bytes = s.net_bytes;
  r.kv_bytes = s.kv_bytes;
  r.peak_gpu_mem_bytes = s.peak_gpu_mem_bytes;
  r.failure = strings.text(s.failure);
  return r;
}

ReplyStore::ReplyStore(std::size_t chunk_records)
    : chunk_records_(chunk_records),
      strings_(std::make_shared<StringIds>()),
      file_(std::make_unique<SpillFile>("reply records")) {
  if (chunk_records_ == 0) throw std::invalid_argument("ReplyStore: chunk_records must be positive");
}

void ReplyStore::throw_if_failed() const {
  if (!error_.empty()) throw SpillError(error_);
}

void ReplyStore::push_back(const ReplyRecord& record) {
  ++size_;
  if (!error_.empty()) return;
  if (buffer_.size() >= chunk_records_) {
    try {
      file_->append(buffer_.data(), buffer_.size() * sizeof(StoredReply));
    } catch (const SpillError& e) {
      error_ = e.what();
      buffer_ = {};
      return;
    }
    spilled_ += buffer_.size();
    buffer_.clear();
  }
  // Allocated once at its full size (pages are touched as it fills), not regrown.
  if (buffer_.capacity() == 0) buffer_.reserve(chunk_records_);
  buffer_.push_back(to_stored(record, *strings_));
  peak_buffered_ = std::max(peak_buffered_, buffer_.size());
}

void ReplyStore::read_window(std::size_t first, std::size_t count, std::vector<StoredReply>* window) const {
  window->resize(count);
  file_->read(first * sizeof(StoredReply), window->data(), window->size() * sizeof(StoredReply));
}

void ReplyStore::add_to_last_record(const std::map<int, EnergyCharge>& charge_by_session) {
  if (!error_.empty()) return;
  try {
    add_to_last(charge_by_session);
  } catch (const SpillError& e) {
    error_ = e.what();
  }
}

void ReplyStore::add_to_last(const std::map<int, EnergyCharge>& charge_by_session) {
  std::set<int> missing;
  for (const auto& [session, charge] : charge_by_session) missing.insert(session);
  auto visit = [&](StoredReply& r) {
    if (missing.erase(r.session) == 0) return false;
    const EnergyCharge& c = charge_by_session.at(r.session);
    r.energy_j += c.energy_j;
    r.network_energy_j += c.network_energy_j;
    r.host_energy_j += c.host_energy_j;
    r.reserved_energy_j += c.reserved_energy_j;
    r.gpu_s += c.gpu_s;
    r.reserved_gpu_s += c.reserved_gpu_s;
    r.restore_energy_j += c.restore_energy_j;
    return true;
  };
  for (auto it = buffer_.rbegin(); it != buffer_.rend() && !missing.empty(); ++it) visit(*it);
  std::vector<StoredReply> window;
  for (std::size_t end = spilled_; end > 0 && !missing.empty();) {
    const std::size_t first = end - std::min(kReadWindowRecords, end);
    read_window(first, end - first, &window);
    bool changed = false;
    for (auto it = window.rbegin(); it != window.rend() && !missing.empty(); ++it) changed |= visit(*it);
    if (changed) file_->overwrite(first * sizeof(StoredReply), window.data(), window.size() * sizeof(StoredReply));
    end = first;
  }
}

ReplyStore::const_iterator::const_iterator(const ReplyStore* store, std::size_t index) : store_(store), index_(index) {
  if (index_ < store_->size_) load();
}

ReplyStore::const_iterator& ReplyStore::const_iterator::operator++() {
  if (++index_ < store_->size_) load();
  return *this;
}

void ReplyStore::const_iterator::load() {
  if (index_ >= store_->spilled_) {
    current_ = to_record(store_->buffer_[index_ - store_->spilled_], *store_->strings_);
    return;
  }
  if (index_ < window_start_ || index_ >= window_start_ + window_.size()) {
    store_->read_window(index_, std::min(kReadWindowRecords, store_->spilled_ - index_), &window_);
    window_start_ = index_;
  }
  current_ = to_record(window_[index_ - window_start_], *store_->strings_);
}

}  // namespace convsim
