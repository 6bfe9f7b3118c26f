#pragma once
// Prefix-cache hits worked out directly from a trace's hash_ids, for the tests: a
// pure function over the file, independent of the project's reader and cache.

#include <fstream>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

namespace convsim::test {

inline const std::string kMooncakeConv =
    std::string(CONVSIM_SOURCE_DIR) + "/data/traces/mooncake_conversation.jsonl";

// The hash_ids of the first max_rows rows (0: all), read here with nlohmann-json.
inline std::vector<std::vector<std::uint64_t>> mooncake_ids(std::size_t max_rows = 0) {
  std::ifstream in(kMooncakeConv);
  std::vector<std::vector<std::uint64_t>> rows;
  std::string line;
  while ((max_rows == 0 || rows.size() < max_rows) && std::getline(in, line)) rows.push_back(nlohmann::json::parse(line).at("hash_ids").get<std::vector<std::uint64_t>>());
  return rows;
}

struct Hits {
  long lookup_blocks = 0;
  long hit_blocks = 0;
};

// Unbounded: a request's first k blocks hit when each of its first k ids
// appeared in an earlier request.
inline Hits unbounded_hits(const std::vector<std::vector<std::uint64_t>>& rows) {
  std::unordered_set<std::uint64_t> seen;
  Hits h;
  for (const auto& ids : rows) {
    std::size_t k = 0;
    while (k < ids.size() && seen.count(ids[k]) > 0) ++k;
    h.lookup_blocks += static_cast<long>(ids.size());
    h.hit_blocks += static_cast<long>(k);
    seen.insert(ids.begin(), ids.end());
  }
  return h;
}

// At most C blocks: each block remembers when it was last used; a request uses its
// blocks last to first (its first block is the most recent), then the least
// recently used blocks go until C remain.
inline Hits lru_hits(const std::vector<std::vector<std::uint64_t>>& rows, std::size_t capacity) {
  std::unordered_map<std::uint64_t, long> last_use;
  std::set<std::pair<long, std::uint64_t>> by_age;
  long clock = 0;
  Hits h;
  for (const auto& ids : rows) {
    std::size_t k = 0;
    while (k < ids.size() && last_use.count(ids[k]) > 0) ++k;
    h.lookup_blocks += static_cast<long>(ids.size());
    h.hit_blocks += static_cast<long>(k);
    for (auto id = ids.rbegin(); id != ids.rend(); ++id) {
      if (const auto it = last_use.find(*id); it != last_use.end()) by_age.erase({it->second, *id});
      last_use[*id] = ++clock;
      by_age.insert({clock, *id});
    }
    while (by_age.size() > capacity) {
      last_use.erase(by_age.begin()->second);
      by_age.erase(by_age.begin());
    }
  }
  return h;
}

}  // namespace convsim::test
