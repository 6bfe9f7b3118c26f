#include "sim/cli/signals.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <thread>

#include "sim/output/atomic_file.hpp"

namespace convsim::cli {
namespace {

std::atomic<pid_t> g_children_group{0};
std::atomic<bool> g_stopping{false};

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

[[noreturn]] void wait_and_stop() {
  const sigset_t set = stop_signals();
  int signal = SIGTERM;
  while (sigwait(&set, &signal) != 0) {
  }
  g_stopping.store(true);  // before any child is killed: their deaths are this stop's
  const pid_t group = g_children_group.load();
  if (group > 0) {
    ::kill(-group, SIGTERM);
    while (::waitpid(-group, nullptr, 0) > 0 || errno == EINTR) {
    }
  }
  remove_unfinished_files();
  ::_exit(128 + signal);
}

void start_signal_thread() {
  const sigset_t set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread(wait_and_stop).detach();
}

}  // namespace

void stop_on_signals() { start_signal_thread(); }

bool stopping() { return g_stopping.load(); }

void wait_for_stop() {
  for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
}

void set_children_group(pid_t group) { g_children_group.store(group); }

void prepare_child(pid_t group, pid_t parent) {
  g_children_group.store(0);  // a child's own children are not tracked here
  ::setpgid(0, group);
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent) ::_exit(128 + SIGTERM);  // the parent died before prctl
  start_signal_thread();
}

}  // namespace convsim::cli
