#include "sim/scenario/trace_reader.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "sim/scenario/config_error.hpp"
#include "sim/scenario/text_util.hpp"

namespace convsim {
namespace {

constexpr const char* kAzureHeader = "TIMESTAMP,ContextTokens,GeneratedTokens";

std::optional<long long> parse_integer(const std::string& text) {
  long long v = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return v;
}

// Days from 1970-01-01 to the civil date (H. Hinnant's days_from_civil).
long long days_from_civil(long long y, unsigned m, unsigned d) {
  y -= m <= 2;
  const long long era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<long long>(doe) - 719468;
}

// "YYYY-MM-DD HH:MM:SS[.fffffff]" as seconds since 1970, or nothing.
std::optional<double> parse_wall_clock(const std::string& text) {
  if (text.size() < 19 || text[4] != '-' || text[7] != '-' || text[10] != ' ' || text[13] != ':' ||
      text[16] != ':') {
    return std::nullopt;
  }
  const auto part = [&](std::size_t at, std::size_t n) { return parse_integer(text.substr(at, n)); };
  const auto y = part(0, 4), mo = part(5, 2), d = part(8, 2), h = part(11, 2), mi = part(14, 2), s = part(17, 2);
  if (!y || !mo || !d || !h || !mi || !s || *mo < 1 || *mo > 12 || *d < 1 || *d > 31 || *h > 23 || *mi > 59 ||
      *s > 60) {
    return std::nullopt;
  }
  double fraction = 0;
  if (text.size() > 19) {
    const std::string digits = text.substr(20);
    if (text[19] != '.' || digits.empty() || digits.size() > 9 || !parse_integer(digits) || digits[0] == '-' ||
        digits[0] == '+') {
      return std::nullopt;
    }
    fraction = static_cast<double>(*parse_integer(digits)) / std::pow(10.0, static_cast<double>(digits.size()));
  }
  const long long days = days_from_civil(*y, static_cast<unsigned>(*mo), static_cast<unsigned>(*d));
  return static_cast<double>(days * 86400 + *h * 3600 + *mi * 60 + *s) + fraction;
}

}  // namespace

TraceReader::TraceReader(std::string path, TraceSpec::Format format)
    : path_(std::move(path)), format_(format), in_(path_) {
  // A FIFO or a device (/dev/zero) could block or never end: only regular files.
  std::error_code error;
  if (!std::filesystem::is_regular_file(path_, error)) {
    throw ConfigError(fmt::format("{}: cannot open the trace file (no such regular file)", path_));
  }
  if (!in_) throw ConfigError(fmt::format("{}: cannot open the trace file", path_));
  if (format_ == TraceSpec::Format::azure) {
    std::string header;
    if (!std::getline(in_, header)) throw ConfigError(fmt::format("{}:1: empty trace; expected the header {}", path_, kAzureHeader));
    line_ = 1;
    if (!header.empty() && header.back() == '\r') header.pop_back();
    if (header != kAzureHeader) {
      throw ConfigError(fmt::format("{}:1: expected the header {}, got '{}'", path_, kAzureHeader, header));
    }
  }
}

void TraceReader::fail(const std::string& column, const std::string& message) const {
  throw ConfigError(fmt::format("{}:{}: column '{}': {}", path_, line_, column, message));
}

std::optional<TraceRow> TraceReader::next() {
  std::string text;
  while (std::getline(in_, text)) {
    ++line_;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.find_first_not_of(" \t") == std::string::npos) continue;  // blank lines are skipped
    return format_ == TraceSpec::Format::azure ? next_azure(text) : next_mooncake(text);
  }
  if (in_.bad()) throw ConfigError(fmt::format("{}:{}: read error", path_, line_ + 1));
  return std::nullopt;
}

std::optional<TraceRow> TraceReader::next_azure(const std::string& text) {
  const std::vector<std::string> cells = split_commas(text);
  if (cells.size() != 3) {
    throw ConfigError(fmt::format("{}:{}: expected 3 columns ({}), got {}", path_, line_, kAzureHeader, cells.size()));
  }
  const std::optional<double> clock_s = parse_wall_clock(cells[0]);
  if (!clock_s) fail("TIMESTAMP", fmt::format("expected YYYY-MM-DD HH:MM:SS[.fffffff], got '{}'", cells[0]));
  const auto length = [&](int index, const char* column) {
    const std::optional<long long> v = parse_integer(cells[static_cast<std::size_t>(index)]);
    if (!v) fail(column, fmt::format("expected an integer number of tokens, got '{}'", cells[static_cast<std::size_t>(index)]));
    if (*v < 1) fail(column, fmt::format("must be >= 1 tokens, got {}", *v));
    return static_cast<long>(*v);
  };
  TraceRow row;
  row.line = line_;
  row.input_tokens = length(1, "ContextTokens");
  row.output_tokens = length(2, "GeneratedTokens");
  if (!first_clock_s_) first_clock_s_ = *clock_s;
  if (*clock_s < last_clock_s_) {
    fail("TIMESTAMP", fmt::format("'{}' is earlier than the row before; rows must be in time order", cells[0]));
  }
  last_clock_s_ = *clock_s;
  row.time_s = *clock_s - *first_clock_s_;
  return row;
}

std::optional<TraceRow> TraceReader::next_mooncake(const std::string& text) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    throw ConfigError(fmt::format("{}:{}: expected a JSON object {{timestamp, input_length, output_length, hash_ids}}",
                                  path_, line_));
  }
  for (const auto& item : j.items()) {
    const std::string& key = item.key();
    if (key != "timestamp" && key != "input_length" && key != "output_length" && key != "hash_ids") {
      fail(key, "unknown key; allowed: timestamp, input_length, output_length, hash_ids");
    }
  }
  const auto field = [&](const char* key) -> const nlohmann::json& {
    if (!j.contains(key)) fail(key, "missing");
    return j.at(key);
  };
  const nlohmann::json& stamp = field("timestamp");
  if (!stamp.is_number() || stamp.get<double>() < 0) fail("timestamp", fmt::format("expected milliseconds >= 0, got {}", stamp.dump()));
  const auto length = [&](const char* key) {
    const nlohmann::json& v = field(key);
    if (!v.is_number_integer()) fail(key, fmt::format("expected an integer number of tokens, got {}", v.dump()));
    if (v.get<long long>() < 1) fail(key, fmt::format("must be >= 1 tokens, got {}", v.dump()));
    return static_cast<long>(v.get<long long>());
  };
  TraceRow row;
  row.line = line_;
  row.input_tokens = length("input_length");
  row.output_tokens = length("output_length");
  const nlohmann::json& ids = field("hash_ids");
  if (!ids.is_array()) fail("hash_ids", fmt::format("expected a list of block ids, got {}", ids.dump()));
  for (std::size_t k = 0; k < ids.size(); ++k) {
    const nlohmann::json& id = ids[k];
    if (!id.is_number_integer() || id.get<long long>() < 0) {
      fail("hash_ids", fmt::format("hash_ids[{}]: expected a non-negative integer, got {}", k, id.dump()));
    }
    row.hash_ids.push_back(id.get<std::uint64_t>());
  }
  const long blocks = (row.input_tokens + kMooncakeBlockTokens - 1) / kMooncakeBlockTokens;
  if (static_cast<long>(row.hash_ids.size()) > blocks) {
    fail("hash_ids", fmt::format("{} blocks of {} tokens for input_length {} (at most {})", row.hash_ids.size(),
                                 kMooncakeBlockTokens, row.input_tokens, blocks));
  }
  const double clock_s = stamp.get<double>() / 1000.0;
  if (!first_clock_s_) first_clock_s_ = clock_s;
  if (clock_s < last_clock_s_) {
    fail("timestamp", fmt::format("{} is earlier than the row before; rows must be in time order", stamp.dump()));
  }
  last_clock_s_ = clock_s;
  row.time_s = clock_s - *first_clock_s_;
  return row;
}

TraceWindow check_trace(const TraceSpec& spec) {
  TraceReader reader(spec.path, spec.format);
  TraceWindow window;
  while (const std::optional<TraceRow> row = reader.next()) {
    const bool inside = row->time_s >= spec.start_s && (spec.duration_s <= 0 || row->time_s < spec.start_s + spec.duration_s);
    if (inside && (spec.max_requests <= 0 || window.rows < spec.max_requests)) {
      ++window.rows;
      window.last_arrival_s = std::max(window.last_arrival_s, (row->time_s - spec.start_s) * spec.time_scale);
    }
  }
  return window;
}

}  // namespace convsim
