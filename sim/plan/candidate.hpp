#pragma once
// One deployment `convsim plan` considers: a GPU preset, a serving engine, a cluster
// size, a layout (with an optional disaggregated prefill pool of its own layout) and
// serving settings, applied to the scenario as key overrides.

#include <string>
#include <vector>

#include "sim/scenario/overrides.hpp"

namespace convsim {

struct Candidate {
  std::string gpu;
  std::string engine = "vllm";  // a serving engine profile (models/catalog/engines/)
  int nodes = 1;
  int tp = 1;
  int pp = 1;
  int ep = 1;
  int cp = 1;
  int dp = 0;  // 0: as many replicas as the nodes hold (see resolved_dp)
  // A disaggregated prefill pool of this many replicas (0: none), each of
  // prefill_tp * prefill_cp * prefill_pp GPUs (its experts over prefill_ep of its
  // tensor-parallel GPUs); 0 for a degree: the decode replicas' tp, pp and cp, and no
  // expert parallelism (see pool_tp, pool_pp, pool_cp, pool_ep).
  int prefill_replicas = 0;
  int prefill_tp = 0;
  int prefill_pp = 0;
  int prefill_cp = 0;
  int prefill_ep = 0;
  int max_batch_seqs = 1;
  long prefill_chunk_tokens = 1;
  std::string kv_between_turns = "keep";
};

// GPUs of one decode replica: (ep > tp ? ep : tp * cp) * pp.
int replica_gpus(const Candidate& c);

// The prefill pool's degrees: its own, or the decode replicas' when 0 (for ep: 1).
int pool_tp(const Candidate& c);
int pool_pp(const Candidate& c);
int pool_cp(const Candidate& c);
int pool_ep(const Candidate& c);

// GPUs of the prefill pool: prefill_replicas * pool_tp * pool_cp * pool_pp (0 without
// one; its ep is 1 or pool_tp, within those GPUs).
int pool_gpus(const Candidate& c);

// dp, or with dp = 0 the replicas the GPUs left beside the prefill pool hold
// (nodes * gpus_per_node - pool_gpus) / replica_gpus; may be 0 or less when
// nothing fits.
int resolved_dp(const Candidate& c, int gpus_per_node);

// A folder name naming every choice:
//   h100-sxm-vllm-n2-tp4-pp1-ep1-cp1-dp4-pf0-b64-c8192-keep
// ("dpfill" for dp = 0; "pf2tp8pp1" for a pool of 2 replicas at TP8, PP1, with
// "cp2" when its cp differs from the decode replicas' and "ep8" when it has expert
// parallelism).
std::string candidate_name(const Candidate& c);

// The overrides that turn the scenario into this candidate (dp resolved).
std::vector<Override> candidate_overrides(const Candidate& c, int gpus_per_node);

}  // namespace convsim
