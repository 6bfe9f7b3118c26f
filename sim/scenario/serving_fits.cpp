#include "sim/scenario/serving_fits.hpp"

#include <fmt/format.h>

#include "models/clocks.hpp"
#include "sim/scenario/config_error.hpp"
#include "sim/scenario/text_util.hpp"
#include "sim/scenario/yaml_reader.hpp"

namespace convsim {
namespace {

FittedFigures read_figures(const MapReader& m) {
  m.allow_only({"iteration_host_s", "host_s_per_sequence", "power"});
  FittedFigures f;
  f.iteration_host_s = m.number("iteration_host_s", Limits::at_least(0));
  f.host_s_per_sequence = m.number("host_s_per_sequence", Limits::at_least(0));
  if (m.has("power")) {
    const MapReader power = m.child("power");
    for (const auto& entry : power.node()) {
      const std::string gpu = entry.first.Scalar();
      const MapReader k = power.child(gpu);
      k.allow_only({"static_w", "j_per_hbm_byte", "j_per_flop_bf16", "j_per_flop_fp8", "j_per_flop_fp4", "collective_w"});
      PowerCoefficients c;
      c.static_w = k.number("static_w", Limits::at_least(0));
      c.j_per_hbm_byte = k.number("j_per_hbm_byte", Limits::at_least(0));
      c.j_per_flop_bf16 = k.number("j_per_flop_bf16", Limits::at_least(0));
      c.j_per_flop_fp8 = k.number_or("j_per_flop_fp8", c.j_per_flop_bf16 / 2, Limits::at_least(0));
      c.j_per_flop_fp4 = k.number_or("j_per_flop_fp4", c.j_per_flop_fp8 / 2, Limits::at_least(0));
      c.collective_w = k.number("collective_w", Limits::at_least(0));
      f.power[gpu] = c;
    }
  }
  return f;
}

}  // namespace

std::string default_serving_fits_path() { return CONVSIM_SOURCE_DIR "/models/catalog/fits/serving.yaml"; }

ServingFits load_serving_fits(const std::string& path) {
  const YAML::Node root = parse_yaml(read_text_file(path), path);
  const Locator at(path);
  const MapReader map(at, root, "", "the serving fits");
  map.allow_only({"fitted_by", "all", "without", "notes"});
  ServingFits fits;
  fits.path = path;
  fits.fitted_by = map.string("fitted_by");
  fits.all = read_figures(map.child("all"));
  if (map.has("without")) {
    const MapReader without = map.child("without");
    for (const auto& entry : without.node()) {
      const std::string model = entry.first.Scalar();
      fits.without[model] = read_figures(without.child(model));
    }
  }
  map.string_or("notes", "");
  return fits;
}

void apply_fit(Scenario& scenario, const FittedFigures& fit) {
  if (scenario.serving.engine.name == "vllm") {
    scenario.serving.engine.iteration_host_s = fit.iteration_host_s;
    scenario.serving.engine.host_s_per_sequence = fit.host_s_per_sequence;
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
