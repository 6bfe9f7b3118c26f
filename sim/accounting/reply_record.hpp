#pragma once
// What the simulation records for each request it completes or fails.

#include <string>

namespace convsim {

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
  double energy_j = 0;          // GPU energy attributed (active and in-iteration waiting)
  double network_energy_j = 0;  // link energy of its traffic share
  double flops = 0;
  double hbm_bytes = 0;
  double net_bytes = 0;
  double kv_bytes = 0;          // KV-cache bytes read and written for it
  double peak_gpu_mem_bytes = 0;
  std::string failure;          // empty, or the kind of the first failure that hit it
};

}  // namespace convsim
