#pragma once
// One folder of the catalog: presets named after their files, each read from its
// file the first time it is looked up. A run names a handful of the catalog's
// presets, so it reads those files only (yaml-cpp costs about 1,500 instructions
// per byte, and the catalog holds 175 KB of cited presets).
//
// Contract:
// - find(name) / at(name) / operator[](name) read the file of that name only;
// - names() lists every preset without reading any;
// - begin() (iteration, in name order) and read_all() read every file not yet read;
// - a file that fails to read throws ConfigError (file:line:column) at that first
//   use and stays unread, so a later use throws the same error again;
// - the first reads mutate the cache behind const methods: one thread at a time
//   (the loaders are single-threaded).

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace convsim {

template <typename Spec>
class Presets {
 public:
  using Map = std::map<std::string, Spec>;
  using const_iterator = typename Map::const_iterator;
  // Reads the preset in one file (its path); throws ConfigError.
  using Reader = std::function<Spec(const std::string& path)>;

  Presets() = default;
  // `files`: each preset's name -> the path of its file, none read yet.
  Presets(std::map<std::string, std::string> files, Reader read) : unread_(std::move(files)), read_(std::move(read)) {}

  const_iterator find(const std::string& name) const {
    read_one(name);
    return specs_.find(name);
  }
  const Spec& at(const std::string& name) const {
    read_one(name);
    return specs_.at(name);
  }
  Spec& at(const std::string& name) {
    read_one(name);
    return specs_.at(name);
  }
  // An in-memory catalog (tests) adds presets through this.
  Spec& operator[](const std::string& name) {
    read_one(name);
    return specs_[name];
  }
  std::size_t count(const std::string& name) const { return specs_.count(name) + unread_.count(name); }
  std::size_t size() const { return specs_.size() + unread_.size(); }
  bool empty() const { return size() == 0; }

  const_iterator begin() const {
    read_all();
    return specs_.begin();
  }
  const_iterator end() const { return specs_.end(); }

  std::vector<std::string> names() const {
    std::vector<std::string> all;
    auto read = specs_.begin();
    auto unread = unread_.begin();
    while (read != specs_.end() || unread != unread_.end()) {  // merging two sorted key lists
      const bool take_read = unread == unread_.end() || (read != specs_.end() && read->first < unread->first);
      all.push_back(take_read ? (read++)->first : (unread++)->first);
    }
    return all;
  }

  // The file of a preset not read yet, else nullptr (read, or no such preset).
  const std::string* unread_file(const std::string& name) const {
    const auto file = unread_.find(name);
    return file == unread_.end() ? nullptr : &file->second;
  }

  void read_all() const {
    while (!unread_.empty()) read_one(unread_.begin()->first);
  }

 private:
  void read_one(const std::string& name) const {
    const auto file = unread_.find(name);
    if (file == unread_.end()) return;
    Spec spec = read_(file->second);  // throws before anything changes
    specs_.emplace(name, std::move(spec));
    unread_.erase(file);
  }

  mutable Map specs_;
  mutable std::map<std::string, std::string> unread_;
  Reader read_;
};

// The names of a catalog folder's presets, in order, none read.
template <typename Spec>
std::vector<std::string> names_of(const Presets<Spec>& presets) {
  return presets.names();
}

}  // namespace convsim
