#include "common/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace failover {

void Fd::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool MakePipe(Fd& read_end, Fd& write_end) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return false;
  read_end = Fd(p[0]);
  write_end = Fd(p[1]);
  return true;
}

namespace {

constexpr int kPollSliceMs = 100;  // cancellation is checked at least this often

std::string SysError(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

// One captured stream: the bytes kept (head or tail) and how many there were.
struct Capture {
  Fd fd;
  size_t limit = 0;
  bool keep_tail = true;
  bool eof = false;
  std::string kept;
  size_t total = 0;

  // Reads once; false when nothing was read (end of file, an error, or nothing there).
  bool ReadSome() {
    char buf[16384];
    ssize_t r = read(fd.get(), buf, sizeof buf);
    if (r > 0) {
      size_t n = static_cast<size_t>(r);
      total += n;
      if (keep_tail) {
        kept.append(buf, n);
        if (kept.size() > limit) kept.erase(0, kept.size() - limit);
      } else if (kept.size() < limit) {
        kept.append(buf, std::min(n, limit - kept.size()));
      }
      return true;
    }
    if (r == 0 || (errno != EINTR && errno != EAGAIN)) eof = true;
    return false;
  }

  // What is in the pipe now, without waiting for writers that are still alive.
  void Drain() {
    if (eof || !fd.valid()) return;
    fcntl(fd.get(), F_SETFL, fcntl(fd.get(), F_GETFL) | O_NONBLOCK);
    while (!eof && ReadSome()) {
    }
  }
};

}  // namespace

SubprocessResult RunSubprocess(const SubprocessSpec& spec) {
  SubprocessResult res;
  if (spec.argv.empty()) {
    res.error = "empty command";
    return res;
  }
  const Clock& clock = spec.clock != nullptr ? *spec.clock : SystemClock::Get();
  auto fail = [&res](const char* what) {
    res.error = SysError(what);
    return res;
  };

  // Everything the child touches is prepared before fork(): after it, only
  // async-signal-safe calls.
  std::vector<std::string> argv = spec.argv, env = spec.env;
  std::vector<char*> cargv, cenv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  for (auto& e : env) cenv.push_back(e.data());
  cenv.push_back(nullptr);

  Capture out, err;
  out.limit = spec.output_limit;
  out.keep_tail = spec.keep_tail;
  err.limit = spec.stderr_tail;
  Fd out_w, err_w, exec_r, exec_w;
  if (!MakePipe(out.fd, out_w)) return fail("pipe");
  if (!spec.merge_stderr && !MakePipe(err.fd, err_w)) return fail("pipe");
  if (!MakePipe(exec_r, exec_w)) return fail("pipe");
  Fd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!devnull.valid()) return fail("/dev/null");

  pid_t pid = fork();
  if (pid < 0) return fail("fork");
  if (pid == 0) {
    // Child: own session and process group, so the whole tree can be killed at once.
    setsid();
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &dfl, nullptr);  // ignored ones too
    dup2(devnull.get(), 0);
    dup2(out_w.get(), 1);
    dup2(spec.merge_stderr ? out_w.get() : err_w.get(), 2);
    // Nothing of the caller's (sockets, the journal) leaks into the program.
    if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
      for (int fd = 3; fd < 4096; ++fd) fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    if (spec.search_path) {
      execvpe(cargv[0], cargv.data(), cenv.data());
    } else {
      execve(cargv[0], cargv.data(), cenv.data());
    }
    int e = errno;
    ssize_t ignored = write(exec_w.get(), &e, sizeof e);
    (void)ignored;
    _exit(127);
  }
  res.pid = pid;
  out_w.Close();
  err_w.Close();
  exec_w.Close();
  devnull.Close();

  // The exec pipe closes at a successful exec (close-on-exec) or carries its errno.
  int exec_errno = 0;
  ssize_t n;
  do {
    n = read(exec_r.get(), &exec_errno, sizeof exec_errno);
  } while (n < 0 && errno == EINTR);
  exec_r.Close();
  if (n == static_cast<ssize_t>(sizeof exec_errno)) {
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    res.exec_errno = exec_errno;
    res.error = spec.argv[0] + ": " + std::strerror(exec_errno);
    return res;
  }
  res.started = true;

  // Via syscall(): glibc 2.36's <sys/pidfd.h> lacks extern "C".
  Fd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));  // -1 on old kernels: polled
  int wstatus = 0;
  bool reaped = false;
  auto reap = [&](bool block) {
    if (reaped) return;
    int r;
    do {
      r = waitpid(pid, &wstatus, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == pid) reaped = true;
  };
  auto kill_group = [&]() {
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    reap(true);
  };

  while (true) {
    reap(false);
    if (reaped) {
      // Whatever the program wrote is in the pipes; a background child it left behind
      // may keep them open, so read only what is there.
      out.Drain();
      err.Drain();
      break;
    }
    MonoTime now = clock.Now();
    if (now >= spec.deadline) {
      res.timed_out = true;
      kill_group();
      break;
    }
    if (spec.cancelled && spec.cancelled()) {
      res.cancelled = true;
      kill_group();
      break;
    }
    auto remaining =
        std::chrono::duration_cast<std::chrono::milliseconds>(spec.deadline - now).count() + 1;
    int wait_ms = static_cast<int>(std::min<long long>(remaining, kPollSliceMs));
    pollfd fds[3];
    Capture* of[3] = {nullptr, nullptr, nullptr};
    nfds_t nfds = 0;
    for (Capture* c : {&out, &err}) {
      if (c->eof || !c->fd.valid()) continue;
      of[nfds] = c;
      fds[nfds++] = {c->fd.get(), POLLIN, 0};
    }
    bool pipes_open = nfds > 0;
    if (pidfd.valid()) {
      fds[nfds++] = {pidfd.get(), POLLIN, 0};
    } else if (!pipes_open) {
      wait_ms = std::min(wait_ms, 10);  // no pidfd: poll for the exit
    }
    int r = poll(fds, nfds, wait_ms);
    for (nfds_t i = 0; r > 0 && i < nfds; ++i) {
      if (of[i] != nullptr && (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        of[i]->ReadSome();
      }
    }
  }

  res.output = std::move(out.kept);
  res.output_bytes = out.total;
  res.err = std::move(err.kept);
  if (WIFEXITED(wstatus)) {
    res.exited = true;
    res.exit_code = WEXITSTATUS(wstatus);
  } else if (WIFSIGNALED(wstatus)) {
    res.signal = WTERMSIG(wstatus);
  }
  return res;
}

}  // namespace failover
