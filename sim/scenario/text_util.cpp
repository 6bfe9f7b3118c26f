#include "sim/scenario/text_util.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <stdexcept>
#include <fstream>
#include <iterator>
#include <limits>
#include <system_error>

#include <fmt/core.h>

#include "sim/scenario/config_error.hpp"

namespace convsim {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool spells_infinity_or_nan(std::string_view text) {
  std::string s = lower(text);
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) s.erase(0, 1);
  return s == ".inf" || s == "inf" || s == "infinity" || s == ".nan" || s == "nan";
}

}  // namespace

std::string_view without_plus(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  return s;
}

NumberParse parse_double(std::string_view text, double& out) {
  if (spells_infinity_or_nan(text)) return NumberParse::not_finite;
  const std::string_view s = without_plus(text);
  if (s.empty()) return NumberParse::not_a_number;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (end != s.data() + s.size()) return NumberParse::not_a_number;
  if (ec == std::errc::result_out_of_range) return NumberParse::not_finite;
  if (ec != std::errc()) return NumberParse::not_a_number;
  if (!std::isfinite(out)) return NumberParse::not_finite;
  return NumberParse::ok;
}

std::optional<double> parse_number(std::string_view text) {
  double v = 0;
  if (parse_double(text, v) != NumberParse::ok) return std::nullopt;
  return v;
}

std::string format_number(double v) { return fmt::format("{}", v); }

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      const std::size_t substitute = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min({above + 1, row[j - 1] + 1, substitute});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string closest_match(std::string_view word, const std::vector<std::string>& candidates) {
  if (word.empty()) return "";
  constexpr std::size_t kMaxDistance = 2;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  std::string best;
  for (const std::string& candidate : candidates) {
    std::size_t distance = edit_distance(word, candidate);
    const std::string_view base = std::string_view(candidate).substr(0, candidate.find('-'));
    distance = std::min(distance, edit_distance(word, base));
    if (candidate.compare(0, word.size(), word) == 0) distance = 0;
    if (distance <= kMaxDistance && distance < word.size() && distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  return best;
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += separator;
    out += items[i];
  }
  return out;
}

std::vector<std::string> split_key_path(std::string_view key_path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = key_path.find('.', start);
    parts.emplace_back(key_path.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts;
}

std::string read_text_file(const std::string& path) {
  std::error_code error;
  std::ifstream in;
  if (std::filesystem::is_regular_file(path, error)) in.open(path, std::ios::binary);
  if (!in.is_open() || !in) throw ConfigError(fmt::format("{}: cannot read file", path));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw ConfigError(fmt::format("{}: cannot read file", path));
  return text;
}

std::vector<std::string> split_commas(const std::string& line) {
  std::vector<std::string> out(1);
  for (const char c : line) {
    if (c == ',') {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

std::vector<std::string> split_csv_fields(const std::string& line) {
  std::vector<std::string> out(1);
  std::size_t i = 0;
  while (true) {
    std::string& field = out.back();
    if (i < line.size() && line[i] == '"') {
      const std::size_t opened = i++;
      while (true) {
        if (i >= line.size()) {
          throw std::invalid_argument(
              fmt::format("the quote opened at column {} is not closed on this line", opened + 1));
        }
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += line[i++];
      }
      if (i < line.size() && line[i] != ',') {
        throw std::invalid_argument(
            fmt::format("text after the closing quote at column {}; a field with quotes must be quoted whole", i));
      }
    } else {
      while (i < line.size() && line[i] != ',') {
        if (line[i] == '"') {
          throw std::invalid_argument(
              fmt::format("a quote inside an unquoted field at column {}; quote the whole field and double the "
                          "quote (\"\")",
                          i + 1));
        }
        field += line[i++];
      }
    }
    if (i >= line.size()) return out;
    ++i;  // the comma
    out.emplace_back();
  }
}

std::string unknown_name_message(const std::string& path, const std::string& what,
                                 const std::string& name, const std::vector<std::string>& known) {
  const std::string suggestion = closest_match(name, known);
  const std::string available = known.empty() ? "none" : join(known);
  if (suggestion.empty()) {
    return fmt::format("{}: unknown {} '{}'; available: {}", path, what, name, available);
  }
  return fmt::format("{}: unknown {} '{}'; did you mean '{}'? available: {}", path, what, name,
                     suggestion, available);
}


}  // namespace convsim
