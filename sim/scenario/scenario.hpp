#pragma once
// The typed, validated scenario: what every stage after the loader receives.
// Only sim/scenario/ reads YAML; nothing here can be invalid once loaded
// (see loader.hpp for the rules it enforces).

#include <cstdint>
#include <optional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "models/architecture.hpp"
#include "models/clocks.hpp"
#include "models/engine_profile.hpp"
#include "models/hardware.hpp"
#include "models/system_power.hpp"
#include "models/precision.hpp"

namespace convsim {

// A length or duration drawn per event. YAML forms: {fixed: v},
// {median: m, sigma: s} (lognormal: exp(N(ln m, s))), {uniform: [a, b]}.
struct Distribution {
  enum class Kind { fixed, lognormal, uniform };
  Kind kind = Kind::fixed;
  double value = 0;   // fixed
  double median = 0;  // lognormal
  double sigma = 0;   // lognormal, of the underlying normal
  double low = 0;     // uniform
  double high = 0;    // uniform

  static Distribution fixed_at(double v) {
    Distribution d;
    d.value = v;
    return d;
  }
};

struct Speaker {
  std::string name;
  double words_per_min = 150;  // speaking rate
  Distribution turn_words;     // words per turn
};

// The conversation generator: speakers take turns; the model replies after each
// human turn; its reply is spoken (at reply_words_per_min) from its first token on,
// and the next human turn starts after the reply is spoken and a pause.
struct ConversationSpec {
  double duration_min = 60;       // no human turn starts after this
  int sessions = 1;               // concurrent conversations of this shape
  double session_stagger_s = 0;   // session k starts at k * session_stagger_s
  // How sessions start (conversation.session_arrival): all `sessions` at once
  // (staggered), or arriving over duration_min as a Poisson process of
  // sessions_per_hour, or of a rate that follows the hour of day (diurnal: 24 rates
  // per hour, the run starting at start_hour; drawn by thinning).
  enum class SessionArrival { fixed, poisson, diurnal };
  SessionArrival session_arrival = SessionArrival::fixed;
  double sessions_per_hour = 0;                 // poisson
  std::vector<double> sessions_per_hour_by_hour;  // diurnal: 24 values, hour 0 first
  double start_hour = 0;                        // diurnal: hour of day at time 0, in [0, 24)
  // How long a session goes on (its human turns stop after this); none: until
  // duration_min.
  std::optional<Distribution> session_min;
  // Transcript replay (conversation.transcript): the turns of a file instead of the
  // generator; see TranscriptSpec.
  struct Transcript {
    std::string path;          // as resolved against the scenario file's folder
    double time_scale = 1.0;   // transcript times are multiplied by this
  };
  std::optional<Transcript> transcript;
  std::vector<Speaker> speakers;
  Distribution pause_s = Distribution::fixed_at(0.7);  // between turns
  double tokens_per_word = 1.33;
  long system_prompt_tokens = 0;  // prefilled with the first turn
  Distribution reply_output_tokens = Distribution::fixed_at(50);
  double reply_words_per_min = 150;  // speech rate of the model's reply
  std::vector<double> probe_minutes;
};

// A production trace replayed as a request stream (requests.trace). Rows are read
// one at a time, never the whole file. A row at trace time t (seconds from the
// trace's first row) is replayed when start_s <= t < start_s + duration_s, at
// arrival (t - start_s) * time_scale (0.5: twice the rate), at most max_requests
// of them.
// azure: CSV `TIMESTAMP,ContextTokens,GeneratedTokens` (Azure LLM inference 2023);
// mooncake: JSONL {timestamp (ms), input_length, output_length, hash_ids} (Mooncake
//   FAST'25), where hash_ids name the prompt's 512-token prefix blocks.
struct TraceSpec {
  enum class Format { azure, mooncake };
  std::string path;  // as resolved against the scenario file's folder
  Format format = Format::azure;
  double time_scale = 1.0;
  double start_s = 0;
  double duration_s = 0;   // 0: to the end of the trace
  long max_requests = 0;   // 0: every row of the window
};
inline constexpr long kMooncakeBlockTokens = 512;  // tokens per hash_ids block (Mooncake FAST'25 traces)

// A plain stream of single-turn requests, for published serving benchmarks.
struct RequestStreamSpec {
  std::optional<TraceSpec> trace;  // replayed instead of the fields below
  enum class Arrival { concurrency, rate, all_at_once };
  long count = 100;
  Distribution input_tokens = Distribution::fixed_at(1000);
  Distribution output_tokens = Distribution::fixed_at(100);
  Arrival arrival = Arrival::concurrency;
  int concurrency = 1;     // closed loop: a new request when one finishes
  double rate_per_s = 1;   // Poisson arrivals
  // A benchmark's prompt set sent over and over: request i carries prompt i mod
  // unique_prompts (its length drawn once; with serving.prefix_caching its whole
  // blocks named by the prompt, so copies share them), as serving benchmarks repeat
  // their prompt list (ML.ENERGY's num_request_repeats). 0: every prompt is new.
  long unique_prompts = 0;
};

struct ModelChoice {
  ModelSpec spec;
  Precision weights = Precision::bf16;
  Precision kv_cache = Precision::bf16;
  double ssm_state_bytes = 0;  // per element of a state-space state; 0: as the KV cache
  Precisions precisions() const { return Precisions{weights, kv_cache, ssm_state_bytes}; }
};

struct ContextSpec {
  // What the model sees each turn:
  // full: the whole history;
  // window: the last window_tokens tokens (once the conversation is longer, the
  //   oldest tokens fall out and the shifted context is prefilled again each turn);
  // summary: when the history reaches summary_every_tokens, the model first writes
  //   a summary of summary_tokens (its own request), then the context restarts
  //   from the summary: a sawtooth;
  // retrieval: retrieval_chunks chunks of retrieval_chunk_tokens found for the
  //   turn (retrieval_latency_s on the host before the request) plus the last
  //   window_tokens of the conversation, all prefilled each turn.
  enum class Policy { full, window, summary, retrieval };
  // When the person's words reach the model: at_turn_end (when the reply is due)
  // or streaming (prefilled every streaming_interval_s while the person speaks).
  enum class Ingestion { at_turn_end, streaming };
  long window_tokens = 8192;
  long summary_every_tokens = 32768;
  long summary_tokens = 1024;
  long summary_instruction_tokens = 64;
  int retrieval_chunks = 8;
  long retrieval_chunk_tokens = 512;
  double retrieval_latency_s = 0.05;
  Ingestion ingestion = Ingestion::at_turn_end;
  double streaming_interval_s = 2.0;
  // What happens to a conversation's KV cache between its turns:
  // keep: stays in HBM (evicted least recently used first to host memory, then
  //       NVMe, then dropped, when new requests need the room);
  // offload_cpu / offload_nvme: moved to host memory / NVMe at the end of each turn
  //       and restored over PCIe before the next one;
  // drop: freed; the next turn prefills the whole history again.
  enum class KvBetweenTurns { keep, offload_cpu, offload_nvme, drop };
  Policy policy = Policy::full;
  KvBetweenTurns kv_between_turns = KvBetweenTurns::keep;
};

// How a node's GPUs reach each other (cluster.scale_up_topology): every GPU's port
// on one NVSwitch, or GPUs split over PCIe switches joined at the CPU's root complex.
enum class ScaleUpTopology { nvswitch, pcie_switch };
// How nodes reach each other (cluster.scale_out_topology): a two-level fat-tree
// (each node's NICs to its leaf, leaves to a core), or rail-optimised (NIC g of every
// node to rail switch g, rail switches to a spine). See sim/cluster/topology.hpp.
enum class ScaleOutTopology { fat_tree, rail_optimized };

// Rail-optimised clusters are lowered to SimGrid with one explicit route per pair of
// GPUs (a zone hierarchy cannot follow rails and nodes at once), so their size is
// bounded: 512 GPUs (130,000 routes) build in 0.3 s, 1,024 GPUs would take 2.2 s
// (build/convsim_bench_platform NODES rail_optimized).
inline constexpr int kRailOptimizedMaxGpus = 512;

struct ClusterSpec {
  // The GPU preset at the operating point gpu_clocks asks for (cluster.gpu_power_cap_w,
  // cluster.gpu_clock_mhz; models/clocks.hpp): peaks and power already derated.
  GpuSpec gpu;
  ClockSettings gpu_clocks;
  // The preset itself (its maximum clock, no cap), which a capped run re-clocks stage
  // by stage (models/cap_governor.hpp).
  GpuSpec gpu_preset;
  int nodes = 1;
  int gpus_per_node = 8;
  FabricSpec scale_up;
  FabricSpec scale_out;
  ScaleUpTopology scale_up_topology = ScaleUpTopology::nvswitch;
  // pcie_switch nodes: GPUs in contiguous blocks of gpus_per_node / this per switch.
  int pcie_switches_per_node = 2;
  ScaleOutTopology scale_out_topology = ScaleOutTopology::fat_tree;
  // Scale-out uplinks carry their NICs' bandwidth divided by this (1: non-blocking,
  // 2: 2:1 oversubscribed): fat-tree, each node's uplink to the core (gpus_per_node
  // NICs); rail-optimised, each rail switch's uplink to the spine (nodes NICs).
  double oversubscription = 1.0;
  double pue = 1.2;                 // facility energy = IT energy * pue
  double host_power_w_per_node = 0; // drawn all run long on top of `system` (its other_w)
  // Everything a node draws besides its GPUs (models/system_power.hpp): the
  // cluster.system preset (default: the one carrying cluster.gpu; "none" for no
  // host hardware), its per-node terms scaled by gpus_per_node / the preset's GPUs
  // per node, then cluster.system_power's overrides.
  SystemSpec system;
  // Carbon and money: grams of CO2e per kWh drawn from the grid (cluster.grid_region's
  // figure, models/grid_regions.hpp, or given), the price of a kWh, and of a
  // GPU-hour (the system preset's, or given).
  std::string grid_region = "world";
  double grid_gco2e_per_kwh = 480;
  double usd_per_kwh = 0.08;
  double gpu_hour_usd = 0;
  // Memory tiers for KV caches. Defaults: a DGX H100 node (NVIDIA DGX H100 datasheet:
  // 2 TB of system memory, 8 x 3.84 TB NVMe U.2 data drives, PCIe Gen5 to the GPUs).
  FabricSpec host_link;  // GPU <-> CPU, one per GPU on nvswitch nodes (default pcie5)
  double host_memory_bytes_per_node = 2.0e12;
  double nvme_bytes_per_node = 30.72e12;
  // 8 drives at PCIe 4.0 x4 (7.88 GB/s link rate each); 25 GB/s taken as sustained.
  double nvme_bytes_per_s_per_node = 25.0e9;
};

// How one replica's GPUs divide the work, and how many replicas there are.
// A replica's GPUs are ranked tp fastest, then cp (or the wide expert-parallel
// group), then pp; replicas follow one another, and a disaggregated prefill pool
// comes after the decode replicas. Rank k runs on GPU k unless `placement` says
// otherwise.
struct ParallelismSpec {
  int tp = 1;  // tensor parallel degree: an all-reduce after each mixer and FFN
  // Expert parallelism: 1 (every expert split over the TP group), tp (each GPU of
  // the TP group holds whole experts, experts / tp of them, and the all-reduce after
  // the MoE layer combines their outputs, as vLLM's expert parallelism inside a TP
  // group), or a multiple of tp: wide EP, where a stage has ep GPUs, attention runs
  // data-parallel over ep / tp groups of tp GPUs (each with its share of the batch's
  // sequences), the experts are spread over all ep GPUs, and every MoE layer
  // dispatches each token to its top_k experts and combines their outputs by
  // all-to-all. In every case the busiest GPU gets moe.imbalance times its share.
  int ep = 1;
  // Context parallelism: cp groups of tp GPUs per stage, each holding 1/cp of every
  // sequence's KV cache and processing 1/cp of the iteration's tokens; attention
  // runs as a ring (KV blocks, or queries when cheaper, passed cp - 1 times around,
  // overlapped with the attention compute).
  int cp = 1;
  int pp = 1;  // pipeline stages
  // Each iteration's tokens split into this many micro-batches pipelined through
  // the stages and flushed at the end of the iteration (GPipe): with equal stages
  // the GPUs idle (pp - 1) / (micro_batches + pp - 1) of the iteration.
  int micro_batches = 1;
  int dp = 1;  // replicas (decode replicas when prefill is disaggregated)
  // Disaggregated prefill: a pool of prefill replicas of their own size. Requests
  // are prefilled there, their KV cache (context and first token) is sent over the
  // network to a decode replica, which decodes the rest.
  struct Prefill {
    int replicas = 0;  // 0: prefill and decode share replicas
    int tp = 1;
    int pp = 1;
    int cp = 1;
    int ep = 1;  // 1 or tp
  } prefill;
  std::vector<int> placement;  // empty: rank k on GPU k; else GPU of each rank
  int stage_gpus() const { return ep > tp ? ep : tp * cp; }
  int attention_groups() const { return ep > tp ? ep / tp : 1; }
  int gpus_per_replica() const { return stage_gpus() * pp; }
  int prefill_gpus_per_replica() const { return prefill.tp * prefill.cp * prefill.pp; }
  bool disaggregated() const { return prefill.replicas > 0; }
  int gpus_used() const { return gpus_per_replica() * dp + prefill.replicas * prefill_gpus_per_replica(); }
  // The GPU that rank `rank` (0 .. gpus_used()-1) runs on.
  int gpu_of(int rank) const { return placement.empty() ? rank : placement[static_cast<std::size_t>(rank)]; }
  // The layout of the prefill pool's replicas as a ParallelismSpec of their own.
  ParallelismSpec prefill_layout() const {
    ParallelismSpec p;
    p.tp = prefill.tp;
    p.pp = prefill.pp;
    p.cp = prefill.cp;
    p.ep = prefill.ep;
    p.micro_batches = micro_batches;
    p.dp = prefill.replicas;
    return p;
  }
};

// Speculative decoding (serving.speculative): each step, a draft proposes `tokens`
// (k) tokens for every decoding sequence, one after the other; the target checks
// them in one step of k + 1 tokens per sequence and keeps the longest accepted
// prefix plus one token of its own. With a per-position acceptance rate a, a step
// yields (1 - a^(k+1)) / (1 - a) tokens on average (Leviathan et al., ICML 2023).
// Methods: draft_model (a smaller catalog model with the target's tokenizer),
// eagle (one decoder layer of the target's width on its features, EAGLE), mtp
// (the model's own multi-token-prediction layers, DeepSeek-V3).
struct SpeculativeSpec {
  enum class Method { draft_model, eagle, mtp };
  Method method = Method::mtp;
  ModelSpec draft;          // draft_model: the draft's preset (eagle, mtp: built from the target)
  int tokens = 1;           // k: draft tokens proposed per step
  double acceptance = 0.8;  // a: probability each draft token is accepted, in [0, 1]
};

struct ServingSpec {
  // Where requests go: affinity (session k on replica k mod dp, streams round-robin
  // by id, decided up front), round_robin or least_loaded (decided when a request is
  // due; a conversation then stays on the replica of its first request).
  // prefix_affinity: each request to the replica with the least work it would add:
  //   the tokens it must prefill there (its prompt minus the longest prefix that
  //   replica's prefix cache holds) plus the tokens queued and running there
  //   (Dynamo's KV router and Mooncake's conductor balance the same two terms).
  enum class Routing { affinity, round_robin, least_loaded, prefix_affinity };
  Routing routing = Routing::affinity;
  // serving.engine: the engine's profile (models/catalog/engines/), whose defaults
  // fill max_batch_seqs and prefill_chunk_tokens when the scenario leaves them out.
  EngineProfile engine;  // vllm with no host costs until the catalog's profile is read
  // Automatic prefix caching (vLLM) / radix cache (SGLang): each replica remembers
  // the KV blocks it computed, by a hash of the block and everything before it, and
  // a request whose leading blocks are held skips their prefill. Held blocks live in
  // the KV memory not reserved by running sequences and kept caches, least recently
  // used evicted first when that memory is needed; prefix_cache_tokens caps them
  // further (0: no cap but the memory).
  bool prefix_caching = false;
  long prefix_cache_tokens = 0;
  // Blocks evicted from HBM move to the replica's host memory, then NVMe (the tiers
  // of kv_between_turns, shared with conversations' caches), as SGLang's HiCache
  // and LMCache keep them; a later request whose leading blocks wait there reads
  // them back over the host link instead of prefilling them. false: evicted
  // blocks are dropped.
  bool prefix_cache_offload = true;
  int max_batch_seqs = 256;             // sequences in one iteration
  long prefill_chunk_tokens = 8192;     // token budget of one iteration (prefill + decode)
  // Whether the scenario set them (else they are the engine's defaults).
  bool max_batch_seqs_given = false, prefill_chunk_tokens_given = false;
  long kv_block_tokens = 16;            // KV cache page size (vLLM's default block)
  double workspace_bytes_per_gpu = 2e9; // runtime, CUDA context and allocator reserve
  std::optional<SpeculativeSpec> speculative;  // none: one token per decode step
};

// A percentile objective as written (`ttft_p99_s: 1.0`): the `percentile` (in
// (0, 100)) of one latency over the replies of the run, and of every window when
// windows are asked for, stays at or below `limit_s`.
struct PercentileObjective {
  enum class Metric { ttft, tpot, e2e };
  std::string key;      // as written: ttft_p99_s, tpot_p999_s, e2e_p95_s
  Metric metric = Metric::ttft;
  double percentile = 99;  // p99 -> 99, p999 -> 99.9, p9999 -> 99.99
  double limit_s = 0;
};

struct SloSpec {
  double ttft_s = 1.0;
  double tpot_s = 0.1;
  bool speech_realtime = true;  // the reply is produced at least as fast as spoken
  // Whether ttft_s / tpot_s are objectives: always, unless the section states
  // percentile objectives and leaves the key out.
  bool ttft_limit = true;
  bool tpot_limit = true;
  // The fraction of replies that must be within ttft_s (and, apart, within tpot_s),
  // over the run and in every window. 1: every reply (a single late reply is a
  // failure point, slo_ttft / slo_tpot); below 1 the failure points are
  // slo_ttft_attainment / slo_tpot_attainment and single late replies are details.
  double attainment = 1.0;
  std::vector<PercentileObjective> percentiles;
  // Sliding windows: objectives are also judged over the replies starting in each
  // window [k * window_step_s, k * window_step_s + window_s); 0: over the run only.
  double window_s = 0;
  double window_step_s = 0;  // default window_s / 4
  bool has_windows() const { return window_s > 0; }
};

// Something that goes wrong at a given time.
// gpu_slow: the GPU computes `factor` times slower (a TP group runs at its slowest);
// link_slow: one of the GPU's links (nvlink, nic or pcie) carries 1/factor of its
//   bandwidth; both until until_s (or the end);
// gpu_lost / node_lost: every replica with a GPU there stops for repair_s; the KV
//   caches it held are lost (their conversations prefill their history again) and
//   the sequences it was running start over when it is back.
struct FaultSpec {
  enum class Kind { gpu_slow, link_slow, gpu_lost, node_lost };
  enum class Link { nvlink, nic, pcie };
  Kind kind = Kind::gpu_slow;
  double at_s = 0;
  int gpu = 0;
  int node = 0;
  Link link = Link::nvlink;
  double factor = 1.0;
  double until_s = -1;  // < 0: to the end
  double repair_s = 0;
};

// The search space of `convsim plan` (the `plan:` section): each list holds the
// values tried; the candidates are the combinations the search strategy visits.
// Defaults come from the scenario (its GPU, nodes, layout and serving settings)
// except tp (the powers of two up to gpus_per_node) and pp (the powers of two up to
// nodes). dp empty: as many replicas as the candidate's nodes hold.
struct PlanSpec {
  std::string strategy = "grid";
  std::string strategy_where;  // file:line:column of `strategy` (or of the section), for errors
  std::string where;           // file:line:column of the section
  std::vector<std::string> gpus;
  std::vector<std::string> engines;  // serving engine profiles [the scenario's serving.engine]
  std::vector<int> nodes, tp, pp, ep, cp, dp, prefill_replicas, max_batch_seqs;
  std::string prefill_replicas_where;  // file:line:column of prefill_replicas (or of the section), for errors
  // The prefill pool's own degrees, tried for every pool of more than 0 replicas;
  // 0: the decode replicas' degree (for ep: none).
  std::vector<int> prefill_tp, prefill_pp, prefill_cp, prefill_ep;
  std::vector<long> prefill_chunk_tokens;
  // max_batch_seqs (prefill_chunk_tokens) empty: each engine at its own default, as
  // its profile states it (engines/*.yaml default_max_batch_seqs, ...), when neither
  // the plan nor the scenario's serving: section sets one.
  std::map<std::string, int> engine_max_batch_seqs;
  std::map<std::string, long> engine_prefill_chunk_tokens;
  std::vector<std::string> kv_between_turns;
  // The latency objective of the frontier (pareto.csv): an objective of slo: or any
  // <ttft|tpot|e2e>_p<50|90|99>_s of summary.json; default the first percentile
  // objective, else ttft_p99_s.
  std::string objective;
  std::string goal = "energy";  // energy | gpus | usd | throughput_per_gpu: how the top candidates are ranked
  int top = 5;
  // Memory pruning: room for the KV cache of one sequence of this many tokens
  // (default serving.prefill_chunk_tokens: one full iteration's prompt).
  long kv_reserve_tokens = 0;
  // Price of a GPU-hour per GPU preset, for the usd columns and --goal usd: plan.gpu_hour_usd,
  // else cluster.gpu_hour_usd for the scenario's GPU, else what the catalog's system preset
  // carrying the GPU cites (none: no usd columns).
  std::vector<std::pair<std::string, double>> gpu_hour_usd;
};

// One named set of overrides for `convsim compare`.
struct Variant {
  std::string name;
  std::vector<std::pair<std::string, std::string>> sets;  // key.path, value
};

struct Scenario {
  std::string name;
  std::string source_path;
  std::string source_text_hash;  // FNV-1a of the file's text, for run metadata
  std::uint64_t seed = 1;
  std::optional<ConversationSpec> conversation;  // exactly one of these two
  std::optional<RequestStreamSpec> requests;
  ModelChoice model;
  ContextSpec context;
  ClusterSpec cluster;
  ParallelismSpec parallelism;
  ServingSpec serving;
  SloSpec slo;
  std::vector<Variant> variants;
  std::vector<FaultSpec> faults;
  PlanSpec plan;  // only `convsim plan` uses it; defaults without a plan: section
  // Valid but probably unintended ("file:line:column: warning: ..."), printed by the CLI.
  std::vector<std::string> warnings;
  // What produced the scenario, for summary.json's run metadata. The original file
  // and its hash, and the --set overrides in order ("key.path=value"): a resolved
  // scenario run again reports those it was made from.
  std::string origin_path;
  std::string origin_text_hash;
  std::vector<std::string> overrides;
  // The scenario after every override and default, as YAML (written to
  // scenario.resolved.yaml; running it gives the same outputs); the hash of its
  // scenario keys (without the provenance it carries) and of the contents of the trace
  // or transcript it replays, so different overrides or different data give different
  // hashes.
  std::string resolved_yaml;
  std::string resolved_hash;
  // The key paths the scenario left out and the loader filled with their defaults
  // (written into resolved_yaml, so that a resolved scenario pins every value read;
  // loading a resolved scenario fills none).
  std::vector<std::string> filled_defaults;
  // The catalog presets used, relative to the catalog folder, with the FNV-1a hash
  // of each file's text.
  std::vector<std::pair<std::string, std::string>> catalog_files;
};

}  // namespace convsim
