#pragma once
// Per-GPU power, utilisation and memory over time, in fixed-width bins. The bin
// width doubles (merging neighbours) whenever a run outgrows kMaxBins, so memory
// stays bounded however long the run; a ten-hour run ends with bins of ~1-2 min.

#include <vector>

namespace convsim {

class GpuTimeline {
 public:
  static constexpr int kMaxBins = 512;

  struct Bin {
    double busy_s = 0;          // computing
    double communicating_s = 0; // waiting on transfers and collectives
    double active_energy_j = 0; // energy while busy or communicating
    double memory_bytes = 0;    // peak over the bin
  };

  GpuTimeline(int gpus, double initial_bin_s);

  // Records activity of `gpu` over [start_s, start_s + busy_s + communicating_s):
  // spread over the bins it covers in proportion to time.
  void add(int gpu, double start_s, double busy_s, double communicating_s, double energy_j, double memory_bytes);

  double bin_s() const { return bin_s_; }
  int gpus() const { return static_cast<int>(bins_.size()); }
  // Bins of one GPU up to the last one touched (the caller fills idle up to the end).
  const std::vector<Bin>& bins(int gpu) const { return bins_[static_cast<std::size_t>(gpu)]; }

 private:
  void grow_to(std::size_t index);
  double bin_s_;
  std::vector<std::vector<Bin>> bins_;
};

}  // namespace convsim
