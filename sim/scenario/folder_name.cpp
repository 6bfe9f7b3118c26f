#include "sim/scenario/folder_name.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace convsim {

std::string folder_name_problem(const std::string& name, bool allow_subfolders) {
  if (name.empty()) return "must not be empty (it names an output folder)";
  if (name.front() == '/') return fmt::format("'{}' is an absolute path; it names a folder under the output folder", name);
  for (const char c : name) {
    if (c == '\\' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return fmt::format("'{}' holds a backslash or a control character; it names an output folder", name);
    }
    if (c == '/' && !allow_subfolders) {
      return fmt::format("'{}' holds a '/'; it names one folder (letters, digits, spaces, '-', '_', ',', '.')", name);
    }
  }
  std::size_t start = 0;
  while (start <= name.size()) {
    const std::size_t end = std::min(name.find('/', start), name.size());
    const std::string part = name.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") {
      return fmt::format("'{}' has a part '{}'; it must stay inside the output folder (no '.', '..' or '//')", name,
                         part);
    }
    start = end + 1;
  }
  return "";
}

}  // namespace convsim
