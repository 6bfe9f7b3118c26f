#include "models/engine_profile.hpp"

#include <algorithm>

namespace convsim {

long EngineProfile::padded_decode_batch(long n) const {
  const auto it = std::lower_bound(cuda_graph_batch_sizes.begin(), cuda_graph_batch_sizes.end(), n);
  return it == cuda_graph_batch_sizes.end() ? n : *it;
}

}  // namespace convsim
