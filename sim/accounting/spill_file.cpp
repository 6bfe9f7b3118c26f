#include "sim/accounting/spill_file.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <fmt/format.h>

namespace convsim {
namespace {

std::string temporary_dir() {
  const char* dir = std::getenv("TMPDIR");
  return dir && *dir ? dir : "/tmp";
}

}  // namespace

SpillFile::SpillFile(std::string what) : what_(std::move(what)), dir_(temporary_dir()) {
  std::string pattern = dir_ + "/convsim-spill-XXXXXX";
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  fd_ = ::mkstemp(name.data());
  if (fd_ < 0) fail("create");
  ::unlink(name.data());  // removed by the system once closed
}

SpillFile::~SpillFile() {
  if (fd_ >= 0) ::close(fd_);
}

void SpillFile::fail(const char* action) const {
  const bool room = std::strcmp(action, "read") != 0;
  throw SpillError(fmt::format("cannot {} a temporary file for {} in {}: {}{}", action, what_, dir_,
                               std::strerror(errno), room ? " (set TMPDIR to a folder with room)" : ""));
}

std::size_t SpillFile::append(const void* data, std::size_t size_bytes) {
  const std::size_t offset = size_bytes_;
  overwrite(offset, data, size_bytes);
  size_bytes_ = offset + size_bytes;
  return offset;
}

void SpillFile::overwrite(std::size_t offset_bytes, const void* data, std::size_t size_bytes) {
  const char* bytes = static_cast<const char*>(data);
  std::size_t done = 0;
  while (done < size_bytes) {
    const ssize_t n = ::pwrite(fd_, bytes + done, size_bytes - done, static_cast<off_t>(offset_bytes + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = ENOSPC;
      fail("write");
    }
    done += static_cast<std::size_t>(n);
  }
}

void SpillFile::read(std::size_t offset_bytes, void* data, std::size_t size_bytes) const {
  char* bytes = static_cast<char*>(data);
  std::size_t done = 0;
  while (done < size_bytes) {
    const ssize_t n = ::pread(fd_, bytes + done, size_bytes - done, static_cast<off_t>(offset_bytes + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;  // shorter than written: the file was truncated
      fail("read");
    }
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace convsim
