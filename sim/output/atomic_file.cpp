#include "sim/output/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

namespace convsim {
namespace {

namespace fs = std::filesystem;

// The temporary files open in this process, for remove_unfinished_files(). Fixed
// buffers so that a signal handler can read them; a slot is in use while its flag is
// set (set after the name is written, cleared before it is reused).
constexpr std::size_t kSlots = 16;
constexpr std::size_t kPathBytes = 4096;
struct Slot {
  std::atomic<bool> used{false};
  char path[kPathBytes] = {};
};
std::array<Slot, kSlots> g_slots;

void remember(const std::string& temporary) {
  if (temporary.size() >= kPathBytes) return;  // not cleaned on a signal; still never under a final name
  for (Slot& slot : g_slots) {
    if (slot.used.load()) continue;
    std::memcpy(slot.path, temporary.c_str(), temporary.size() + 1);
    slot.used.store(true);
    return;
  }
}

void forget(const std::string& temporary) {
  for (Slot& slot : g_slots) {
    if (slot.used.load() && temporary == slot.path) slot.used.store(false);
  }
}

std::string system_error_text(int error) { return std::strerror(error); }

}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  const fs::path final_path(path_);
  temporary_ = (final_path.parent_path() / fmt::format(".{}.tmp-{}", final_path.filename().string(), ::getpid()))
                   .string();
  remember(temporary_);
  out_.open(temporary_, std::ios::binary | std::ios::trunc);
  if (!out_) {
    const int error = errno;
    forget(temporary_);
    throw OutputError(fmt::format("{}: cannot write file: {}", path_, system_error_text(error)));
  }
}

AtomicFile::~AtomicFile() {
  if (committed_) return;
  out_.close();
  std::remove(temporary_.c_str());
  forget(temporary_);
}

void AtomicFile::commit() {
  auto fail = [this](int error) {
    out_.close();
    std::remove(temporary_.c_str());
    forget(temporary_);
    committed_ = true;  // nothing left for the destructor
    throw OutputError(fmt::format("{}: cannot write file: {}", path_,
                                  error != 0 ? system_error_text(error) : std::string("write failed")));
  };
  if (!out_) fail(errno);  // an earlier write failed; errno still says why
  errno = 0;
  out_.flush();
  if (!out_) fail(errno);
  out_.close();
  if (out_.fail()) fail(errno);
  // The bytes on disk before the name: a crash after the rename finds them there.
  const int fd = ::open(temporary_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    const int error = errno;
    if (fd >= 0) ::close(fd);
    fail(error);
  }
  ::close(fd);
  if (std::rename(temporary_.c_str(), path_.c_str()) != 0) fail(errno);
  forget(temporary_);
  committed_ = true;
}

void write_file_atomically(const std::string& path, const std::string& text) {
  AtomicFile file(path);
  file.stream() << text;
  file.commit();
}

void remove_unfinished_files() noexcept {
  for (Slot& slot : g_slots) {
    if (slot.used.load()) ::unlink(slot.path);
  }
}

}  // namespace convsim
