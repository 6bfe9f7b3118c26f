// A folder of presets read on demand (sim/scenario/presets.hpp): a lookup reads that
// preset's file only, listing reads none, iterating reads all in name order, a read
// that throws leaves the preset unread, and presets added in memory merge into the
// names.

#include <catch2/catch.hpp>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "sim/scenario/presets.hpp"

namespace convsim {
namespace {

struct Fake {
  std::string name;
};

// Presets whose reader records the paths it is asked for; "bad" throws.
Presets<Fake> fakes(std::vector<std::string>& reads) {
  return Presets<Fake>({{"a", "dir/a.yaml"}, {"bad", "dir/bad.yaml"}, {"c", "dir/c.yaml"}},
                       [&reads](const std::string& path) {
                         reads.push_back(path);
                         if (path == "dir/bad.yaml") throw std::runtime_error("dir/bad.yaml:1:1: broken");
                         return Fake{path.substr(4, path.size() - 9)};
                       });
}

}  // namespace

TEST_CASE("a preset folder reads a file when its preset is first looked up, and once") {
  std::vector<std::string> reads;
  const Presets<Fake> p = fakes(reads);
  CHECK(p.names() == std::vector<std::string>{"a", "bad", "c"});
  CHECK(p.size() == 3);
  CHECK(reads.empty());
  CHECK(p.at("c").name == "c");
  CHECK(p.find("c")->second.name == "c");
  CHECK(p.find("nope") == p.end());
  CHECK(p.count("a") == 1);
  CHECK(reads == std::vector<std::string>{"dir/c.yaml"});
}

TEST_CASE("a preset whose read throws stays unread and throws again") {
  std::vector<std::string> reads;
  const Presets<Fake> p = fakes(reads);
  CHECK_THROWS_WITH(p.find("bad"), "dir/bad.yaml:1:1: broken");
  CHECK_THROWS_WITH(p.find("bad"), "dir/bad.yaml:1:1: broken");
  CHECK(reads == std::vector<std::string>{"dir/bad.yaml", "dir/bad.yaml"});
  CHECK(p.count("bad") == 1);
  CHECK_THROWS(p.begin());  // iterating reads every preset: "a" first, then "bad" throws
  CHECK(reads.back() == "dir/bad.yaml");
  CHECK(reads[2] == "dir/a.yaml");
}

TEST_CASE("iterating reads every preset in name order, and presets added in memory join the names") {
  std::vector<std::string> reads;
  Presets<Fake> p({{"b", "dir/b.yaml"}, {"d", "dir/d.yaml"}}, [&reads](const std::string& path) {
    reads.push_back(path);
    return Fake{path.substr(4, path.size() - 9)};
  });
  p["c"] = Fake{"in memory"};
  p["a"] = Fake{"in memory"};
  CHECK(p.names() == std::vector<std::string>{"a", "b", "c", "d"});
  CHECK(reads.empty());
  std::vector<std::string> seen;
  for (const auto& [name, spec] : p) seen.push_back(name + "=" + spec.name);
  CHECK(seen == std::vector<std::string>{"a=in memory", "b=b", "c=in memory", "d=d"});
  CHECK(reads == std::vector<std::string>{"dir/b.yaml", "dir/d.yaml"});
  const Presets<Fake> empty;
  CHECK(empty.empty());
  CHECK(empty.begin() == empty.end());
}

}  // namespace convsim
