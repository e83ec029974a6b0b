// SPDX-License-Identifier: MIT
// bench_spawn RESULT_FILE TIMEOUT_S PROGRAM [ARGS...]
//
// Runs PROGRAM (stdin, stdout, stderr and environment inherited), waits for
// it and writes "<exit status> <wall µs> <max RSS KiB> <user+sys µs>\n" to
// RESULT_FILE. The exit status is 128+N when killed by signal N, -1 when
// killed after TIMEOUT_S seconds.
//
// Why a separate program: Linux charges a child's ru_maxrss with the high-
// water RSS of the memory image it exec'd from. Spawned straight from
// bench_process (tens of MB after parsing 10,000 posts), every child would
// report at least that. This launcher is a few hundred KiB, so wait4()'s
// ru_maxrss here is the child's own.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

extern char** environ;

namespace {

volatile pid_t child = -1;
volatile sig_atomic_t timed_out = 0;

void on_alarm(int) {
  timed_out = 1;
  if (child > 0) ::kill(child, SIGKILL);
}

long long now_us() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<long long>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fputs("usage: bench_spawn RESULT_FILE TIMEOUT_S PROGRAM [ARGS...]\n", stderr);
    return 125;
  }
  const unsigned timeout = static_cast<unsigned>(std::strtoul(argv[2], nullptr, 10));
  struct sigaction sa {};
  sa.sa_handler = on_alarm;
  ::sigaction(SIGALRM, &sa, nullptr);

  const long long t0 = now_us();
  const pid_t pid = ::fork();
  if (pid < 0) return 126;
  if (pid == 0) {
    ::execve(argv[3], argv + 3, environ);
    ::_exit(127);
  }
  child = pid;
  if (timeout > 0) ::alarm(timeout);
  int status = 0;
  rusage ru{};
  while (::wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
  }
  const long long wall = now_us() - t0;
  ::alarm(0);

  int code = -1;
  if (!timed_out) {
    if (WIFEXITED(status)) code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) code = 128 + WTERMSIG(status);
  }
  const long long cpu = (static_cast<long long>(ru.ru_utime.tv_sec) + ru.ru_stime.tv_sec) * 1'000'000 +
                        ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
  std::FILE* out = std::fopen(argv[1], "w");
  if (!out) return 126;
  std::fprintf(out, "%d %lld %ld %lld\n", code, wall, ru.ru_maxrss, cpu);
  return std::fclose(out) == 0 ? 0 : 126;
}
