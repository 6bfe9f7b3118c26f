#pragma once
// Output files that are either complete or absent under their final name.
//
// An AtomicFile is written under a temporary name in its own folder
// (".NAME.tmp-PID") and renamed to NAME by commit(), after its bytes reached the
// disk (fsync). A run that is killed, or whose disk fills up, therefore never leaves
// a partial file under a final name: a reader sees the old file or the new one.

#include <fstream>
#include <stdexcept>
#include <string>

namespace convsim {

// A file could not be written (full disk, I/O error, no permission). The message
// names the path. The CLI exits with 3 (a run that failed).
class OutputError : public std::runtime_error {
 public:
  explicit OutputError(const std::string& message) : std::runtime_error(message) {}
};

class AtomicFile {
 public:
  // Opens the temporary file beside `path`. Throws OutputError when it cannot.
  explicit AtomicFile(std::string path);
  // Removes the temporary file unless commit() succeeded.
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  std::ostream& stream() { return out_; }
  const std::string& path() const { return path_; }

  // Flushes, syncs to disk, closes and renames the file to its final name. Throws
  // OutputError naming the final path when any step fails (the temporary file is
  // then removed).
  void commit();

 private:
  std::string path_;
  std::string temporary_;
  std::ofstream out_;
  bool committed_ = false;
};

// Writes `text` to `path` through an AtomicFile.
void write_file_atomically(const std::string& path, const std::string& text);

// Removes the temporary files of the AtomicFiles still open in this process.
// Async-signal-safe (only unlink(2) on fixed buffers): for a signal handler that is
// about to end the process.
void remove_unfinished_files() noexcept;

}  // namespace convsim
