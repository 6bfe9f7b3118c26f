#pragma once
// The figures tools/fit_serving.py fits on the serving measurements, and the
// leave-one-model-out folds it writes to models/catalog/fits/serving.yaml: for each
// model, the same figures fitted on every other model's rows. `convsim validate`
// predicts each row with the fold that never saw its model, so its errors measure
// how convsim does on a model nobody fitted it on.

#include <map>
#include <string>

#include "models/hardware.hpp"
#include "sim/scenario/catalog.hpp"
#include "sim/scenario/scenario.hpp"

namespace convsim {

struct FittedFigures {
  double iteration_host_s = 0;     // the vLLM profile's
  double host_s_per_sequence = 0;  // the vLLM profile's
  std::map<std::string, EngineHostTime> host_by_gpu;  // the vLLM profile's, by GPU preset
  std::map<std::string, PowerCoefficients> power;  // by GPU preset
};

struct ServingFits {
  std::string path;       // the file read
  std::string fitted_by;  // the command that wrote it
  FittedFigures all;      // fitted on every row (the catalog's presets carry these)
  std::map<std::string, FittedFigures> without;  // by held-out model preset
};

// Reads models/catalog/fits/serving.yaml (or `path`), each GPU's power coefficients
// checked against the catalog's preset of that name as a preset's own are
// (read_power_coefficients). Throws ConfigError.
ServingFits load_serving_fits(const std::string& path, const Catalog& catalog);
std::string default_serving_fits_path();

// The scenario with the figures put in: the engine's host costs on its GPU (vLLM
// only: the other engines' figures are not fitted), and the power coefficients of its GPU when
// the fit has them.
void apply_fit(Scenario& scenario, const FittedFigures& fit);

}  // namespace convsim
