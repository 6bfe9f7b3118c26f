#include "sim/cli/run_shard_files.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "sim/output/atomic_file.hpp"
#include "sim/output/revision.hpp"
#include "sim/scenario/config_error.hpp"
#include "sim/scenario/derived_limits.hpp"

namespace fs = std::filesystem;

namespace convsim::cli {
namespace {

using Json = nlohmann::ordered_json;

constexpr char kRepliesMagic[] = "convsim-run-shard-replies-1\n";

double finite(double v, const char* what) {
  if (!std::isfinite(v)) throw OutputError(fmt::format("run shard: {} is not finite ({})", what, v));
  return v;
}

Json sum_json(const ExactSum& s) { return Json::array({fmt::format("{:016x}", s.high_bits()), fmt::format("{:016x}", s.low_bits())}); }

ExactSum sum_from(const Json& j) {
  return ExactSum::from_bits(std::stoull(j.at(0).get<std::string>(), nullptr, 16),
                             std::stoull(j.at(1).get<std::string>(), nullptr, 16));
}

// The totals a shard adds to the whole run, by name.
struct Counter {
  const char* name;
  long RunResult::*field;
};
const Counter kCounters[] = {{"iterations", &RunResult::iterations},
                             {"decode_iterations", &RunResult::decode_iterations},
                             {"activities", &RunResult::activities},
                             {"replicas_on_own_clock", &RunResult::replicas_on_own_clock},
                             {"kv_evictions", &RunResult::kv_evictions},
                             {"preemptions", &RunResult::preemptions},
                             {"faults_applied", &RunResult::faults_applied},
                             {"kv_offloads", &RunResult::kv_offloads},
                             {"kv_restores", &RunResult::kv_restores},
                             {"kv_tier_drops", &RunResult::kv_tier_drops},
                             {"prefix_lookup_blocks", &RunResult::prefix_lookup_blocks},
                             {"prefix_hit_blocks", &RunResult::prefix_hit_blocks},
                             {"prefix_lookup_tokens", &RunResult::prefix_lookup_tokens},
                             {"prefix_hit_tokens", &RunResult::prefix_hit_tokens},
                             {"prefix_evicted_blocks", &RunResult::prefix_evicted_blocks},
                             {"prefix_demoted_blocks", &RunResult::prefix_demoted_blocks},
                             {"prefix_restored_blocks", &RunResult::prefix_restored_blocks}};
struct Sum {
  const char* name;
  ExactSum RunResult::*field;
};
const Sum kSums[] = {{"dram_active_node_s", &RunResult::dram_active_node_s},
                     {"nvme_read_node_s", &RunResult::nvme_read_node_s},
                     {"nvme_write_node_s", &RunResult::nvme_write_node_s},
                     {"network_energy_j", &RunResult::network_energy_j},
                     {"decode_tokens", &RunResult::decode_tokens},
                     {"kv_transfer_bytes", &RunResult::kv_transfer_bytes},
                     {"kv_handoff_bytes", &RunResult::kv_handoff_bytes}};

struct MeterField {
  const char* name;
  double GpuMeter::*field;
};
const MeterField kMeterFields[] = {{"active_energy_j", &GpuMeter::active_energy_j},
                                   {"active_time_s", &GpuMeter::active_time_s},
                                   {"idle_power_w", &GpuMeter::idle_power_w},
                                   {"compute_s", &GpuMeter::compute_s},
                                   {"comm_s", &GpuMeter::comm_s},
                                   {"host_s", &GpuMeter::host_s},
                                   {"hbm_bytes", &GpuMeter::hbm_bytes},
                                   {"bf16_flops", &GpuMeter::bf16_flops},
                                   {"fp8_flops", &GpuMeter::fp8_flops},
                                   {"fp4_flops", &GpuMeter::fp4_flops},
                                   {"clock_compute_s", &GpuMeter::clock_compute_s}};

// Reply records, binary: strings as a 32-bit length and bytes, integers as 64 bits,
// doubles as their 8 bytes (the machines of one cluster share a byte order).
class BinaryOut {
 public:
  explicit BinaryOut(std::ostream& out) : out_(out) {}
  void i64(std::int64_t v) { out_.write(reinterpret_cast<const char*>(&v), sizeof v); }
  void f64(double v) { out_.write(reinterpret_cast<const char*>(&v), sizeof v); }
  void str(const std::string& s) {
    const auto n = static_cast<std::uint32_t>(s.size());
    out_.write(reinterpret_cast<const char*>(&n), sizeof n);
    out_.write(s.data(), static_cast<std::streamsize>(s.size()));
  }

 private:
  std::ostream& out_;
};

class BinaryIn {
 public:
  BinaryIn(std::istream& in, std::string path) : in_(in), path_(std::move(path)) {}
  std::int64_t i64() { return read<std::int64_t>(); }
  double f64() { return read<double>(); }
  std::string str() {
    const auto n = read<std::uint32_t>();
    if (n > (1u << 20)) throw ConfigError(fmt::format("{}: damaged (a string of {} bytes)", path_, n));
    std::string s(n, '\0');
    in_.read(s.data(), n);
    check();
    return s;
  }

 private:
  template <class T>
  T read() {
    T v{};
    in_.read(reinterpret_cast<char*>(&v), sizeof v);
    check();
    return v;
  }
  void check() {
    if (!in_) throw ConfigError(fmt::format("{}: ends early (damaged or cut)", path_));
  }
  std::istream& in_;
  std::string path_;
};

// The fields of a ReplyRecord, in file order.
template <class Io, class Record>
void reply_fields(Io& io, Record& r) {
  io(r.kind);
  io(r.failure);
  io(r.session);
  io(r.turn);
  io(r.speaker);
  io(r.replica);
  io(r.context_tokens);
  io(r.prompt_tokens);
  io(r.cached_tokens);
  io(r.output_tokens);
  io(r.served);
  for (double* d : {&r.start_s, &r.queue_s, &r.ttft_s, &r.tpot_s, &r.e2e_s, &r.human_speech_s, &r.reply_speech_s,
                    &r.host_delay_s, &r.energy_j, &r.network_energy_j, &r.host_energy_j, &r.reserved_energy_j,
                    &r.gpu_s, &r.reserved_gpu_s, &r.restore_energy_j, &r.flops, &r.hbm_bytes, &r.net_bytes,
                    &r.kv_bytes, &r.peak_gpu_mem_bytes}) {
    io(*d);
  }
}

struct Writer {
  BinaryOut& out;
  void operator()(const std::string& s) { out.str(s); }
  void operator()(double v) { out.f64(v); }
  void operator()(bool v) { out.i64(v ? 1 : 0); }
  void operator()(int v) { out.i64(v); }
  void operator()(long v) { out.i64(v); }
};
struct Reader {
  BinaryIn& in;
  void operator()(std::string& s) { s = in.str(); }
  void operator()(double& v) { v = in.f64(); }
  void operator()(bool& v) { v = in.i64() != 0; }
  void operator()(int& v) { v = static_cast<int>(in.i64()); }
  void operator()(long& v) { v = static_cast<long>(in.i64()); }
};

int gpus_per_replica(const RunResult& r) { return r.replica_gpus.empty() ? 0 : r.replica_gpus.front(); }

}  // namespace

std::string run_shard_manifest_name(const RunShard& shard) {
  return fmt::format("run-shard-{}-of-{}.json", shard.index, shard.count);
}
std::string run_shard_replies_name(const RunShard& shard) {
  return fmt::format("run-shard-{}-of-{}.replies", shard.index, shard.count);
}

void write_run_shard(const std::string& dir, const Scenario& scenario, const std::vector<std::string>& sets,
                     const RunShard& shard, const RunResult& result) {
  {
    AtomicFile file((fs::path(dir) / run_shard_replies_name(shard)).string());
    std::ostream& out = file.stream();
    out.write(kRepliesMagic, sizeof kRepliesMagic - 1);
    BinaryOut binary(out);
    Writer writer{binary};
    for (const ReplyRecord& r : result.replies) {
      ReplyRecord copy = r;
      reply_fields(writer, copy);
    }
    file.commit();
  }
  Json replicas = Json::array();
  const int per_replica = gpus_per_replica(result);
  for (int k = 0; k < static_cast<int>(result.replica_gpus.size()); ++k) {
    if (!shard.owns(k)) continue;
    const auto K = static_cast<std::size_t>(k);
    Json gpus = Json::array();
    for (int rank = k * per_replica; rank < (k + 1) * per_replica; ++rank) {
      Json g = {{"rank", rank}};
      const GpuMeter& meter = result.gpus[static_cast<std::size_t>(rank)];
      for (const MeterField& f : kMeterFields) g[f.name] = finite(meter.*(f.field), f.name);
      if (const int owner = result.timeline.track_owner(rank); owner != rank) {  // a stage's GPUs share one track
        g["bins_of"] = owner;
        gpus.push_back(std::move(g));
        continue;
      }
      g["bin_s"] = result.timeline.own_bin_s(rank);
      Json bins = Json::array();
      for (const GpuTimeline::Bin& b : result.timeline.own_bins(rank)) {
        bins.push_back({finite(b.busy_s, "bin"), finite(b.communicating_s, "bin"), finite(b.active_energy_j, "bin"),
                        finite(b.memory_bytes, "bin")});
      }
      g["bins"] = std::move(bins);
      gpus.push_back(std::move(g));
    }
    replicas.push_back({{"replica", k},
                        {"busy_s", finite(result.replica_busy_s[K], "busy_s")},
                        {"unattributed_s", finite(result.replica_unattributed_s[K], "unattributed_s")},
                        {"stopped_s", finite(result.replica_stopped_s[K], "stopped_s")},
                        {"gpus", std::move(gpus)}});
  }
  Json counters = Json::object();
  for (const Counter& c : kCounters) counters[c.name] = result.*(c.field);
  Json sums = Json::object();
  for (const Sum& s : kSums) sums[s.name] = sum_json(result.*(s.field));
  Json histogram = Json::array();  // [bin, count] of the bins with samples
  const std::vector<long>& counts = result.inter_token_s.counts();
  for (std::size_t b = 0; b < counts.size(); ++b) {
    if (counts[b] != 0) histogram.push_back({b, counts[b]});
  }
  Json failures = Json::array();
  for (const FailureRecord& f : result.failures) {
    failures.push_back({{"kind", f.kind}, {"time_s", f.time_s}, {"cause", f.cause}, {"cause_class", f.cause_class}});
  }
  // The catalog presets the run read, with their hashes: shards run with different
  // presets (or merged against a changed catalog) would not add up.
  Json catalog_files = Json::array();
  for (const auto& [file, hash] : scenario.catalog_files) catalog_files.push_back({{"file", file}, {"hash", hash}});
  const Json manifest = {
      {"convsim_run_shard", 1},
      {"convsim_version", CONVSIM_VERSION},
      {"git_revision", git_revision()},
      {"scenario", scenario.name},
      {"scenario_path", fs::absolute(scenario.source_path).lexically_normal().string()},
      // As given, and where from: the merge loads it so again, for summary.json and
      // scenario.resolved.yaml record the path as the whole run would.
      {"scenario_path_given", scenario.source_path},
      {"cwd", fs::current_path().string()},
      {"scenario_hash", scenario.source_text_hash},
      {"resolved_hash", scenario.resolved_hash},
      {"catalog_files", catalog_files},
      {"sets", sets},
      {"shard", {{"index", shard.index}, {"count", shard.count}}},
      {"replicas_total", result.replica_gpus.size()},
      {"gpus_per_replica", per_replica},
      {"replies_file", run_shard_replies_name(shard)},
      {"replies", result.replies.size()},
      {"clock_s", finite(result.clock_s, "clock_s")},
      {"horizon_s", finite(result.horizon_s, "horizon_s")},
      {"wall_s", result.wall_s},
      {"counters", counters},
      {"sums", sums},
      {"inter_token_s", {{"bins", histogram}, {"sum", sum_json(result.inter_token_s.sum())}}},
      {"failures", failures},
      {"replicas", replicas}};
  write_file_atomically((fs::path(dir) / run_shard_manifest_name(shard)).string(), manifest.dump(1) + "\n");
}

void add_run_shard(const Json& manifest, const std::string& manifest_path, RunResult& merged,
                   std::vector<char>& replicas_seen) {
  // A quantity of the file: finite and not negative, as the run wrote it.
  const auto quantity = [&manifest_path](const Json& j, const std::string& what) {
    const double v = j.get<double>();
    if (!std::isfinite(v) || v < 0) {
      throw ConfigError(fmt::format("{}: {} = {} is not a finite quantity >= 0", manifest_path, what, j.dump()));
    }
    return v;
  };
  try {
    const std::size_t total = manifest.at("replicas_total").get<std::size_t>();
    const int per_replica = manifest.at("gpus_per_replica").get<int>();
    if (total != merged.replica_gpus.size() || per_replica != gpus_per_replica(merged)) {
      throw ConfigError(fmt::format("{}: {} replicas of {} GPUs, but the scenario has {} of {}", manifest_path, total,
                                    per_replica, merged.replica_gpus.size(), gpus_per_replica(merged)));
    }
    for (const Json& r : manifest.at("replicas")) {
      const auto k = r.at("replica").get<std::size_t>();
      if (k >= total) throw ConfigError(fmt::format("{}: replica {} out of range", manifest_path, k));
      if (replicas_seen[k]) throw ConfigError(fmt::format("{}: replica {} is listed twice", manifest_path, k));
      replicas_seen[k] = 1;
      merged.replica_busy_s[k] = quantity(r.at("busy_s"), "busy_s");
      merged.replica_unattributed_s[k] = quantity(r.at("unattributed_s"), "unattributed_s");
      merged.replica_stopped_s[k] = quantity(r.at("stopped_s"), "stopped_s");
      std::vector<int> with_bins;
      for (const Json& g : r.at("gpus")) {
        const int rank = g.at("rank").get<int>();
        if (rank < 0 || rank >= static_cast<int>(merged.gpus.size())) {
          throw ConfigError(fmt::format("{}: GPU rank {} out of range", manifest_path, rank));
        }
        GpuMeter& meter = merged.gpus[static_cast<std::size_t>(rank)];
        for (const MeterField& f : kMeterFields) meter.*(f.field) = quantity(g.at(f.name), f.name);
        if (g.contains("bins_of")) {  // the track of an earlier GPU of the replica
          const int owner = g.at("bins_of").get<int>();
          if (std::find(with_bins.begin(), with_bins.end(), owner) == with_bins.end()) {
            throw ConfigError(fmt::format("{}: GPU rank {} reads the bins of rank {}, which is not an earlier GPU of "
                                          "replica {} with bins of its own",
                                          manifest_path, rank, owner, k));
          }
          merged.timeline.share({owner, rank});
          continue;
        }
        with_bins.push_back(rank);
        std::vector<GpuTimeline::Bin> bins;
        for (const Json& b : g.at("bins")) {
          bins.push_back(GpuTimeline::Bin{quantity(b.at(0), "a bin's busy_s"),
                                          quantity(b.at(1), "a bin's communicating_s"),
                                          quantity(b.at(2), "a bin's active_energy_j"),
                                          quantity(b.at(3), "a bin's memory_bytes")});
        }
        merged.timeline.set_own(rank, g.at("bin_s").get<double>(), std::move(bins));
      }
    }
    for (const Counter& c : kCounters) {
      const long n = manifest.at("counters").at(c.name).get<long>();
      if (n < 0) throw ConfigError(fmt::format("{}: counter {} = {} is negative", manifest_path, c.name, n));
      merged.*(c.field) += n;
    }
    for (const Sum& s : kSums) merged.*(s.field) += sum_from(manifest.at("sums").at(s.name));
    LogHistogram shard_histogram;
    std::vector<long> counts = shard_histogram.counts();
    for (const Json& b : manifest.at("inter_token_s").at("bins")) {
      const auto bin = b.at(0).get<std::size_t>();
      if (bin >= counts.size()) throw ConfigError(fmt::format("{}: histogram bin {} out of range", manifest_path, bin));
      counts[bin] = b.at(1).get<long>();
    }
    shard_histogram.assign(std::move(counts), sum_from(manifest.at("inter_token_s").at("sum")));
    merged.inter_token_s.merge(shard_histogram);
    for (const Json& f : manifest.at("failures")) {
      keep_first_failure(merged.failures, FailureRecord{f.at("kind").get<std::string>(), f.at("time_s").get<double>(),
                                                        f.at("cause").get<std::string>(),
                                                        f.at("cause_class").get<std::string>()});
    }
    // No simulated time beyond the longest span a scenario may cover.
    for (const char* key : {"clock_s", "horizon_s"}) {
      if (quantity(manifest.at(key), key) > kMaxSpanMin * 60.0 * 2) {
        throw ConfigError(fmt::format("{}: {} = {} s is beyond any simulated span", manifest_path, key,
                                      manifest.at(key).dump()));
      }
    }
    merged.clock_s = std::max(merged.clock_s, manifest.at("clock_s").get<double>());
    merged.horizon_s = manifest.at("horizon_s").get<double>();
    merged.wall_s += quantity(manifest.at("wall_s"), "wall_s");
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(fmt::format("{}: not a run shard manifest: {}", manifest_path, e.what()));
  }
  const fs::path replies_path = fs::path(manifest_path).parent_path() / manifest.at("replies_file").get<std::string>();
  std::ifstream in(replies_path, std::ios::binary);
  if (!in) throw ConfigError(fmt::format("{}: cannot read file (listed by {})", replies_path.string(), manifest_path));
  std::string magic(sizeof kRepliesMagic - 1, '\0');
  in.read(magic.data(), static_cast<std::streamsize>(magic.size()));
  if (!in || magic != kRepliesMagic) {
    throw ConfigError(fmt::format("{}: not the reply records of a run shard", replies_path.string()));
  }
  BinaryIn binary(in, replies_path.string());
  Reader reader{binary};
  const auto count = manifest.at("replies").get<std::size_t>();
  for (std::size_t k = 0; k < count; ++k) {
    ReplyRecord r;
    reply_fields(reader, r);
    merged.replies.push_back(r);
  }
  if (in.peek() != std::char_traits<char>::eof()) {
    throw ConfigError(fmt::format("{}: more records than the {} its manifest lists", replies_path.string(), count));
  }
}

}  // namespace convsim::cli
