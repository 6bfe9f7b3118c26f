#pragma once
// What the simulation records for each request it completes or fails.

#include <string>

namespace convsim {

// Energy and hardware time charged to a request beyond its iterations' GPU work, or
// charged late (a restore, a transfer, a wait): added to a record's fields of the
// same names.
struct EnergyCharge {
  double energy_j = 0;           // GPUs
  double network_energy_j = 0;   // links, per byte
  double host_energy_j = 0;      // CPUs, memory, drives, NICs, fans, switches, power-supply losses
  double reserved_energy_j = 0;  // its share of its replica idle between its turns
  double gpu_s = 0;              // GPU-seconds while served
  double reserved_gpu_s = 0;     // GPU-seconds of its reservation share
  double restore_energy_j = 0;   // of the energy above, what restoring its cache cost

  EnergyCharge& operator+=(const EnergyCharge& o) {
    restore_energy_j += o.restore_energy_j;
    energy_j += o.energy_j;
    network_energy_j += o.network_energy_j;
    host_energy_j += o.host_energy_j;
    reserved_energy_j += o.reserved_energy_j;
    gpu_s += o.gpu_s;
    reserved_gpu_s += o.reserved_gpu_s;
    return *this;
  }
};

struct ReplyRecord {
  std::string kind = "reply";  // reply, summary or ingest (see RequestKind)
  int session = 0;
  long turn = 0;
  int speaker = -1;
  int replica = 0;
  double start_s = 0;  // arrival of the request
  long context_tokens = 0;  // what the model attends to: history + prompt
  long prompt_tokens = 0;   // new tokens of the turn
  long cached_tokens = 0;   // found in the KV cache
  long output_tokens = 0;
  bool served = false;      // false: failed before any token (see failure)
  double queue_s = 0;       // arrival to first iteration
  double ttft_s = 0;
  double tpot_s = 0;        // (e2e - ttft) / (output_tokens - 1); 0 for one token
  double e2e_s = 0;
  double human_speech_s = 0;
  double reply_speech_s = 0;
  double host_delay_s = 0;      // host work before the GPUs (retrieval), part of TTFT
  double energy_j = 0;          // GPU energy attributed (its iterations, and its restore's wait)
  double network_energy_j = 0;  // link energy of its traffic share
  // Its share of its replica's CPUs, memory, drives, NICs, fans and fabric switches
  // while it was served (iterations, the restore of its cache), and of the memory
  // and drive power moving its cache.
  double host_energy_j = 0;
  // Its share of its replica's hardware (GPUs and host, at idle) while the replica
  // waited between this conversation's turns (see sim/engine/replica.hpp).
  double reserved_energy_j = 0;
  double gpu_s = 0;           // GPU-seconds of its iterations and of its restore's wait
  double reserved_gpu_s = 0;  // GPU-seconds of its reservation share
  // Of energy_j + network_energy_j + host_energy_j, what bringing its KV cache back
  // to HBM cost: the link, host memory or NVMe, and the replica waiting for it.
  double restore_energy_j = 0;
  double flops = 0;
  double hbm_bytes = 0;
  double net_bytes = 0;
  double kv_bytes = 0;          // KV-cache bytes read and written for it
  double peak_gpu_mem_bytes = 0;
  std::string failure;          // empty, or the kind of the first failure that hit it
};

}  // namespace convsim
