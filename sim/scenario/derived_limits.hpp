#pragma once
// Limits on what the simulation computes from the scenario, checked after
// arithmetic, before time starts. Each value typed in the file is already finite
// and within its own bounds; these rules bound what follows from several of them
// (words times tokens per word, the largest draw of a distribution, times against
// the run's span), so that no token count overflows an integer and no duration
// reaches the simulator's clock unbounded. Every limit is stated with its reason
// in derived_limits.cpp and in the error message.

#include "sim/scenario/scenario.hpp"
#include "sim/scenario/yaml_reader.hpp"

namespace convsim {

// The longest span a scenario may cover: 100 days. Beyond it, double-precision
// simulated time loses sub-microsecond kernel durations (REFERENCE.md).
inline constexpr double kMaxSpanMin = 100.0 * 24 * 60;
// The most tokens one request (or one turn) may hold: 1e9, so that a conversation's
// history of up to a million turns stays far below 2^63.
inline constexpr double kMaxTokensPerRequest = 1e9;
// The shortest streaming interval: 1 ms (below it, the events of the streamed
// prefills outnumber the tokens they carry).
inline constexpr double kMinStreamingIntervalS = 1e-3;
// A slowdown factor above 1e4 is a lost GPU or link: say so with gpu_lost.
inline constexpr double kMaxSlowdownFactor = 1e4;
// Sizes: the platform, the workload and the compare list are built in memory before
// time starts, each element costing kilobytes and its check milliseconds.
inline constexpr long kMaxClusterGpus = 131072;
inline constexpr long kMaxSessions = 1'000'000;
inline constexpr long kMaxRequests = 100'000'000;
inline constexpr long kMaxVariants = 1000;
// A plan's grid, every combination of its axes, is built and checked in memory
// before pruning (about a kilobyte each).
inline constexpr long kMaxPlanCandidates = 100'000;
// An SLO window holds a copy of each reply that starts in it, and window_min /
// window_step_min windows overlap at any instant: at most 1000 (the default step,
// a quarter of the window, makes 4).
inline constexpr double kMaxWindowOverlap = 1000;

// Sessions a conversation's session_arrival is expected to start over
// duration_min: poisson_per_hour x hours, or per_hour_of_day integrated over the
// hours of day the run covers from start_hour. 0 for a fixed number of sessions.
double expected_sessions(const ConversationSpec& c);

// The largest value a distribution can draw: a lognormal draw is
// median * exp(sigma * z) with |z| < 8.7 (Box-Muller from 53-bit uniforms).
double largest_draw(const Distribution& d);

// Throws ConfigError at the offending key (file:line:column) when a derived value
// is out of bounds. `root` is the scenario's top-level map, as read.
void check_derived_limits(const Scenario& scenario, const MapReader& root);

}  // namespace convsim
