#include "sim/scenario/transcript_reader.hpp"

#include <cmath>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "sim/scenario/config_error.hpp"
#include "sim/scenario/derived_limits.hpp"
#include "sim/scenario/text_util.hpp"

namespace convsim {
namespace {

constexpr const char* kTokensHeader = "session,speaker,start_s,end_s,tokens,reply_tokens";
constexpr const char* kWordsHeader = "session,speaker,start_s,end_s,words,reply_tokens";
// The most a turn or reply may hold, as for generated conversations
// (derived_limits.hpp): a million turns of it stay far below 2^63.
constexpr double kMaxTokens = kMaxTokensPerRequest;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

TranscriptReader::TranscriptReader(std::string path, double tokens_per_word)
    : path_(std::move(path)), tokens_per_word_(tokens_per_word), json_(ends_with(path_, ".jsonl")), in_(path_) {
  // A FIFO or a device (/dev/zero) could block or never end: only regular files.
  std::error_code error;
  if (!std::filesystem::is_regular_file(path_, error)) {
    throw ConfigError(fmt::format("{}: cannot open the transcript file (no such regular file)", path_));
  }
  if (!in_) throw ConfigError(fmt::format("{}: cannot open the transcript file", path_));
  if (json_) {
    field_ = "key";
    return;
  }
  std::string header;
  if (!std::getline(in_, header)) {
    throw ConfigError(fmt::format("{}:1: empty transcript; expected the header {}", path_, kTokensHeader));
  }
  line_ = 1;
  if (!header.empty() && header.back() == '\r') header.pop_back();
  words_ = header == kWordsHeader;
  if (header != kTokensHeader && !words_) {
    throw ConfigError(
        fmt::format("{}:1: expected the header {} (or words in place of tokens), got '{}'", path_, kTokensHeader, header));
  }
}

void TranscriptReader::fail(const std::string& column, const std::string& message) const {
  throw ConfigError(fmt::format("{}:{}: {} '{}': {}", path_, line_, field_, column, message));
}

std::optional<TranscriptReader::Cells> TranscriptReader::next_csv() {
  std::string text;
  while (std::getline(in_, text)) {
    ++line_;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.find_first_not_of(" \t") == std::string::npos) continue;
    std::vector<std::string> cells;
    try {
      cells = split_csv_fields(text);
    } catch (const std::invalid_argument& e) {
      throw ConfigError(fmt::format("{}:{}: {}", path_, line_, e.what()));
    }
    if (cells.size() != 6) {
      throw ConfigError(fmt::format("{}:{}: expected 6 columns ({}), got {}", path_, line_,
                                    words_ ? kWordsHeader : kTokensHeader, cells.size()));
    }
    return Cells{cells[0], cells[1], cells[2], cells[3], cells[4], cells[5]};
  }
  return std::nullopt;
}

std::optional<TranscriptReader::Cells> TranscriptReader::next_json() {
  std::string text;
  while (std::getline(in_, text)) {
    ++line_;
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      throw ConfigError(fmt::format("{}:{}: expected a JSON object {{session, speaker, start_s, end_s, tokens or words, "
                                    "reply_tokens}}",
                                    path_, line_));
    }
    for (const auto& item : j.items()) {
      const std::string& key = item.key();
      if (key != "session" && key != "speaker" && key != "start_s" && key != "end_s" && key != "tokens" &&
          key != "words" && key != "reply_tokens") {
        fail(key, "unknown key; allowed: session, speaker, start_s, end_s, tokens, words, reply_tokens");
      }
    }
    // A value as the text a CSV cell would hold: numbers as written, strings as they are.
    const auto cell = [&](const char* key, bool text_allowed) -> std::string {
      if (!j.contains(key)) fail(key, "missing");
      const nlohmann::json& v = j.at(key);
      if (v.is_string()) {
        if (!text_allowed) fail(key, fmt::format("expected a number, got the string {}", v.dump()));
        return v.get<std::string>();
      }
      if (v.is_number()) return v.dump();
      fail(key, fmt::format("expected {}, got {}", text_allowed ? "a string" : "a number", v.dump()));
    };
    if (j.contains("tokens") == j.contains("words")) fail("tokens", "give exactly one of tokens and words");
    words_ = j.contains("words");
    if (j.contains("speaker") && !j.at("speaker").is_string()) fail("speaker", "expected a string");
    return Cells{cell("session", true), cell("speaker", true), cell("start_s", false), cell("end_s", false),
                 cell(words_ ? "words" : "tokens", false), cell("reply_tokens", false)};
  }
  return std::nullopt;
}

TranscriptRow TranscriptReader::checked(const Cells& cells) {
  TranscriptRow row;
  row.line = line_;
  row.session = cells.session;
  row.speaker = cells.speaker;
  if (row.session.empty()) fail("session", "empty; name the conversation");
  if (row.speaker.empty()) fail("speaker", "empty; name who speaks");
  const auto seconds = [&](const std::string& text, const char* column) {
    const std::optional<double> v = parse_number(text);
    if (!v) fail(column, fmt::format("expected seconds, got '{}'", text));
    if (*v < 0) fail(column, fmt::format("must be >= 0, got {}", text));
    return *v;
  };
  const auto tokens = [&](const std::string& text, const char* column, long low) {
    const std::optional<double> v = parse_number(text);
    if (!v || !std::isfinite(*v) || *v != std::floor(*v)) {
      fail(column, fmt::format("expected an integer number of tokens, got '{}'", text));
    }
    if (*v > kMaxTokens) fail(column, fmt::format("must be <= 1e9 tokens, got {}", text));
    if (*v < static_cast<double>(low)) fail(column, fmt::format("must be >= {} tokens, got {}", low, text));
    return static_cast<long>(*v);
  };
  row.start_s = seconds(cells.start_s, "start_s");
  row.end_s = seconds(cells.end_s, "end_s");
  if (row.end_s < row.start_s) fail("end_s", fmt::format("{} is before start_s {}", cells.end_s, cells.start_s));
  if (row.end_s < last_end_s_) {
    fail("end_s", fmt::format("{} is earlier than the row before; rows must be in order of end_s", cells.end_s));
  }
  last_end_s_ = row.end_s;
  if (words_) {
    const std::optional<double> words = parse_number(cells.count);
    if (!words || !std::isfinite(*words) || *words <= 0 || *words * tokens_per_word_ > kMaxTokens) {
      fail("words", fmt::format("expected a number of words > 0 (at most 1e9 tokens), got '{}'", cells.count));
    }
    row.tokens = std::max(1L, std::lround(*words * tokens_per_word_));
  } else {
    row.tokens = tokens(cells.count, "tokens", 1);
  }
  row.reply_tokens = tokens(cells.reply_tokens, "reply_tokens", 0);
  return row;
}

std::optional<TranscriptRow> TranscriptReader::next() {
  const std::optional<Cells> cells = json_ ? next_json() : next_csv();
  if (!cells) return std::nullopt;
  return checked(*cells);
}

}  // namespace convsim
