#include "sim/accounting/energy.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace convsim {

double metered_gpu_energy_j(const RunResult& result) {
  double sum = 0;
  for (const GpuMeter& g : result.gpus) {
    sum += g.active_energy_j + g.idle_power_w * (result.end_s - g.active_time_s);
  }
  return sum;
}

double reply_host_energy_j(const ReplyRecord& reply, const Scenario& s) {
  return reply.host_delay_s * s.cluster.host_power_w_per_node * s.parallelism.gpus_per_replica() /
         s.cluster.gpus_per_node;
}

int nodes_in_use(const Scenario& scenario) {
  const int per_node = scenario.cluster.gpus_per_node;
  return (scenario.parallelism.gpus_used() + per_node - 1) / per_node;
}

EnergySplit energy_split(const RunResult& result, const Scenario& scenario) {
  EnergySplit e;
  for (const ReplyRecord& r : result.replies) e.gpu_active_j += r.energy_j;
  for (std::size_t k = 0; k < result.replica_busy_s.size(); ++k) {
    e.gpu_idle_j += scenario.cluster.gpu.power_idle_w * result.replica_gpus[k] * (result.end_s - result.replica_busy_s[k]);
  }
  e.network_j = result.network_energy_j;
  e.host_j = scenario.cluster.host_power_w_per_node * nodes_in_use(scenario) * result.end_s;
  e.facility_j = (scenario.cluster.pue - 1.0) * e.it_j();
  return e;
}

double reply_facility_energy_j(const ReplyRecord& reply, const Scenario& scenario) {
  return (reply.energy_j + reply.network_energy_j) * scenario.cluster.pue;
}

namespace {

// Seconds per spoken reply token: the pace tokens must at least keep.
double speech_s_per_token(const ReplyRecord& r) {
  return r.output_tokens > 0 ? r.reply_speech_s / static_cast<double>(r.output_tokens) : 0.0;
}

bool speech_applies(const Scenario& s) { return s.conversation.has_value() && s.slo.speech_realtime; }

}  // namespace

bool slo_ok(const ReplyRecord& r, const Scenario& s) {
  if (!r.served) return false;
  if (r.kind != "reply") return true;  // summaries and streamed chunks have no objective of their own
  if (r.ttft_s > s.slo.ttft_s || r.tpot_s > s.slo.tpot_s) return false;
  return !(speech_applies(s) && r.tpot_s > speech_s_per_token(r));
}

std::vector<FailureRecord> failure_points(const RunResult& result, const Scenario& s) {
  std::vector<FailureRecord> out = result.failures;
  const ReplyRecord* first_ttft = nullptr;
  const ReplyRecord* first_tpot = nullptr;
  const ReplyRecord* first_speech = nullptr;
  auto earlier = [](const ReplyRecord* a, const ReplyRecord& b) { return !a || b.start_s < a->start_s; };
  for (const ReplyRecord& r : result.replies) {
    if (!r.served || r.kind != "reply") continue;
    if (r.ttft_s > s.slo.ttft_s && earlier(first_ttft, r)) first_ttft = &r;
    if (r.tpot_s > s.slo.tpot_s && earlier(first_tpot, r)) first_tpot = &r;
    if (speech_applies(s) && r.tpot_s > speech_s_per_token(r) && earlier(first_speech, r)) first_speech = &r;
  }
  if (first_ttft) {
    out.push_back({"slo_ttft", first_ttft->start_s,
                   fmt::format("TTFT {:.3f} s > {:.3f} s (context {} tokens, prompt {}, queued {:.3f} s)",
                               first_ttft->ttft_s, s.slo.ttft_s, first_ttft->context_tokens,
                               first_ttft->prompt_tokens, first_ttft->queue_s)});
  }
  if (first_tpot) {
    out.push_back({"slo_tpot", first_tpot->start_s,
                   fmt::format("TPOT {:.4f} s > {:.4f} s (context {} tokens)", first_tpot->tpot_s, s.slo.tpot_s,
                               first_tpot->context_tokens)});
  }
  if (first_speech) {
    out.push_back({"speech_realtime", first_speech->start_s,
                   fmt::format("tokens come every {:.4f} s but are spoken every {:.4f} s", first_speech->tpot_s,
                               speech_s_per_token(*first_speech))});
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const FailureRecord& a, const FailureRecord& b) { return a.time_s < b.time_s; });
  return out;
}

}  // namespace convsim
