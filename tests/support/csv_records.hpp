#pragma once
// A CSV table read back in tests: its rows as column -> value, fields split at
// commas outside double quotes (RFC 4180; "" inside quotes is one quote).

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace convsim::test {

inline std::vector<std::string> csv_line_fields(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
      fields.back() += '"';
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  return fields;
}

// The rows of CSV text whose first line is the header.
inline std::vector<std::map<std::string, std::string>> csv_records(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> header;
  std::vector<std::map<std::string, std::string>> rows;
  for (std::string line; std::getline(in, line);) {
    const std::vector<std::string> fields = csv_line_fields(line);
    if (header.empty()) {
      header = fields;
      continue;
    }
    std::map<std::string, std::string> row;
    for (std::size_t i = 0; i < header.size() && i < fields.size(); ++i) row[header[i]] = fields[i];
    rows.push_back(row);
  }
  return rows;
}

// The rows of a CSV file (none when it cannot be read).
inline std::vector<std::map<std::string, std::string>> csv_file_records(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return csv_records(text.str());
}

}  // namespace convsim::test
