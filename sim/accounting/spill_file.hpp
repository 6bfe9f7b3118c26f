#pragma once
// A temporary binary file for records that do not stay in memory. It is created in
// $TMPDIR (or /tmp) and unlinked at once, so the system removes it when it is closed
// or the process ends, however it ends. The bytes are read back only by the process
// that wrote them (the layout is the in-memory one of trivially copyable structs).

#include <cstddef>
#include <stdexcept>
#include <string>

namespace convsim {

// The file could not be created, written or read (full disk, no permission): a run
// error, not a configuration error.
class SpillError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class SpillFile {
 public:
  // `what` names the contents in error messages ("reply records").
  explicit SpillFile(std::string what);
  ~SpillFile();
  SpillFile(const SpillFile&) = delete;
  SpillFile& operator=(const SpillFile&) = delete;

  // Appends `size_bytes` at the end; returns the offset they were written at.
  std::size_t append(const void* data, std::size_t size_bytes);
  // REQUIRES: [offset_bytes, offset_bytes + size_bytes) was written.
  void read(std::size_t offset_bytes, void* data, std::size_t size_bytes) const;
  void overwrite(std::size_t offset_bytes, const void* data, std::size_t size_bytes);

  std::size_t size_bytes() const { return size_bytes_; }

 private:
  [[noreturn]] void fail(const char* action) const;

  std::string what_;
  std::string dir_;
  int fd_ = -1;
  std::size_t size_bytes_ = 0;
};

}  // namespace convsim
