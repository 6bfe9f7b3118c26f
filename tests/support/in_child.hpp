#pragma once
// Runs `body` in a forked child and returns its result: one simulation per process,
// as SimGrid allows one engine per process. The result travels back through a pipe,
// so it must be trivially copyable (a double, a struct of doubles).

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <type_traits>

#include <catch2/catch.hpp>

namespace convsim::test {

template <class Body>
auto in_child(Body body) -> decltype(body()) {
  using Result = decltype(body());
  static_assert(std::is_trivially_copyable_v<Result>, "the child's result is sent as bytes");
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    const Result result = body();
    std::_Exit(write(fds[1], &result, sizeof result) == static_cast<ssize_t>(sizeof result) ? 0 : 1);
  }
  close(fds[1]);
  Result result{};
  const bool read_ok = read(fds[0], &result, sizeof result) == static_cast<ssize_t>(sizeof result);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(read_ok);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  return result;
}

}  // namespace convsim::test
