// Failure points found in whole runs. One simulation per TEST_CASE.

#include <algorithm>
#include <map>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "models/architecture.hpp"
#include "models/transformer_cost.hpp"
#include "sim/analysis/failures.hpp"
#include "sim/engine/iteration_cost.hpp"
#include "sim/engine/simulation.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;

namespace {

const FailureRecord* find(const std::vector<FailureRecord>& failures, const std::string& kind) {
  for (const FailureRecord& f : failures) {
    if (f.kind == kind) return &f;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("the reported TTFT failure minute is the first reply whose prefill, computed by hand, passes the objective") {
  // One conversation, cache dropped: each reply prefills the whole history, alone on
  // its GPU, so its TTFT is the sum of its prefill chunks' uncontended cost.
  const Scenario s = test::scenario_from(test::kSmallConversation,
                                         {{"context.kv_between_turns", "drop"},
                                          {"model.preset", "llama-3.1-70b"},
                                          {"cluster.gpus_per_node", "4"},
                                          {"parallelism.tp", "4"},
                                          {"slo.ttft_s", "0.15"},
                                          {"conversation.duration_min", "30"}});
  const RunResult r = simulate(s);
  const CostModel cost(s);
  std::vector<ReplyRecord> replies(r.replies.begin(), r.replies.end());
  std::sort(replies.begin(), replies.end(), [](const ReplyRecord& a, const ReplyRecord& b) { return a.start_s < b.start_s; });
  double crossing_s = -1;
  for (const ReplyRecord& reply : replies) {
    double prefill_s = 0;
    for (long done = 0; done < reply.context_tokens;) {
      const long chunk = std::min(s.serving.prefill_chunk_tokens, reply.context_tokens - done);
      // Each chunk is an iteration of one sequence, after vLLM's host time for it.
      prefill_s += cost.iteration({SequenceWork{chunk, done, done + chunk == reply.context_tokens}}).uncontended_s +
                   s.serving.engine.iteration_host_s + s.serving.engine.host_s_per_sequence;
      done += chunk;
    }
    CHECK(reply.ttft_s == Approx(prefill_s).epsilon(1e-9));
    if (crossing_s < 0 && prefill_s > 0.15) crossing_s = reply.start_s;
  }
  REQUIRE(crossing_s > 0);
  const auto failures = failure_points(r, s, cost);
  const FailureRecord* ttft = find(failures, "slo_ttft");
  REQUIRE(ttft != nullptr);
  CHECK(ttft->time_s == crossing_s);
  CHECK(ttft->cause_class == "compute");  // a long prefill alone on its GPUs
}

TEST_CASE("arrivals faster than the replica serves them are reported as an unstable queue") {
  // Each request's prefill alone is 2 * 8.0e9 params * 2,000 tokens = 32 TFLOP: at
  // most ~31 per second at the H100's 989 TFLOP/s peak, fewer at any efficiency.
  // 40 arrive per second: the queue can only grow.
  const Scenario s = test::scenario_from(R"(
name: overload
requests: {count: 3000, input_tokens: {fixed: 2000}, output_tokens: {fixed: 200}, arrival: {rate_per_s: 40}}
model: {preset: llama-3.1-8b}
cluster: {gpu: h100-sxm, nodes: 1, gpus_per_node: 1}
serving: {max_batch_seqs: 128, prefill_chunk_tokens: 4096}
slo: {ttft_s: 1.0, tpot_s: 0.2}
)");
  const RunResult r = simulate(s);
  const auto failures = failure_points(r, s, CostModel(s));
  const FailureRecord* unstable = find(failures, "unstable_queue");
  REQUIRE(unstable != nullptr);
  CHECK(unstable->cause_class == "queueing");
}

TEST_CASE("a load the replica keeps up with is not an unstable queue") {
  // 2 requests per second of 500 + 100 tokens: 2 * 600 * 16 GFLOP = ~19 TFLOP/s and 200 decode
  // steps per second that batch together, a few percent of what one H100 does.
  const Scenario s = test::scenario_from(R"(
name: light
requests: {count: 600, input_tokens: {fixed: 500}, output_tokens: {fixed: 100}, arrival: {rate_per_s: 2}}
model: {preset: llama-3.1-8b}
cluster: {gpu: h100-sxm, nodes: 1, gpus_per_node: 1}
slo: {ttft_s: 1.0, tpot_s: 0.2}
)");
  const RunResult r = simulate(s);
  const auto failures = failure_points(r, s, CostModel(s));
  CHECK(find(failures, "unstable_queue") == nullptr);
  CHECK(find(failures, "slo_ttft") == nullptr);
}

TEST_CASE("a GPU slowed twofold from the start makes the GPU time of every decode step of a lone reply exactly twice as long") {
  const Scenario s = test::scenario_from(std::string(test::kSmallConversation) +
                                         "faults: [{at_min: 0, kind: gpu_slow, gpu: 0, factor: 2}]\n");
  const RunResult r = simulate(s);
  const CostModel cost(s);
  REQUIRE(r.replies.size() > 5);
  for (const ReplyRecord& reply : r.replies) {
    double decode_s = 0;  // one GPU: no collectives, all of it is compute
    for (long k = 1; k < reply.output_tokens; ++k) {
      decode_s += cost.iteration({SequenceWork{1, reply.context_tokens + k - 1, true}}).uncontended_s;
    }
    // The host's time per step (one sequence) is the CPU's: the slow GPU does not stretch it.
    const double host_s = static_cast<double>(reply.output_tokens - 1) * (s.serving.engine.iteration_host_s + s.serving.engine.host_s_per_sequence);
    CHECK(reply.e2e_s - reply.ttft_s == Approx(2 * decode_s + host_s).epsilon(1e-9));
  }
}

TEST_CASE("a lost GPU takes its replica down until repaired and its conversation's cache is gone") {
  // Lost at minute 5 for 2 minutes: a turn arriving in between waits for the repair,
  // and the first turn after the loss finds no cache and prefills its history.
  const Scenario s = test::scenario_from(std::string(test::kSmallConversation) +
                                         "faults: [{at_min: 5, kind: gpu_lost, gpu: 0, repair_min: 2}]\n");
  const RunResult r = simulate(s);
  const auto failures = failure_points(r, s, CostModel(s));
  const FailureRecord* fault = find(failures, "fault");
  REQUIRE(fault != nullptr);
  CHECK(fault->time_s == 300.0);
  std::vector<ReplyRecord> replies(r.replies.begin(), r.replies.end());
  std::sort(replies.begin(), replies.end(), [](const ReplyRecord& a, const ReplyRecord& b) { return a.start_s < b.start_s; });
  const ReplyRecord* first_after = nullptr;
  for (const ReplyRecord& reply : replies) {
    if (reply.start_s >= 300.0 || reply.start_s + reply.e2e_s > 300.0) {
      first_after = &reply;
      break;
    }
    CHECK(reply.cached_tokens == reply.context_tokens - reply.prompt_tokens);  // kept, before the loss
  }
  REQUIRE(first_after != nullptr);
  CHECK(first_after->cached_tokens == 0);
  if (first_after->start_s < 420.0) CHECK(first_after->start_s + first_after->ttft_s >= 420.0);
}

TEST_CASE("routing by load: a conversation stays on the replica of its first turn") {
  const Scenario s = test::scenario_from(test::kSmallConversation,
                                         {{"serving.routing", "least_loaded"},
                                          {"conversation.sessions", "6"},
                                          {"conversation.session_stagger_s", "3"},
                                          {"cluster.gpus_per_node", "2"},
                                          {"parallelism.dp", "2"},
                                          {"conversation.duration_min", "5"},
                                          {"conversation.probe_minutes", "[1]"}});
  const RunResult r = simulate(s);
  REQUIRE(r.replies.size() > 12);
  std::map<int, int> replica_of;
  for (const ReplyRecord& reply : r.replies) {
    auto [it, first] = replica_of.emplace(reply.session, reply.replica);
    CHECK(it->second == reply.replica);  // sticks where its cache is
    (void)first;
  }
  CHECK(replica_of.size() == 6);
}

TEST_CASE("routing by load splits a burst of equal requests evenly over the replicas") {
  const Scenario s = test::scenario_from(R"(
name: burst
requests: {count: 8, input_tokens: {fixed: 500}, output_tokens: {fixed: 20}, arrival: {all_at_once: true}}
model: {preset: llama-3.1-8b}
cluster: {gpu: h100-sxm, nodes: 1, gpus_per_node: 2}
parallelism: {dp: 2}
serving: {routing: least_loaded}
)");
  const RunResult r = simulate(s);
  REQUIRE(r.replies.size() == 8);
  std::map<int, int> per_replica;
  for (const ReplyRecord& reply : r.replies) ++per_replica[reply.replica];
  CHECK(per_replica[0] == 4);
  CHECK(per_replica[1] == 4);
}

TEST_CASE("a long-context sequence takes a larger share of a shared iteration than a short one, shares summing to 1") {
  const Scenario s = test::scenario_from(test::kSmallConversation);
  const CostModel cost(s);
  const auto equal = cost.work_shares({SequenceWork{1, 1000, true}, SequenceWork{1, 1000, true}});
  CHECK(equal[0] == Approx(0.5));
  CHECK(equal[1] == Approx(0.5));
  const auto uneven = cost.work_shares({SequenceWork{1, 100, true}, SequenceWork{1, 100000, true}});
  CHECK(uneven[0] + uneven[1] == Approx(1.0));
  // Llama-3.1-8B reads 131 kB of KV per token of context: 13 GB for the long one,
  // against 16 GB of weights shared by both: it carries well over half.
  CHECK(uneven[1] > 0.6);
  CHECK(uneven[1] < 0.9);
}

TEST_CASE("with sparse attention a long context's share counts top_k latents read, not the whole context") {
  // DeepSeek-V3 and V3.2-Exp share every shape but DSA (top_k 2048). A sequence at
  // 120,000 tokens beside one at 1,000: dense MLA reads its 120,000 latents, DSA
  // 2,048 of them plus 132-byte index keys, so the long one's share is smaller
  // under DSA, yet still above half (its keys, and the indexer scoring every token).
  const auto shares = [](const std::string& preset) {
    const Scenario s = test::scenario_from(test::kSmallConversation, {{"model.preset", preset},
                                                                      {"model.weights", "fp8"},
                                                                      {"cluster.gpu", "h200"},
                                                                      {"cluster.gpus_per_node", "8"},
                                                                      {"parallelism.tp", "8"}});
    return CostModel(s).work_shares({SequenceWork{1, 1000, 1}, SequenceWork{1, 120000, 1}});
  };
  const auto dense = shares("deepseek-v3");
  const auto sparse = shares("deepseek-v3.2-exp");
  INFO("dense " << dense[1] << ", sparse " << sparse[1]);
  CHECK(sparse[0] + sparse[1] == Approx(1.0));
  CHECK(sparse[1] < dense[1]);
  CHECK(sparse[1] > 0.5);
  // Below top_k both sequences read their whole context either way: equal contexts
  // still split evenly.
  const Scenario s = test::scenario_from(test::kSmallConversation, {{"model.preset", "deepseek-v3.2-exp"},
                                                                    {"model.weights", "fp8"},
                                                                    {"cluster.gpu", "h200"},
                                                                    {"cluster.gpus_per_node", "8"},
                                                                    {"parallelism.tp", "8"}});
  const auto even = CostModel(s).work_shares({SequenceWork{1, 1500, 1}, SequenceWork{1, 1500, 1}});
  CHECK(even[0] == Approx(0.5));
}

TEST_CASE("a model leaving no room for a KV cache fails every request at minute 0, its message adding up what fills "
          "the GPU") {
  // Llama-3.1-70B in BF16 on one 80 GB H100: its weights alone, 2 bytes per
  // parameter, exceed the HBM.
  const Scenario s = test::scenario_from(test::kSmallConversation, {{"model.preset", "llama-3.1-70b"}});
  const double weights_gb = total_params(s.model.spec) * 2 / 1e9;
  const long tokens = s.serving.prefill_chunk_tokens + s.serving.max_batch_seqs;
  const double activations_gb = activation_bytes(s.model.spec, 1, tokens) / 1e9;
  const double workspace_gb = s.serving.workspace_bytes_per_gpu / 1e9;
  REQUIRE(weights_gb > s.cluster.gpu.hbm_bytes / 1e9);
  const std::optional<FailureRecord> failure = load_memory_failure(s);
  REQUIRE(failure);
  CHECK(failure->kind == "memory");
  CHECK(failure->cause ==
        fmt::format("weights ({:.1f} GB), the activations of a {}-token iteration ({:.1f} GB) and workspace ({:.1f} "
                    "GB) need {:.1f} GB on the busiest GPU, which has 80.0 GB of HBM; no KV cache fits (tp = 1, cp = "
                    "1, ep = 1, pp = 1)",
                    weights_gb, tokens, activations_gb, workspace_gb, weights_gb + activations_gb + workspace_gb));
  const RunResult r = simulate(s);
  REQUIRE(r.replies.size() > 0);
  for (const ReplyRecord& reply : std::vector<ReplyRecord>(r.replies.begin(), r.replies.end())) {
    CHECK_FALSE(reply.served);
    CHECK(reply.failure == "memory");
  }
  REQUIRE(find(r.failures, "memory"));
  CHECK(find(r.failures, "memory")->time_s == 0);
  // The same model at TP2 fits: no failure.
  CHECK_FALSE(load_memory_failure(test::scenario_from(
      test::kSmallConversation,
      {{"model.preset", "llama-3.1-70b"}, {"cluster.gpus_per_node", "2"}, {"parallelism.tp", "2"}})));
}

namespace {

// Two replicas, a request a second for 10 minutes; replica 0's GPU is lost from
// minute 2 to minute 5. A request due in that window goes to replica 1, whatever
// the policy's turn; before and after, replica 0 serves too (round-robin: every
// other request; least-loaded: every one, both replicas idle between requests and
// ties going to the lower index).
void check_routing_around_an_outage(const char* policy) {
  const Scenario s = test::scenario_from(fmt::format(R"(
name: outage
requests: {{count: 600, input_tokens: {{fixed: 300}}, output_tokens: {{fixed: 10}}, arrival: {{rate_per_s: 1}}}}
model: {{preset: llama-3.1-8b}}
cluster: {{gpu: h100-sxm, nodes: 1, gpus_per_node: 2}}
parallelism: {{dp: 2}}
serving: {{routing: {}}}
faults: [{{at_min: 2, kind: gpu_lost, gpu: 0, repair_min: 3}}]
)",
                                                     policy));
  const RunResult r = simulate(s);
  std::map<int, int> during, outside;
  for (const ReplyRecord& reply : r.replies) {
    const bool down = reply.start_s >= 120.0 && reply.start_s < 300.0;
    ++(down ? during : outside)[reply.replica];
  }
  CHECK(during[0] == 0);
  CHECK(during[1] > 100);  // about 180 requests
  CHECK(outside[0] > 100);
  if (std::string(policy) == "round_robin") CHECK(outside[1] > 100);
}

}  // namespace

TEST_CASE("round-robin routing sends nothing to a replica while a lost GPU holds it down") {
  check_routing_around_an_outage("round_robin");
}

TEST_CASE("least-loaded routing sends nothing to a replica while a lost GPU holds it down") {
  check_routing_around_an_outage("least_loaded");
}
