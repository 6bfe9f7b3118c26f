#pragma once
// Per-GPU power, utilisation and memory over time, in fixed-width bins. A GPU's bin
// width doubles (merging neighbours) whenever its activity outgrows kMaxBins, so
// memory stays bounded however long the run; a ten-hour run ends with bins of ~1-2
// min. Each GPU widens its own bins, from its own activity alone: what one GPU
// records does not depend on the other GPUs simulated in the same process (a run
// split into shards, convsim run --shard, records the same bins). Readers see every
// GPU at the common width, the widest (bins()).
//
// GPUs that always record the same activity (those of one pipeline stage of a
// replica: every call reports the stage's time and energy per GPU) may share one
// track (share()): it is written once for all of them, which keeps the memory the
// timeline touches per iteration from growing with the tensor-parallel degree.
// What each GPU reads is what its own track would hold.

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

  // The GPUs in `gpus` read and write the first one's track from now on; add() for
  // the others records nothing (their owner records the same activity).
  // REQUIRES: nothing recorded yet for any of them, and each add() of the owner has
  // the same arguments as the others'.
  void share(const std::vector<int>& gpus);

  // Records activity of `gpu` over [start_s, start_s + busy_s + communicating_s):
  // spread over the bins it covers in proportion to time.
  void add(int gpu, double start_s, double busy_s, double communicating_s, double energy_j, double memory_bytes);

  // The common bin width: the widest of the GPUs' (it visits every GPU).
  double bin_s() const;
  int gpus() const { return static_cast<int>(track_of_.size()); }
  // Bins of one GPU at the common width, up to the last one touched (the caller
  // fills idle up to the end). A caller reading every GPU passes the common width,
  // bin_s(), found once: finding it per GPU would cost time quadratic in the GPUs.
  // REQUIRES: common_bin_s == bin_s().
  std::vector<Bin> bins(int gpu) const { return bins(gpu, bin_s()); }
  std::vector<Bin> bins(int gpu, double common_bin_s) const;

  // One GPU's own bins and width, as recorded; and setting them (a shard's GPU
  // joining the merged run). REQUIRES: bin_s is the initial width times a power of 2.
  double own_bin_s(int gpu) const { return track(gpu).bin_s; }
  const std::vector<Bin>& own_bins(int gpu) const { return track(gpu).bins; }
  void set_own(int gpu, double bin_s, std::vector<Bin> bins);
  // The GPU whose track `gpu` reads: itself unless shared (share()).
  int track_owner(int gpu) const { return track_of_[static_cast<std::size_t>(gpu)]; }

 private:
  struct Track {
    double bin_s = 0;
    std::vector<Bin> bins;
  };
  const Track& track(int gpu) const {
    return tracks_[static_cast<std::size_t>(track_of_[static_cast<std::size_t>(gpu)])];
  }
  std::vector<int> track_of_;  // per GPU: the track it reads (its own unless shared)
  std::vector<Track> tracks_;
};

}  // namespace convsim
