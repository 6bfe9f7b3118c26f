#pragma once
// Lanes of a trace track. A track is one GPU or link, but a link can carry several
// transfers at once (KV offloads of different sessions over one PCIe link, KV
// handoffs between the same two replicas), and trace viewers draw the slices of one
// thread as a stack of nested calls: overlapping slices there would read as one
// inside the other. So each track is split into lanes, the fewest such that the
// slices of a lane never overlap (greedy by start time: an interval colouring, which
// is optimal), and each lane is drawn as a thread of its own: "gpu 3 pcie", then
// "gpu 3 pcie #2", ... A track whose slices never overlap keeps one lane.

#include <cstddef>
#include <string>
#include <vector>

#include "sim/accounting/records.hpp"

namespace convsim {

// The lane of each slice of `slices` (0 for the first lane of its track), such that
// two slices of one track and lane never overlap (one may start where the other
// ends).
std::vector<int> trace_lanes(const std::vector<TraceSlice>& slices);

// The thread name of lane `lane` of `track`: the track itself for lane 0.
std::string lane_name(const std::string& track, int lane);

}  // namespace convsim
