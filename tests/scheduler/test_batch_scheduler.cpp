#include <algorithm>
#include <memory>
#include <vector>

#include <catch2/catch.hpp>

#include "sim/scheduler/batch_scheduler.hpp"
#include "sim/scheduler/kv_memory.hpp"

using namespace convsim;

namespace {

Request request(long id, int session, long history, long prompt, long output) {
  Request r;
  r.id = id;
  r.session = session;
  r.history_tokens = history;
  r.prompt_tokens = prompt;
  r.output_tokens = output;
  return r;
}

// Runs iterations until nothing is running; returns the number of iterations.
int drain(BatchScheduler& scheduler, long budget) {
  int iterations = 0;
  double t = 0;
  while (scheduler.has_running() || scheduler.has_waiting()) {
    scheduler.admit();
    if (scheduler.has_running()) scheduler.reserve_next_tokens();
    if (!scheduler.has_running()) break;
    const IterationPlan plan = scheduler.plan();
    long prefill = 0;
    for (const SequenceWork& w : plan.work) prefill += w.new_tokens > 1 ? w.new_tokens : 0;
    CHECK(plan.tokens <= budget + static_cast<long>(plan.members.size()));  // decodes may exceed only by one each
    CHECK(plan.tokens - plan.decode_tokens <= budget);
    scheduler.finish_iteration(plan, t, t + 1);
    t += 1;
    ++iterations;
  }
  return iterations;
}

}  // namespace

TEST_CASE("no prefill chunk exceeds the iteration's token budget") {
  KvMemory memory(1'000'000);
  BatchScheduler scheduler(BatchLimits{8, 512}, BatchScheduler::KvPolicy::drop, memory);
  scheduler.add_waiting(request(0, 0, 0, 3000, 4));
  scheduler.add_waiting(request(1, 1, 0, 700, 4));
  // 3000 + 700 prompt tokens in chunks of at most 512 per iteration: at least
  // ceil(3700 / 512) = 8 iterations before the last first token, then decodes.
  const int iterations = drain(scheduler, 512);
  CHECK(iterations >= 8 + 3);
  CHECK(memory.used_units() == 0);  // drop releases everything
}

TEST_CASE("two requests in the same iteration decode together, one token each") {
  KvMemory memory(1'000'000);
  BatchScheduler scheduler(BatchLimits{8, 4096}, BatchScheduler::KvPolicy::drop, memory);
  scheduler.add_waiting(request(0, 0, 0, 100, 3));
  scheduler.add_waiting(request(1, 1, 0, 200, 3));
  scheduler.admit();
  const IterationPlan first = scheduler.plan();
  REQUIRE(first.work.size() == 2);  // both prompts fit in one chunk
  CHECK(first.tokens == 300);
  auto finished = scheduler.finish_iteration(first, 0, 1);
  CHECK(finished.empty());
  const IterationPlan second = scheduler.plan();
  CHECK(second.decode_tokens == 2);
  CHECK(second.work[0].context_tokens == 100);  // the first output token's turn
  CHECK(second.work[1].context_tokens == 200);
  scheduler.finish_iteration(second, 1, 2);
  finished = scheduler.finish_iteration(scheduler.plan(), 2, 3);
  CHECK(finished.size() == 2);  // 3 tokens: one from prefill, two decodes
}

TEST_CASE("a plan written over the previous one holds this iteration's work only") {
  // Iteration 1: prompts of 100 and 200 tokens (one chunk each, 300 tokens).
  // Iteration 2: both decode, one token each, over contexts of 100 and 200.
  KvMemory memory(1'000'000);
  BatchScheduler scheduler(BatchLimits{8, 4096}, BatchScheduler::KvPolicy::drop, memory);
  scheduler.add_waiting(request(0, 0, 0, 100, 3));
  scheduler.add_waiting(request(1, 1, 0, 200, 3));
  scheduler.admit();
  IterationPlan plan;
  scheduler.plan_into(plan);
  CHECK(plan.tokens == 100 + 200);
  CHECK(plan.decode_tokens == 0);
  scheduler.finish_iteration(plan, 0, 1);
  scheduler.reserve_next_tokens();
  const std::size_t capacity = plan.work.capacity();
  scheduler.plan_into(plan);
  CHECK(plan.members == std::vector<int>{0, 1});
  REQUIRE(plan.work.size() == 2);
  CHECK(plan.tokens == 2);
  CHECK(plan.decode_tokens == 2);
  CHECK(plan.work[0].new_tokens == 1);
  CHECK(plan.work[0].context_tokens == 100);
  CHECK(plan.work[1].context_tokens == 200);
  CHECK(plan.work.capacity() == capacity);  // reused, not reallocated
}

TEST_CASE("with keep, the next turn finds its history cached and prefills only its prompt") {
  KvMemory memory(100'000);
  BatchScheduler scheduler(BatchLimits{8, 8192}, BatchScheduler::KvPolicy::keep, memory);
  scheduler.add_waiting(request(0, 7, 0, 500, 2));
  drain(scheduler, 8192);
  CHECK(memory.kept_tokens(7) == 502);
  CHECK(memory.used_units() == 512);  // 502 tokens in blocks of 16
  scheduler.add_waiting(request(1, 7, 502, 300, 2));
  scheduler.admit();
  REQUIRE(scheduler.running().size() == 1);
  CHECK(scheduler.running()[0].cached_tokens == 502);
  CHECK(scheduler.running()[0].prefill_tokens == 300);
}

TEST_CASE("with drop, the next turn prefills its whole history again") {
  KvMemory memory(100'000);
  BatchScheduler scheduler(BatchLimits{8, 8192}, BatchScheduler::KvPolicy::drop, memory);
  scheduler.add_waiting(request(0, 7, 0, 500, 2));
  drain(scheduler, 8192);
  scheduler.add_waiting(request(1, 7, 502, 300, 2));
  scheduler.admit();
  REQUIRE(scheduler.running().size() == 1);
  CHECK(scheduler.running()[0].cached_tokens == 0);
  CHECK(scheduler.running()[0].prefill_tokens == 802);
}

TEST_CASE("a request whose KV cache can never fit is rejected, not simulated") {
  KvMemory memory(1000);
  BatchScheduler scheduler(BatchLimits{8, 8192, 1}, BatchScheduler::KvPolicy::keep, memory);
  scheduler.add_waiting(request(0, 0, 900, 90, 11));  // 1001 tokens > 1000
  const auto rejected = scheduler.admit();
  REQUIRE(rejected.size() == 1);
  CHECK_FALSE(scheduler.has_running());
}

TEST_CASE("kept caches are evicted least recently used first when a new request needs room") {
  KvMemory memory(1000);
  REQUIRE(memory.try_reserve(400));
  memory.keep(1, KeptCache{400, 400, 10.0});
  REQUIRE(memory.try_reserve(400));
  memory.keep(2, KeptCache{400, 400, 20.0});
  REQUIRE(memory.try_reserve(300));  // needs 100 more than free: evicts session 1 (older)
  CHECK(memory.kept_tokens(1) == 0);
  CHECK(memory.kept_tokens(2) == 400);
  CHECK(memory.evictions() == 1);
  CHECK(memory.used_units() == 700);
  CHECK_FALSE(memory.try_reserve(701));  // 300 running + 701 > 1000 even with session 2 evicted
  CHECK(memory.used_units() == 700);    // a refused reservation changes nothing
}

TEST_CASE("the batch never holds more than max_batch_seqs sequences") {
  KvMemory memory(1'000'000);
  BatchScheduler scheduler(BatchLimits{4, 8192}, BatchScheduler::KvPolicy::drop, memory);
  for (int i = 0; i < 10; ++i) scheduler.add_waiting(request(i, i, 0, 10, 5));
  scheduler.admit();
  CHECK(scheduler.running().size() == 4);
  CHECK(scheduler.has_waiting());
}

TEST_CASE("KV memory is taken block by block as a sequence grows, not for its whole reply at once") {
  KvMemory memory(1'000'000);
  BatchScheduler scheduler(BatchLimits{8, 8192, 16}, BatchScheduler::KvPolicy::drop, memory);
  scheduler.add_waiting(request(0, 0, 0, 100, 40));
  scheduler.admit();
  CHECK(memory.used_units() == 112);  // 100 prompt tokens + the next one, in blocks of 16
  double t = 0;
  long peak = 0;
  while (scheduler.has_running()) {
    scheduler.reserve_next_tokens();
    const IterationPlan plan = scheduler.plan();
    if (!scheduler.running().empty()) {
      const Sequence& s = scheduler.running()[0];
      // Never more than one block ahead of what the next iteration writes.
      CHECK(s.reserved_units >= s.kv_tokens + plan.work[0].new_tokens);
      CHECK(s.reserved_units < s.kv_tokens + plan.work[0].new_tokens + 16 + 1);
    }
    peak = std::max(peak, memory.used_units());
    scheduler.finish_iteration(plan, t, t + 1);
    t += 1;
  }
  CHECK(peak == 144);  // 100 + 40 - 1 tokens written: 139 -> 9 blocks
}

TEST_CASE("when blocks run out the newest sequence is preempted, then recomputed with what it had") {
  // Room for 64 tokens: two sequences of 20 prompt tokens each decode until the
  // pool is full; the second is preempted, the first finishes, then the second is
  // prefilled again with its prompt and the tokens it had generated.
  KvMemory memory(64);
  BatchScheduler scheduler(BatchLimits{8, 8192, 1}, BatchScheduler::KvPolicy::drop, memory);
  scheduler.add_waiting(request(0, 0, 0, 20, 30));
  scheduler.add_waiting(request(1, 1, 0, 20, 30));
  scheduler.admit();
  REQUIRE(scheduler.running().size() == 2);
  double t = 0;
  std::vector<Sequence> finished;
  long recompute_prefill = 0;
  while (scheduler.has_running() || scheduler.has_waiting()) {
    scheduler.admit();
    if (scheduler.has_running()) scheduler.reserve_next_tokens();
    if (!scheduler.has_running()) break;
    const IterationPlan plan = scheduler.plan();
    for (const SequenceWork& w : plan.work) {
      if (w.new_tokens > 1) recompute_prefill = w.new_tokens;
    }
    CHECK(memory.used_units() <= 64);
    for (const Sequence& s : scheduler.finish_iteration(plan, t, t + 1)) finished.push_back(s);
    t += 1;
  }
  CHECK(scheduler.preemptions() >= 1);
  REQUIRE(finished.size() == 2);
  CHECK(finished[0].request.id == 0);
  CHECK(finished[1].request.id == 1);
  CHECK(finished[1].preemptions >= 1);
  CHECK(finished[1].generated == 30);
  // Preempted when both held 32 tokens (20 + 12 written): 20 + 12 + 1 known tokens.
  CHECK(recompute_prefill == 33);
  CHECK(memory.used_units() == 0);
}

TEST_CASE("a prefix block shared by two running sequences is counted once in KV memory") {
  // Blocks of 16 tokens, one unit per token. A has 64 prompt tokens (blocks 1-4)
  // and decodes; B arrives with the same 4 blocks and 2 of its own (96 tokens).
  // Worked by hand, once A's prefill is done and B admitted:
  //   shared blocks 1-4:                          4 * 16       =  64
  //   A's own: 65 tokens in blocks of 16 = 80, less the shared =  16
  //   B's own: 97 tokens in blocks of 16 = 112, less the shared =  48
  //   in use                                                    = 128
  // where counting each sequence's whole context would give 80 + 112 = 192.
  KvMemory memory(1'000'000);
  BatchScheduler scheduler(BatchLimits{8, 8192, 16}, BatchScheduler::KvPolicy::drop, memory);
  scheduler.use_prefix_cache(0);
  auto with_blocks = [](Request r, std::vector<std::uint64_t> ids) {
    r.prefix_blocks = std::make_shared<const std::vector<std::uint64_t>>(std::move(ids));
    r.prefix_block_tokens = 16;
    return r;
  };
  scheduler.add_waiting(with_blocks(request(0, 0, 0, 64, 10), {1, 2, 3, 4}));
  scheduler.admit();
  CHECK(memory.used_units() == 80);
  scheduler.finish_iteration(scheduler.plan(), 0, 1);  // A's prefill: its 4 blocks join the cache, pinned
  CHECK(memory.used_units() == 80);                    // moved from A's reservation to the cache's count
  CHECK(scheduler.prefix_pinned_units() == 64);
  scheduler.add_waiting(with_blocks(request(1, 1, 0, 96, 10), {1, 2, 3, 4, 5, 6}));
  scheduler.admit();
  REQUIRE(scheduler.running().size() == 2);
  CHECK(scheduler.running()[1].cached_tokens == 64);
  const long shared = 4 * 16, a_own = 80 - shared, b_own = 112 - shared;
  INFO("Expectation: " << shared + a_own + b_own << " units. Actual: " << memory.used_units());
  CHECK(memory.used_units() == shared + a_own + b_own);
  CHECK(scheduler.prefix_pinned_units() == shared);
  drain(scheduler, 8192);
  CHECK(memory.used_units() == 0);  // nothing pinned once both are done
  CHECK(scheduler.prefix_pinned_units() == 0);
}

TEST_CASE("with pipelined prefill, a long prompt is one iteration of budget-sized micro-batches unless others decode") {
  KvMemory memory(1'000'000);
  BatchScheduler scheduler(BatchLimits{8, 512}, BatchScheduler::KvPolicy::drop, memory);
  scheduler.pipeline_long_prefills();
  scheduler.add_waiting(request(0, 0, 0, 3000, 4));
  scheduler.admit();
  scheduler.reserve_next_tokens();
  const IterationPlan first = scheduler.plan();
  REQUIRE(first.work.size() == 1);
  CHECK(first.work[0].new_tokens == 3000);  // the whole prompt: ceil(3000 / 512) = 6 chunks in flight
  CHECK(first.micro_batch_tokens == 512);
  CHECK(first.work[0].logit_tokens == 1);
  scheduler.finish_iteration(first, 0, 1);
  // Now request 0 decodes: a second long prompt goes chunk by chunk beside it.
  scheduler.add_waiting(request(1, 1, 0, 3000, 4));
  scheduler.admit();
  scheduler.reserve_next_tokens();
  const IterationPlan second = scheduler.plan();
  REQUIRE(second.work.size() == 2);
  CHECK(second.decode_tokens == 1);
  CHECK(second.work[1].new_tokens == 511);  // the budget less the decode token
  CHECK(second.micro_batch_tokens == 0);
}

TEST_CASE("with pipelined prefill, a prompt within the budget is planned as without it") {
  KvMemory memory(1'000'000);
  BatchScheduler scheduler(BatchLimits{8, 512}, BatchScheduler::KvPolicy::drop, memory);
  scheduler.pipeline_long_prefills();
  scheduler.add_waiting(request(0, 0, 0, 300, 4));
  scheduler.add_waiting(request(1, 1, 0, 300, 4));
  scheduler.admit();
  scheduler.reserve_next_tokens();
  const IterationPlan plan = scheduler.plan();
  REQUIRE(plan.work.size() == 2);
  CHECK(plan.work[0].new_tokens == 300);
  CHECK(plan.work[1].new_tokens == 212);
  CHECK(plan.micro_batch_tokens == 0);
}

TEST_CASE("a plan reused from iteration to iteration equals a fresh plan, through arrivals, completions and preemptions") {
  // plan_into updates an all-decode plan in place when the batch is unchanged
  // (BatchScheduler::same_decode_batch). Against a plan written from nothing each
  // iteration, over a run with staggered arrivals, a budget the decodes can fill
  // (leaving a prompt unscheduled), completions and preemptions (room for 36 tokens, arrivals every 3 iterations).
  KvMemory memory(36);
  BatchScheduler scheduler(BatchLimits{4, 5, 1}, BatchScheduler::KvPolicy::drop, memory);
  const std::vector<Request> arrivals = {request(0, 0, 0, 6, 9),  request(1, 1, 0, 3, 14), request(2, 2, 0, 9, 5),
                                         request(3, 3, 0, 2, 20), request(4, 4, 0, 12, 7), request(5, 5, 0, 4, 11)};
  IterationPlan reused;
  int iteration = 0, same_batch = 0;
  double t = 0;
  while (iteration < 400) {
    if (iteration % 3 == 0 && static_cast<std::size_t>(iteration / 3) < arrivals.size()) {
      scheduler.add_waiting(arrivals[static_cast<std::size_t>(iteration / 3)]);
    }
    scheduler.admit();
    if (scheduler.has_running()) scheduler.reserve_next_tokens();
    if (!scheduler.has_running()) {
      if (static_cast<std::size_t>(iteration / 3) >= arrivals.size() && !scheduler.has_waiting()) break;
      ++iteration;
      continue;
    }
    const IterationPlan fresh = scheduler.plan();
    const bool was_decode_batch = reused.decode_tokens == static_cast<long>(reused.members.size());
    scheduler.plan_into(reused);
    INFO("iteration " << iteration);
    REQUIRE(reused.members == fresh.members);
    REQUIRE(reused.work.size() == fresh.work.size());
    for (std::size_t k = 0; k < fresh.work.size(); ++k) {
      CHECK(reused.work[k].new_tokens == fresh.work[k].new_tokens);
      CHECK(reused.work[k].context_tokens == fresh.work[k].context_tokens);
      CHECK(reused.work[k].logit_tokens == fresh.work[k].logit_tokens);
    }
    CHECK(reused.tokens == fresh.tokens);
    CHECK(reused.decode_tokens == fresh.decode_tokens);
    CHECK(reused.micro_batch_tokens == fresh.micro_batch_tokens);
    if (was_decode_batch && fresh.decode_tokens == static_cast<long>(fresh.members.size())) ++same_batch;
    scheduler.finish_iteration(fresh, t, t + 1);
    t += 1;
    ++iteration;
  }
  CHECK(scheduler.preemptions() >= 1);  // the run went through preemptions
  CHECK(same_batch >= 10);               // and through iterations the in-place update served
  CHECK_FALSE(scheduler.has_running());
}
