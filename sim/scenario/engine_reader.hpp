#pragma once
// Reading a serving-engine profile (models/catalog/engines/*.yaml) into an
// EngineProfile (models/engine_profile.hpp): each figure checked at its key, GPU
// preset names checked against the catalog's.

#include <map>
#include <string>
#include <vector>

#include "models/engine_profile.hpp"
#include "sim/scenario/yaml_reader.hpp"

namespace convsim {

// An engine profile; `gpus` are the catalog's GPU preset names. Throws ConfigError.
EngineProfile read_engine(const MapReader& map, const std::vector<std::string>& gpus);

// The optional host_by_gpu of an engine profile or of the serving fits: per GPU
// preset (each one of `gpus`), its iteration_host_s and host_s_per_sequence.
// Throws ConfigError.
std::map<std::string, EngineHostTime> read_host_by_gpu(const MapReader& map, const std::vector<std::string>& gpus);

}  // namespace convsim
