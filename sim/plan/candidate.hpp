#pragma once
// One deployment `convsim plan` considers: a GPU preset, a cluster size, a layout and
// serving settings, applied to the scenario as key overrides.

#include <string>
#include <vector>

#include "sim/scenario/overrides.hpp"

namespace convsim {

struct Candidate {
  std::string gpu;
  int nodes = 1;
  int tp = 1;
  int pp = 1;
  int ep = 1;
  int cp = 1;
  int dp = 0;  // 0: as many replicas as the nodes hold (see resolved_dp)
  int prefill_replicas = 0;  // a disaggregated prefill pool of replicas laid out like the decode ones
  int max_batch_seqs = 1;
  long prefill_chunk_tokens = 1;
  std::string kv_between_turns = "keep";
};

// GPUs of one decode replica: (ep > tp ? ep : tp * cp) * pp.
int replica_gpus(const Candidate& c);

// dp, or with dp = 0 the replicas the GPUs left beside the prefill pool hold
// (nodes * gpus_per_node - prefill_replicas * tp * cp * pp) / replica_gpus; may be
// 0 or less when nothing fits.
int resolved_dp(const Candidate& c, int gpus_per_node);

// A folder name naming every choice: h100-sxm-n2-tp4-pp1-ep1-cp1-dp4-pf0-b64-c8192-keep
// ("dpfill" for dp = 0).
std::string candidate_name(const Candidate& c);

// The overrides that turn the scenario into this candidate (dp resolved).
std::vector<Override> candidate_overrides(const Candidate& c, int gpus_per_node);

}  // namespace convsim
