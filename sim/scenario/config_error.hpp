#pragma once
// The one error type of configuration problems. Its message is complete and
// located: "file:line:column: message" (1-based line and column).

#include <stdexcept>
#include <string>

namespace convsim {

class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(const std::string& located_message) : std::runtime_error(located_message) {}
};

}  // namespace convsim
