#pragma once
// Carbon intensity of electricity by region, for cluster.grid_region.
//
// Figures: Ember, "Yearly electricity data" (Global Electricity Review 2024), carbon
// intensity of electricity generation in 2023, gCO2e per kWh, life-cycle emissions
// factors (IPCC AR5). Generation, not consumption: imports and grid losses are not
// included. A market-based figure (with a buyer's clean-power contracts, as cloud
// providers report) is lower; give it with cluster.grid_gco2e_per_kwh.

#include <optional>
#include <string>
#include <vector>

namespace convsim {

struct GridRegion {
  const char* name;
  double gco2e_per_kwh;
};

inline const std::vector<GridRegion>& grid_regions() {
  static const std::vector<GridRegion> regions = {
      {"world", 480},   {"china", 582},  {"india", 713},   {"united-states", 369}, {"european-union", 244},
      {"germany", 381}, {"france", 56},  {"poland", 662},  {"united-kingdom", 238}, {"norway", 30},
  };
  return regions;
}

inline std::optional<double> grid_gco2e_per_kwh(const std::string& region) {
  for (const GridRegion& r : grid_regions()) {
    if (region == r.name) return r.gco2e_per_kwh;
  }
  return std::nullopt;
}

}  // namespace convsim
