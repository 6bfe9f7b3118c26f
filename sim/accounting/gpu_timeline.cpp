#include "sim/accounting/gpu_timeline.hpp"

#include <algorithm>
#include <cmath>

namespace convsim {
namespace {

// Merges neighbouring bins: twice as wide.
void widen(std::vector<GpuTimeline::Bin>& bins) {
  std::vector<GpuTimeline::Bin> merged((bins.size() + 1) / 2);
  for (std::size_t i = 0; i < bins.size(); ++i) {
    GpuTimeline::Bin& m = merged[i / 2];
    m.busy_s += bins[i].busy_s;
    m.communicating_s += bins[i].communicating_s;
    m.active_energy_j += bins[i].active_energy_j;
    m.memory_bytes = std::max(m.memory_bytes, bins[i].memory_bytes);
  }
  bins = std::move(merged);
}

}  // namespace

GpuTimeline::GpuTimeline(int gpus, double initial_bin_s)
    : track_of_(static_cast<std::size_t>(gpus)), tracks_(static_cast<std::size_t>(gpus), Track{initial_bin_s, {}}) {
  for (std::size_t g = 0; g < track_of_.size(); ++g) track_of_[g] = static_cast<int>(g);
}

void GpuTimeline::share(const std::vector<int>& gpus) {
  for (int gpu : gpus) track_of_[static_cast<std::size_t>(gpu)] = gpus.front();
}

double GpuTimeline::bin_s() const {
  double widest = 0;
  for (const Track& t : tracks_) widest = std::max(widest, t.bin_s);
  return widest;
}

std::vector<GpuTimeline::Bin> GpuTimeline::bins(int gpu, double common_bin_s) const {
  const Track& t = track(gpu);
  std::vector<Bin> out = t.bins;
  for (double width_s = t.bin_s; width_s < common_bin_s; width_s *= 2) widen(out);
  return out;
}

void GpuTimeline::set_own(int gpu, double bin_s, std::vector<Bin> bins) {
  track_of_[static_cast<std::size_t>(gpu)] = gpu;  // a merged GPU's own bins
  tracks_[static_cast<std::size_t>(gpu)] = Track{bin_s, std::move(bins)};
}

void GpuTimeline::add(int gpu, double start_s, double busy_s, double communicating_s, double energy_j,
                      double memory_bytes) {
  const double total_s = busy_s + communicating_s;
  if (total_s <= 0 || track_of_[static_cast<std::size_t>(gpu)] != gpu) return;  // a shared track's owner records it
  Track& track = tracks_[static_cast<std::size_t>(gpu)];
  for (auto last = static_cast<std::size_t>((start_s + total_s) / track.bin_s);
       last >= static_cast<std::size_t>(kMaxBins); last /= 2) {
    widen(track.bins);
    track.bin_s *= 2;
  }
  std::vector<Bin>& bins = track.bins;
  const double bin_s = track.bin_s;
  double t = start_s;
  const double end_s = start_s + total_s;
  while (t < end_s) {
    const std::size_t index = static_cast<std::size_t>(t / bin_s);
    if (bins.size() <= index) bins.resize(index + 1);
    const double bin_end_s = static_cast<double>(index + 1) * bin_s;
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
