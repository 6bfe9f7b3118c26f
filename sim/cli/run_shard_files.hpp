#pragma once
// The files of one shard of a run (convsim run --shard i/N), from which convsim
// merge rebuilds the whole run's records bit for bit:
//   run-shard-i-of-N.json     the manifest (scenario, --set, shard) and the shard's
//                             records other than replies: per replica and per GPU,
//                             counters, exact sums, the inter-token histogram,
//                             failures, clock and horizon. Numbers as JSON numbers
//                             that read back to the same double; ExactSums as two
//                             64-bit halves in hex.
//   run-shard-i-of-N.replies  the reply records, binary, in order of completion.
// Both are written through AtomicFile, the records first: a manifest names a
// complete shard.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/accounting/records.hpp"
#include "sim/engine/run_shard.hpp"
#include "sim/scenario/scenario.hpp"

namespace convsim::cli {

std::string run_shard_manifest_name(const RunShard& shard);  // run-shard-i-of-N.json
std::string run_shard_replies_name(const RunShard& shard);   // run-shard-i-of-N.replies

// Writes the shard's two files into `dir` (which exists). Throws OutputError.
void write_run_shard(const std::string& dir, const Scenario& scenario, const std::vector<std::string>& sets,
                     const RunShard& shard, const RunResult& result);

// Adds the records of the shard described by `manifest` (read from
// `manifest_path`, its replies beside it) into `merged`: its replicas' and their
// GPUs' records, its counters and sums, its failures and replies. Throws
// ConfigError naming the file when it is not a run shard's or does not fit
// `merged` (sizes), when a replica it lists is already in `replicas_seen` (another
// shard's, or listed twice), or when a quantity it holds is negative or not finite
// (a hand-edited file). `replicas_seen` has one entry per replica, marked here.
void add_run_shard(const nlohmann::ordered_json& manifest, const std::string& manifest_path, RunResult& merged,
                   std::vector<char>& replicas_seen);

}  // namespace convsim::cli
