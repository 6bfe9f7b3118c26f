#pragma once
// Running the convsim binary from tests: a scratch folder, shell commands, small
// scenarios made from the shared small conversation, and the processes a run leaves.

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "tests/support/scenario_fixture.hpp"

namespace convsim::test {

// The shared small conversation named `name`, cut to `minutes`, its text edited by
// `edits` (each `from` must occur).
inline std::string small_scenario(const std::string& name, int minutes,
                                  const std::vector<std::pair<std::string, std::string>>& edits = {}) {
  std::string text = kSmallConversation;
  auto replace = [&text](const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
  };
  replace("name: small-conversation", "name: " + name);
  replace("duration_min: 20", fmt::format("duration_min: {}", minutes));
  replace("probe_minutes: [1, 10]", "probe_minutes: [1]");
  for (const auto& [from, to] : edits) replace(from, to);
  return text;
}

// A scratch folder under the system's temporary folder, removed at the end.
struct Workspace {
  std::filesystem::path dir;
  explicit Workspace(const std::string& name)
      : dir(std::filesystem::temp_directory_path() / fmt::format("convsim-{}-{}", name, ::getpid())) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  ~Workspace() { std::filesystem::remove_all(dir); }
  std::string path(const std::string& relative) const { return (dir / relative).string(); }
  std::string write(const std::string& file, const std::string& text) const {
    std::ofstream(dir / file) << text;
    return path(file);
  }
};

// Runs a shell command line; returns its exit code.
inline int shell(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// convsim ARGS, stdout and stderr into `log`; returns its exit code.
inline int run_convsim(const std::string& args, const std::string& log) {
  return shell(fmt::format("{} {} > '{}' 2>&1", CONVSIM_BINARY, args, log));
}

// `text` without the warning ASan prints once per process in the sanitizer build
// (tools/test-sanitize) when SimGrid switches an actor's stack: "==PID==WARNING: ASan
// is ignoring requested __asan_handle_no_return ...", "False positive error reports
// may follow", "For details see ...". Not a report; what a test says a command
// prints is about convsim's own output.
inline std::string without_sanitizer_warnings(const std::string& text) {
  std::istringstream in(text);
  std::string out, line;
  while (std::getline(in, line)) {
    const bool warning = line.find("WARNING: ASan is ignoring requested __asan_handle_no_return") != std::string::npos ||
                         line == "False positive error reports may follow" ||
                         line == "For details see https://github.com/google/sanitizers/issues/189";
    if (!warning) out += line + "\n";
  }
  return out;
}

inline std::set<std::string> files_in(const std::filesystem::path& dir) {
  std::set<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) out.insert(entry.path().filename().string());
  return out;
}

// The pids whose parent is `parent` (from /proc).
inline std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::istringstream stat(read_file(entry.path() / "stat"));
    std::string pid, comm, state;
    long ppid = 0;
    stat >> pid >> comm >> state >> ppid;  // comm is "(convsim)": no spaces
    if (ppid == parent) out.push_back(static_cast<pid_t>(std::stol(pid)));
  }
  return out;
}

// Whether `pid` is still running (not gone, not a zombie).
inline bool running(pid_t pid) {
  const std::string stat = read_file(fmt::format("/proc/{}/stat", pid));
  if (stat.empty()) return false;
  const auto close = stat.rfind(')');
  return close != std::string::npos && stat.size() > close + 2 && stat[close + 2] != 'Z';
}

}  // namespace convsim::test
