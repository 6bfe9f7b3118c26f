// SIGINT and SIGTERM through the binary: a compare or a long run stops with exit
// 128 + the signal (130, 143) well before it would have finished, leaves no child
// running, and no file under a final name that is not complete.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "tests/support/cli_run.hpp"

namespace fs = std::filesystem;
using namespace ::convsim::test;

extern char** environ;

namespace {

// convsim ARGS started in the background, stdout and stderr into `log`.
pid_t spawn_convsim(std::vector<std::string> args, const std::string& log) {
  args.insert(args.begin(), CONVSIM_BINARY);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = 0;
  const int error = posix_spawn(&pid, CONVSIM_BINARY, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(error == 0);
  return pid;
}

// Waits for `pid` to end; its exit code, or -1 when it did not exit within
// `limit_s` (it is then killed) or died of a signal. The limit only tells a hang
// from a stop: an interrupted run stops within a second or so.
int wait_exit_code(pid_t pid, double limit_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(limit_s);
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Files under final names a stopped run may leave: scenario.resolved.yaml is
// written whole before time starts; the lock file holds only the scenario's name.
void check_no_partial_outputs(const fs::path& dir) {
  if (!fs::exists(dir)) return;
  for (const std::string& file : files_in(dir)) {
    INFO(dir.string() + "/" + file);
    CHECK(file.find("tmp-") == std::string::npos);
    CHECK((file == "scenario.resolved.yaml" || file == ".convsim-run"));
  }
}

struct SignalCase {
  int signal;
  int exit_code;  // 128 + signal
};

const std::vector<SignalCase> kSignals = {{SIGTERM, 128 + SIGTERM}, {SIGINT, 128 + SIGINT}};

// A hundred ten-hour conversations: each run lasts tens of seconds at least.
std::string long_scenario(const std::string& name) {
  return small_scenario(name, 600, {{"duration_min: 600", "duration_min: 600\n  sessions: 100"}});
}

}  // namespace

TEST_CASE("SIGTERM and SIGINT stop a compare with 128 + signal and leave none of its children running") {
  for (const SignalCase& c : kSignals) {
    INFO("signal " << c.signal);
    const Workspace w(fmt::format("compare-signal-{}", c.signal));
    const std::string s = w.write("s.yaml", long_scenario("signal") +
                                                "compare:\n  - {name: kept}\n  - {name: dropped, set: "
                                                "{context.kv_between_turns: drop}}\n");
    const std::string out = w.path("out");
    const pid_t parent = spawn_convsim({"compare", s, "-o", out, "--jobs", "2"}, w.path("log"));
    std::vector<pid_t> children;
    for (int i = 0; i < 600 && children.size() < 2; ++i) {  // up to a minute for both to start
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      children = children_of(parent);
    }
    REQUIRE(children.size() == 2);
    REQUIRE(::kill(parent, c.signal) == 0);
    CHECK(wait_exit_code(parent, 60) == c.exit_code);
    INFO(read_file(w.path("log")));
    for (const pid_t child : children) {
      INFO("child " << child);
      CHECK(!running(child));
    }
    for (const char* variant : {"kept", "dropped"}) check_no_partial_outputs(fs::path(out) / variant);
    CHECK(!fs::exists(fs::path(out) / "compare.csv"));
  }
}

TEST_CASE("SIGTERM and SIGINT stop a long run with 128 + signal, leaving no partial output under a final name") {
  for (const SignalCase& c : kSignals) {
    INFO("signal " << c.signal);
    const Workspace w(fmt::format("run-signal-{}", c.signal));
    const std::string s = w.write("s.yaml", long_scenario("signal"));
    const fs::path out = w.dir / "out";
    const pid_t pid = spawn_convsim({"run", s, "-o", out.string(), "-q"}, w.path("log"));
    // Simulating: the resolved scenario is written before time starts.
    for (int i = 0; i < 600 && !fs::exists(out / "scenario.resolved.yaml"); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    REQUIRE(fs::exists(out / "scenario.resolved.yaml"));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    REQUIRE(::kill(pid, c.signal) == 0);
    CHECK(wait_exit_code(pid, 60) == c.exit_code);
    INFO(read_file(w.path("log")));
    check_no_partial_outputs(out);
  }
}
