#include "sim/accounting/gpu_timeline.hpp"

#include <algorithm>
#include <cmath>

namespace convsim {

GpuTimeline::GpuTimeline(int gpus, double initial_bin_s) : bin_s_(initial_bin_s), bins_(static_cast<std::size_t>(gpus)) {}

void GpuTimeline::grow_to(std::size_t index) {
  while (index >= static_cast<std::size_t>(kMaxBins)) {  // merge neighbours: twice as wide
    for (auto& gpu : bins_) {
      std::vector<Bin> merged((gpu.size() + 1) / 2);
      for (std::size_t i = 0; i < gpu.size(); ++i) {
        Bin& m = merged[i / 2];
        m.busy_s += gpu[i].busy_s;
        m.communicating_s += gpu[i].communicating_s;
        m.active_energy_j += gpu[i].active_energy_j;
        m.memory_bytes = std::max(m.memory_bytes, gpu[i].memory_bytes);
      }
      gpu = std::move(merged);
    }
    bin_s_ *= 2;
    index /= 2;
  }
}

void GpuTimeline::add(int gpu, double start_s, double busy_s, double communicating_s, double energy_j,
                      double memory_bytes) {
  const double total_s = busy_s + communicating_s;
  if (total_s <= 0) return;
  grow_to(static_cast<std::size_t>((start_s + total_s) / bin_s_));
  std::vector<Bin>& bins = bins_[static_cast<std::size_t>(gpu)];
  double t = start_s;
  const double end_s = start_s + total_s;
  while (t < end_s) {
    const std::size_t index = static_cast<std::size_t>(t / bin_s_);
    if (bins.size() <= index) bins.resize(index + 1);
    const double bin_end_s = static_cast<double>(index + 1) * bin_s_;
    const double piece_s = std::min(end_s, bin_end_s) - t;
    const double fraction = piece_s / total_s;
    Bin& b = bins[index];
    b.busy_s += busy_s * fraction;
    b.communicating_s += communicating_s * fraction;
    b.active_energy_j += energy_j * fraction;
    b.memory_bytes = std::max(b.memory_bytes, memory_bytes);
    if (piece_s <= 0) break;  // guards against a bin boundary lost to rounding
    t += piece_s;
  }
}

}  // namespace convsim
