#include "sim/scenario/power_coefficients_reader.hpp"

#include <fmt/format.h>

#include "models/power.hpp"
#include "sim/scenario/text_util.hpp"

namespace convsim {

PowerCoefficients read_power_coefficients(const MapReader& k, const GpuSpec& gpu,
                                          const std::vector<std::string>& extra_keys) {
  std::vector<std::string> allowed = {"static_w",       "j_per_hbm_byte", "j_per_flop_bf16",
                                      "j_per_flop_fp8", "j_per_flop_fp4", "collective_w"};
  allowed.insert(allowed.end(), extra_keys.begin(), extra_keys.end());
  k.allow_only(allowed);
  const Locator& at = k.locator();
  PowerCoefficients c;
  c.static_w = k.number("static_w", Limits::at_least(0));
  c.j_per_hbm_byte = k.number("j_per_hbm_byte", Limits::at_least(0));
  c.j_per_flop_bf16 = k.number("j_per_flop_bf16", Limits::at_least(0));
  c.j_per_flop_fp8 =
      k.number_or("j_per_flop_fp8", default_j_per_flop_fp8(gpu, c.j_per_flop_bf16), Limits::at_least(0));
  c.j_per_flop_fp4 = k.number_or("j_per_flop_fp4", default_j_per_flop_fp4(gpu, c.j_per_flop_bf16, c.j_per_flop_fp8),
                                 Limits::at_least(0));
  c.collective_w = k.number("collective_w", Limits::at_least(0));
  if (c.static_w < gpu.power_idle_w || c.static_w >= gpu.power_max_w) {
    at.fail(k.spot("static_w"), fmt::format("static_w = {} must be in [power_idle_w, power_max_w) = [{}, {})",
                                            format_number(c.static_w), format_number(gpu.power_idle_w),
                                            format_number(gpu.power_max_w)));
  }
  if (const auto over = roof_over_board_limit(gpu, c)) {
    at.fail(k.has(over->key) ? k.spot(over->key) : k.spot("j_per_flop_bf16"),
            fmt::format("{} = {} J puts a GPU with its tensor cores at their {} roof ({:.4g} FLOP/s) at "
                        "static_w + {} x FLOP/s = {:.1f} W, above power_max_w = {} W: allowed at most {:.4g} J",
                        over->key, format_number(over->j_per_flop), precision_name(over->precision),
                        over->flops_per_s, over->key, over->power_w, format_number(gpu.power_max_w),
                        over->max_j_per_flop));
  }
  if (c.static_w + c.collective_w > gpu.power_max_w) {
    at.fail(k.spot("collective_w"), fmt::format("static_w + collective_w = {} W is above power_max_w = {} W: a GPU "
                                                "waiting in a collective cannot draw more than its board limit",
                                                format_number(c.static_w + c.collective_w),
                                                format_number(gpu.power_max_w)));
  }
  return c;
}

}  // namespace convsim
