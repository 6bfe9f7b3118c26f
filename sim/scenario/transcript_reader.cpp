#include "sim/scenario/transcript_reader.hpp"

#include <vector>

#include <filesystem>

#include <fmt/core.h>

#include "sim/scenario/config_error.hpp"
#include "sim/scenario/text_util.hpp"

namespace convsim {
namespace {

constexpr const char* kHeader = "session,speaker,start_s,end_s,tokens,reply_tokens";

}  // namespace

TranscriptReader::TranscriptReader(std::string path) : path_(std::move(path)), in_(path_) {
  // A FIFO or a device (/dev/zero) could block or never end: only regular files.
  std::error_code error;
  if (!std::filesystem::is_regular_file(path_, error)) {
    throw ConfigError(fmt::format("{}: cannot open the transcript file (no such regular file)", path_));
  }
  if (!in_) throw ConfigError(fmt::format("{}: cannot open the transcript file", path_));
  std::string header;
  if (!std::getline(in_, header)) throw ConfigError(fmt::format("{}:1: empty transcript; expected the header {}", path_, kHeader));
  line_ = 1;
  if (!header.empty() && header.back() == '\r') header.pop_back();
  if (header != kHeader) throw ConfigError(fmt::format("{}:1: expected the header {}, got '{}'", path_, kHeader, header));
}

void TranscriptReader::fail(const std::string& column, const std::string& message) const {
  throw ConfigError(fmt::format("{}:{}: column '{}': {}", path_, line_, column, message));
}

std::optional<TranscriptRow> TranscriptReader::next() {
  std::string text;
  while (std::getline(in_, text)) {
    ++line_;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.find_first_not_of(" \t") == std::string::npos) continue;
    const std::vector<std::string> cells = split_commas(text);
    if (cells.size() != 6) {
      throw ConfigError(fmt::format("{}:{}: expected 6 columns ({}), got {}", path_, line_, kHeader, cells.size()));
    }
    TranscriptRow row;
    row.line = line_;
    row.session = cells[0];
    row.speaker = cells[1];
    if (row.session.empty()) fail("session", "empty; name the conversation");
    if (row.speaker.empty()) fail("speaker", "empty; name who speaks");
    const auto seconds = [&](std::size_t index, const char* column) {
      const std::optional<double> v = parse_number(cells[index]);
      if (!v) fail(column, fmt::format("expected seconds, got '{}'", cells[index]));
      if (*v < 0) fail(column, fmt::format("must be >= 0, got {}", cells[index]));
      return *v;
    };
    const auto tokens = [&](std::size_t index, const char* column, long low) {
      const std::optional<double> v = parse_number(cells[index]);
      if (!v || *v != static_cast<double>(static_cast<long>(*v))) {
        fail(column, fmt::format("expected an integer number of tokens, got '{}'", cells[index]));
      }
      if (*v < static_cast<double>(low)) fail(column, fmt::format("must be >= {} tokens, got {}", low, cells[index]));
      return static_cast<long>(*v);
    };
    row.start_s = seconds(2, "start_s");
    row.end_s = seconds(3, "end_s");
    if (row.end_s < row.start_s) fail("end_s", fmt::format("{} is before start_s {}", cells[3], cells[2]));
    if (row.end_s < last_end_s_) fail("end_s", fmt::format("{} is earlier than the row before; rows must be in order of end_s", cells[3]));
    last_end_s_ = row.end_s;
    row.tokens = tokens(4, "tokens", 1);
    row.reply_tokens = tokens(5, "reply_tokens", 0);
    return row;
  }
  return std::nullopt;
}

}  // namespace convsim
