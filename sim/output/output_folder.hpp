#pragma once
// The folder a run writes its outputs into, held for the length of the run.
//
// Opening an OutputFolder
// - creates the folder if missing;
// - locks it: an exclusive flock(2) on DIR/.convsim-run, so a second run into the
//   same folder fails at once instead of interleaving its rows (the lock goes with
//   the process, even when it is killed);
// - refuses a folder holding the outputs of another scenario (the name recorded in
//   DIR/.convsim-run differs), unless `force`;
// - removes the previous run's outputs, summary.json first: a folder whose
//   summary.json is missing, or lacks "complete": true, holds an unfinished run.
// Every file is then written through an AtomicFile, summary.json last.

#include <string>
#include <vector>

namespace convsim {

// The files a run may write, summary.json last: its presence marks a complete run.
inline const std::vector<std::string> kRunOutputFiles = {"summary.json", "turns.csv",   "gpus.csv",
                                                         "windows.csv",  "trace.json",  "timing.json",
                                                         "scenario.resolved.yaml"};

class OutputFolder {
 public:
  // `owner` names what writes here (the scenario's name, "scenario/variant" for a
  // compare variant). Throws OutputError when the folder cannot be created or is
  // locked by another run, or holds another scenario's outputs and !force.
  OutputFolder(const std::string& dir, const std::string& owner, bool force);
  ~OutputFolder();  // releases the lock
  OutputFolder(const OutputFolder&) = delete;
  OutputFolder& operator=(const OutputFolder&) = delete;

  // DIR/file. REQUIRES: `file` is a plain file name.
  std::string path(const std::string& file) const;
  const std::string& dir() const { return dir_; }

  // Removes the files of kRunOutputFiles, summary.json first. Throws OutputError.
  void remove_previous_outputs() const;

 private:
  std::string dir_;
  int lock_fd_ = -1;
};

}  // namespace convsim
