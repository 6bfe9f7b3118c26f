#include "sim/output/trace_lanes.hpp"

#include <algorithm>
#include <map>
#include <numeric>

#include <fmt/format.h>

namespace convsim {

std::vector<int> trace_lanes(const std::vector<TraceSlice>& slices) {
  std::vector<std::size_t> order(slices.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&slices](std::size_t a, std::size_t b) { return slices[a].start_s < slices[b].start_s; });
  std::map<std::string, std::vector<double>> lane_ends_s;  // track -> when each lane is free again
  std::vector<int> lanes(slices.size(), 0);
  for (const std::size_t i : order) {
    const TraceSlice& slice = slices[i];
    std::vector<double>& ends_s = lane_ends_s[slice.track];
    const auto free = std::find_if(ends_s.begin(), ends_s.end(), [&slice](double end_s) { return end_s <= slice.start_s; });
    const double end_s = slice.start_s + slice.duration_s;
    if (free == ends_s.end()) {
      lanes[i] = static_cast<int>(ends_s.size());
      ends_s.push_back(end_s);
    } else {
      lanes[i] = static_cast<int>(free - ends_s.begin());
      *free = end_s;
    }
  }
  return lanes;
}

std::string lane_name(const std::string& track, int lane) {
  return lane == 0 ? track : fmt::format("{} #{}", track, lane + 1);
}

}  // namespace convsim
