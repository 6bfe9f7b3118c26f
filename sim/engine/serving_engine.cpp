#include "sim/engine/serving_engine.hpp"

#include <stdexcept>

namespace convsim {
namespace {

struct Registered {
  const char* name;
  std::unique_ptr<ServingEngine> (*make)(const EngineProfile&);
};

// The registry: one line per engine.
constexpr Registered kEngines[] = {
    {"vllm", &make_vllm_engine},
    {"sglang", &make_sglang_engine},
    {"trtllm", &make_trtllm_engine},
};

}  // namespace

std::vector<std::string> serving_engine_names() {
  std::vector<std::string> names;
  for (const Registered& r : kEngines) names.emplace_back(r.name);
  return names;
}

std::unique_ptr<ServingEngine> make_serving_engine(const EngineProfile& profile) {
  for (const Registered& r : kEngines) {
    if (profile.name == r.name) return r.make(profile);
  }
  throw std::invalid_argument("no serving engine implementation named '" + profile.name + "'");
}

}  // namespace convsim
