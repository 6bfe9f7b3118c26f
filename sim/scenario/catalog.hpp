#pragma once
// The catalog of presets: models/catalog/{models,gpus,fabrics,engines,systems}/*.yaml, one file
// per preset, each citing its sources.

#include <map>
#include <string>
#include <vector>

#include "models/architecture.hpp"
#include "models/engine_profile.hpp"
#include "models/hardware.hpp"
#include "models/system_power.hpp"
#include "sim/scenario/presets.hpp"

namespace convsim {

struct Catalog {
  std::string dir;  // the folder it was loaded from
  Presets<ModelSpec> models;
  Presets<GpuSpec> gpus;
  Presets<FabricSpec> fabrics;
  Presets<EngineProfile> engines;
  Presets<SystemSpec> systems;  // systems/: a node's parts besides its GPUs
};

// The folder holding the catalog: $CONVSIM_CATALOG if set, else the source tree's
// models/catalog (compiled in).
std::string default_catalog_dir();

// Opens the catalog: lists every preset and reads each one the first time it is
// looked up (presets.hpp), so a run reads only the presets it names. Throws
// ConfigError when `dir` is not a folder; a malformed preset throws when it is used.
Catalog open_catalog(const std::string& dir);

// Opens the catalog and reads every preset (`convsim catalog`, `validate`, tests).
// Throws ConfigError (file:line:column) on a malformed preset: unknown or missing
// keys, wrong types, non-positive sizes, a file name that differs from its `name:`.
Catalog load_catalog(const std::string& dir);

// The GPU preset and GPUs per node of a system preset.
struct SystemCarrier {
  std::string name;  // the system preset's
  std::string gpu;
  int gpus_per_node = 0;
};

// Every system preset's carrier, in name order: from the preset if it was read,
// else from its file's top-level `gpu:` and `gpus_per_node:` lines when both are
// plain one-line values (so that picking the default system reads only the one
// picked), else by reading the preset. Throws ConfigError as reading it would.
std::vector<SystemCarrier> system_carriers(const Catalog& catalog);

class MapReader;  // sim/scenario/yaml_reader.hpp

// Reads a model's keys (the schema of models/catalog/models/*.yaml) from a map;
// shared with the scenario loader's `model: {inline: {...}}`. An inline model may
// leave out name (default "inline"), description, sources and params_published.
// Throws ConfigError.
ModelSpec read_model_spec(const MapReader& map, bool inline_model);

// Reads the power terms of a system (cpu_idle_w ... fans_w; each >= 0, an active
// power >= its idle power) from a map, over the values already in `system`: shared
// by the system presets and the scenario's cluster.system_power overrides.
// Throws ConfigError.
void read_system_power_terms(const MapReader& map, SystemSpec& system);

// `key` of `map`: a list of weight parts (attention, dense_ffn, experts,
// embeddings) the weight precision applies to; each must exist in `model`.
QuantizedParts read_quantized_parts(const MapReader& map, const std::string& key, const ModelSpec& model);

struct ModelChoice;  // sim/scenario/scenario.hpp

// Precisions against the GPU, `map` being the scenario's model section: an FP4 KV
// cache on a GPU without FP4 tensor cores is refused (ConfigError naming the
// precisions allowed there); FP4 weights there are a warning saying they are
// emulated (stored in 4 bits, computed in BF16).
void check_model_on_gpu(const MapReader& map, const ModelChoice& choice, const GpuSpec& gpu,
                        std::vector<std::string>& warnings);

}  // namespace convsim
