#pragma once
// CSV fields as RFC 4180 writes them: a field holding a comma, a double quote or a
// line break is enclosed in double quotes, and its quotes are doubled.

#include <string>

namespace convsim {

inline std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (const char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace convsim
