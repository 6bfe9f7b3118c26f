#include "sim/output/output_folder.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "sim/output/atomic_file.hpp"

namespace convsim {
namespace {

namespace fs = std::filesystem;

constexpr const char* kOwnerFile = ".convsim-run";
constexpr std::size_t kMaxOwnerBytes = 4096;

std::string error_text() { return std::strerror(errno); }

std::string read_owner(int fd) {
  std::string text(kMaxOwnerBytes, '\0');
  const ssize_t n = ::pread(fd, text.data(), text.size(), 0);
  text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

}  // namespace

OutputFolder::OutputFolder(const std::string& dir, const std::string& owner, bool force) : dir_(dir) {
  std::error_code error;
  fs::create_directories(dir_, error);
  if (error) throw OutputError(fmt::format("{}: cannot create folder: {}", dir_, error.message()));
  const std::string lock_path = path(kOwnerFile);
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) throw OutputError(fmt::format("{}: cannot open: {}", lock_path, error_text()));
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    const std::string why = errno == EWOULDBLOCK ? "another convsim run is writing this folder" : error_text();
    ::close(lock_fd_);
    throw OutputError(fmt::format("{}: {}", dir_, why));
  }
  const std::string previous = read_owner(lock_fd_);
  if (!previous.empty() && previous != owner && !force) {
    ::close(lock_fd_);
    throw OutputError(fmt::format("{}: holds the outputs of scenario '{}', not '{}'; choose another folder with -o, "
                                  "or replace them with --force",
                                  dir_, previous, owner));
  }
  const std::string text = owner + "\n";
  if (::ftruncate(lock_fd_, 0) != 0 ||
      ::pwrite(lock_fd_, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
    const std::string why = error_text();
    ::close(lock_fd_);
    throw OutputError(fmt::format("{}: cannot write file: {}", lock_path, why));
  }
}

OutputFolder::~OutputFolder() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

std::string OutputFolder::path(const std::string& file) const { return (fs::path(dir_) / file).string(); }

void OutputFolder::remove_previous_outputs() const {
  for (const std::string& file : kRunOutputFiles) {
    std::error_code error;
    fs::remove(path(file), error);
    if (error) throw OutputError(fmt::format("{}: cannot remove: {}", path(file), error.message()));
  }
}

}  // namespace convsim
