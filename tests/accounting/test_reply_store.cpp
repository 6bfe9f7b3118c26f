#include <sys/resource.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "sim/accounting/records.hpp"
#include "sim/accounting/reply_store.hpp"

namespace convsim {
namespace {

// Records with every field set and few distinct start times (many ties).
std::vector<ReplyRecord> sample_records(int count) {
  std::mt19937_64 random(7);
  const char* kinds[] = {"reply", "summary", "ingest"};
  const char* failures[] = {"", "", "memory", "context_limit"};
  std::vector<ReplyRecord> out;
  for (int i = 0; i < count; ++i) {
    ReplyRecord r;
    r.kind = kinds[random() % 3];
    r.session = static_cast<int>(random() % 5);
    r.turn = static_cast<long>(random() % 4);
    r.speaker = static_cast<int>(random() % 3) - 1;
    r.replica = static_cast<int>(random() % 2);
    r.start_s = static_cast<double>(random() % 6) * 0.5;
    r.context_tokens = i * 10;
    r.prompt_tokens = i;
    r.cached_tokens = i * 9;
    r.output_tokens = 50 + i;
    r.failure = failures[random() % 4];
    r.served = r.failure.empty();
    r.queue_s = 0.001 * i;
    r.ttft_s = 0.1 + 0.01 * i;
    r.tpot_s = 0.02 + 1e-4 * i;
    r.e2e_s = 1.0 + 0.1 * i;
    r.human_speech_s = 2.0 * i;
    r.reply_speech_s = 3.0 * i;
    r.host_delay_s = 1e-3 * i;
    r.energy_j = 100.0 / (i + 1);
    r.network_energy_j = 1.0 / (i + 3);
    r.host_energy_j = 10.0 / (i + 2);
    r.reserved_energy_j = 30.0 / (i + 5);
    r.gpu_s = 0.5 * i;
    r.reserved_gpu_s = 0.25 * i;
    r.restore_energy_j = 0.125 * i;
    r.flops = 1e12 * i;
    r.hbm_bytes = 1e9 * i;
    r.net_bytes = 1e6 * i;
    r.kv_bytes = 1e8 * i;
    r.peak_gpu_mem_bytes = 7e10 + i;
    out.push_back(r);
  }
  return out;
}

bool same(const ReplyRecord& a, const ReplyRecord& b) {
  return a.kind == b.kind && a.session == b.session && a.turn == b.turn && a.speaker == b.speaker &&
         a.replica == b.replica && a.start_s == b.start_s && a.context_tokens == b.context_tokens &&
         a.prompt_tokens == b.prompt_tokens && a.cached_tokens == b.cached_tokens &&
         a.output_tokens == b.output_tokens && a.served == b.served && a.queue_s == b.queue_s &&
         a.ttft_s == b.ttft_s && a.tpot_s == b.tpot_s && a.e2e_s == b.e2e_s && a.human_speech_s == b.human_speech_s &&
         a.reply_speech_s == b.reply_speech_s && a.host_delay_s == b.host_delay_s && a.energy_j == b.energy_j &&
         a.network_energy_j == b.network_energy_j && a.flops == b.flops && a.hbm_bytes == b.hbm_bytes &&
         a.net_bytes == b.net_bytes && a.kv_bytes == b.kv_bytes && a.peak_gpu_mem_bytes == b.peak_gpu_mem_bytes &&
         a.host_energy_j == b.host_energy_j && a.reserved_energy_j == b.reserved_energy_j && a.gpu_s == b.gpu_s &&
         a.reserved_gpu_s == b.reserved_gpu_s && a.restore_energy_j == b.restore_energy_j && a.failure == b.failure;
}

ReplyStore store_of(const std::vector<ReplyRecord>& records, std::size_t chunk_records) {
  ReplyStore store(chunk_records);
  for (const ReplyRecord& r : records) store.push_back(r);
  return store;
}

}  // namespace

TEST_CASE("records come back from the store as appended, in order, with at most one chunk in memory") {
  const std::vector<ReplyRecord> records = sample_records(50);
  for (std::size_t chunk : {1, 3, 7, 50, 1000}) {
    INFO("chunk of " << chunk << " records");
    const ReplyStore store = store_of(records, chunk);
    CHECK(store.size() == records.size());
    // A full buffer is written when the next record comes: all but the last partial chunk.
    CHECK(store.chunks_spilled() == (records.size() - 1) / chunk);
    CHECK(store.peak_buffered_records() == std::min(chunk, records.size()));
    const std::vector<ReplyRecord> back(store.begin(), store.end());
    REQUIRE(back.size() == records.size());
    for (std::size_t i = 0; i < records.size(); ++i) CHECK(same(back[i], records[i]));
  }
}

TEST_CASE("a sorted stream of the store is std::stable_sort of all its records, ties in order of completion") {
  const std::vector<ReplyRecord> records = sample_records(300);
  auto by_start_then_session = [](const auto& a, const auto& b) {
    return a.start_s != b.start_s ? a.start_s < b.start_s : a.session < b.session;
  };
  std::vector<ReplyRecord> expected;
  for (const ReplyRecord& r : records) {
    if (r.served) expected.push_back(r);
  }
  std::stable_sort(expected.begin(), expected.end(), by_start_then_session);
  for (std::size_t chunk : {1, 4, 16, 1000}) {
    INFO("chunk of " << chunk << " records");
    const ReplyStore store = store_of(records, chunk);
    auto sorted = store.sorted([](const ReplyRecord& r) { return r.served; }, by_start_then_session);
    CHECK(sorted.size() == expected.size());
    if (chunk < expected.size()) CHECK(sorted.runs_spilled() > 0);
    for (int pass = 0; pass < 2; ++pass) {  // each pass reads the runs again
      std::vector<ReplyRecord> got;
      sorted.for_each([&](const ReplyRecord& r) { got.push_back(r); });
      REQUIRE(got.size() == expected.size());
      for (std::size_t i = 0; i < got.size(); ++i) CHECK(same(got[i], expected[i]));
    }
  }
}

TEST_CASE("late charges go to each session's last record, whether in memory or on disk") {
  const std::vector<ReplyRecord> records = sample_records(40);
  auto charge = [](double j) { return EnergyCharge{j, 2 * j, 3 * j, 4 * j, 5 * j, 6 * j, 7 * j}; };
  const std::map<int, EnergyCharge> late_j = {
      {0, charge(1.5)}, {2, charge(2.5)}, {4, charge(4.0)}, {99, charge(8.0)}};  // no record of session 99
  // Expected by the definition: walk back from the newest record to the session's first hit.
  std::vector<ReplyRecord> expected = records;
  for (const auto& [session, c] : late_j) {
    for (auto it = expected.rbegin(); it != expected.rend(); ++it) {
      if (it->session == session) {
        it->energy_j += c.energy_j;
        it->network_energy_j += c.network_energy_j;
        it->host_energy_j += c.host_energy_j;
        it->reserved_energy_j += c.reserved_energy_j;
        it->gpu_s += c.gpu_s;
        it->reserved_gpu_s += c.reserved_gpu_s;
        it->restore_energy_j += c.restore_energy_j;
        break;
      }
    }
  }
  for (std::size_t chunk : {1, 3, 5000}) {
    INFO("chunk of " << chunk << " records");
    ReplyStore store = store_of(records, chunk);
    store.add_to_last_record(late_j);
    const std::vector<ReplyRecord> got(store.begin(), store.end());
    REQUIRE(got.size() == expected.size());
    for (std::size_t i = 0; i < got.size(); ++i) CHECK(same(got[i], expected[i]));
  }
}

TEST_CASE("a temporary folder that cannot hold the records is an error naming it, before any record") {
  const char* previous = std::getenv("TMPDIR");
  const std::string saved = previous ? previous : "";
  ::setenv("TMPDIR", "/nonexistent-convsim-folder", 1);
  CHECK_THROWS_WITH(ReplyStore(4), "cannot create a temporary file for reply records in /nonexistent-convsim-folder: "
                                   "No such file or directory (set TMPDIR to a folder with room)");
  if (previous) ::setenv("TMPDIR", saved.c_str(), 1);
  else ::unsetenv("TMPDIR");
}

TEST_CASE("a write error during the run is kept and thrown to the first reader, not from push_back") {
  // Files of this process may hold 1,000 bytes: the second chunk of 4 records (704 bytes a chunk) fails.
  rlimit saved{};
  ::getrlimit(RLIMIT_FSIZE, &saved);
  const auto previous_handler = std::signal(SIGXFSZ, SIG_IGN);  // the write fails with EFBIG instead
  ReplyStore store(4);
  rlimit small = saved;
  small.rlim_cur = 1000;
  ::setrlimit(RLIMIT_FSIZE, &small);
  const std::vector<ReplyRecord> records = sample_records(20);
  CHECK_NOTHROW([&] {
    for (const ReplyRecord& r : records) store.push_back(r);
  }());
  ::setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, previous_handler);
  CHECK(store.size() == records.size());
  CHECK(store.peak_buffered_records() <= 4);
  CHECK_THROWS_AS(store.begin(), SpillError);
  CHECK_THROWS_WITH(store.begin(), Catch::Contains("cannot write a temporary file for reply records") &&
                                       Catch::Contains("File too large"));
}

}  // namespace convsim
