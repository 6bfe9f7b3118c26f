#include "sim/scenario/serving_fits.hpp"

#include "models/clocks.hpp"
#include "sim/scenario/config_error.hpp"
#include "sim/scenario/engine_reader.hpp"
#include "sim/scenario/power_coefficients_reader.hpp"
#include "sim/scenario/text_util.hpp"
#include "sim/scenario/yaml_reader.hpp"

namespace convsim {
namespace {

// Each GPU's coefficients are read as its preset's are (read_power_coefficients): the
// same defaults and rules, against the catalog's GPU of that name.
FittedFigures read_figures(const MapReader& m, const Catalog& catalog) {
  m.allow_only({"iteration_host_s", "host_s_per_sequence", "host_by_gpu", "power"});
  FittedFigures f;
  f.iteration_host_s = m.number("iteration_host_s", Limits::at_least(0));
  f.host_s_per_sequence = m.number("host_s_per_sequence", Limits::at_least(0));
  f.host_by_gpu = read_host_by_gpu(m, catalog.gpus.names());
  if (m.has("power")) {
    const MapReader power = m.child("power");
    power.allow_only(catalog.gpus.names());  // GPU preset names, each once
    for (const auto& entry : power.node()) {
      const std::string gpu = entry.first.Scalar();
      f.power[gpu] = read_power_coefficients(power.child(gpu), catalog.gpus.at(gpu));
    }
  }
  return f;
}

}  // namespace

std::string default_serving_fits_path() { return CONVSIM_SOURCE_DIR "/models/catalog/fits/serving.yaml"; }

ServingFits load_serving_fits(const std::string& path, const Catalog& catalog) {
  const YAML::Node root = parse_yaml(read_text_file(path), path);
  const Locator at(path);
  const MapReader map(at, root, "", "the serving fits");
  map.allow_only({"fitted_by", "all", "without", "notes"});
  ServingFits fits;
  fits.path = path;
  fits.fitted_by = map.string("fitted_by");
  fits.all = read_figures(map.child("all"), catalog);
  if (map.has("without")) {
    const MapReader without = map.child("without");
    for (const auto& entry : without.node()) {
      const std::string model = entry.first.Scalar();
      fits.without[model] = read_figures(without.child(model), catalog);
    }
  }
  map.string_or("notes", "");
  return fits;
}

void apply_fit(Scenario& scenario, const FittedFigures& fit) {
  if (scenario.serving.engine.name == "vllm") {
    EngineProfile& engine = scenario.serving.engine;
    engine.iteration_host_s = fit.iteration_host_s;
    engine.host_s_per_sequence = fit.host_s_per_sequence;
    engine.host_by_gpu = fit.host_by_gpu;
    engine = engine.on_gpu(scenario.cluster.gpu.name);
  }
  const auto it = fit.power.find(scenario.cluster.gpu.name);
  if (it == fit.power.end()) return;
  ClusterSpec& c = scenario.cluster;
  c.gpu_preset.power = it->second;
  const bool clocked = c.gpu_clocks.power_cap_w || c.gpu_clocks.sm_clock_mhz;
  if (clocked) {
    c.gpu = at_operating_point(c.gpu_preset, c.gpu_clocks);  // the fit holds at the maximum clock
  } else {
    c.gpu.power = it->second;
  }
}

}  // namespace convsim
