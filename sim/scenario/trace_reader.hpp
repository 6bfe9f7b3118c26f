#pragma once
// Reads a production request trace one row at a time (requests.trace): a trace
// larger than memory is streamed, never loaded whole. Formats (see TraceSpec):
// - azure: CSV with the header `TIMESTAMP,ContextTokens,GeneratedTokens`, TIMESTAMP
//   as `YYYY-MM-DD HH:MM:SS[.fffffff]` (wall clock, 100 ns), rows in time order;
// - mooncake: JSON Lines, each `{"timestamp": ms, "input_length": n,
//   "output_length": n, "hash_ids": [ids]}`, rows in time order.
// A bad row is a ConfigError "FILE:LINE: column 'NAME': message" (the column or
// JSON key named); an unreadable file is "FILE: cannot open ...".

#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "sim/scenario/scenario.hpp"

namespace convsim {

struct TraceRow {
  long line = 0;             // 1-based line of the file
  double time_s = 0;         // seconds from the trace's first row
  long input_tokens = 0;     // >= 1
  long output_tokens = 0;    // >= 1
  std::vector<std::uint64_t> hash_ids;  // mooncake: the prompt's 512-token prefix blocks
};

class TraceReader {
 public:
  TraceReader(std::string path, TraceSpec::Format format);

  // The next row in file order, or nothing at the end of the file.
  std::optional<TraceRow> next();

 private:
  [[noreturn]] void fail(const std::string& column, const std::string& message) const;
  std::optional<TraceRow> next_azure(const std::string& text);
  std::optional<TraceRow> next_mooncake(const std::string& text);

  std::string path_;
  TraceSpec::Format format_;
  std::ifstream in_;
  long line_ = 0;
  std::optional<double> first_clock_s_;  // the first row's own clock
  double last_clock_s_ = 0;
};

// What a trace's window replays: its rows (at most max_requests) and the last one's
// arrival in simulated time, (time - start_s) * time_scale.
struct TraceWindow {
  long rows = 0;
  double last_arrival_s = 0;
};

// Reads the whole trace once, row by row, so that a bad row is reported before
// anything is simulated.
TraceWindow check_trace(const TraceSpec& spec);

}  // namespace convsim
