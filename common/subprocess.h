// Runs a program and waits for it, bounded by a deadline: argv without a shell, stdin from
// /dev/null, nothing of the caller's file descriptors or signal handling inherited, the
// output captured (up to a limit), and at the deadline or on cancellation the program's
// whole process group killed. The exec step (actuator/steps/exec.cc) and the database
// steps' local programs (actuator/db/program.cc) run through it.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"

namespace failover {

// An owned file descriptor: closed when it goes out of scope (or at Close()); -1 when
// empty.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Close(); }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      Close();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Close();

 private:
  int fd_ = -1;
};

// A pipe, both ends close-on-exec. False (errno set) when the system has none to give.
bool MakePipe(Fd& read_end, Fd& write_end);

struct SubprocessSpec {
  std::vector<std::string> argv;    // argv[0] is the program; no NUL bytes anywhere
  bool search_path = false;         // argv[0] looked up in PATH; else a path as given
  std::vector<std::string> env;     // the child's whole environment, "NAME=value" each
  bool merge_stderr = false;        // stderr into stdout's pipe (one interleaved output)
  size_t output_limit = 4096;       // bytes of stdout kept
  bool keep_tail = true;            // the last output_limit bytes are kept; else the first
  size_t stderr_tail = 2048;        // the last bytes of stderr kept (when not merged)
  MonoTime deadline;                // the program's process group is killed then
  const Clock* clock = nullptr;     // what the deadline is measured on; nullptr: SystemClock
  std::function<bool()> cancelled;  // checked at least every 100 ms; true kills the program
};

struct SubprocessResult {
  bool started = false;  // false: could not be run at all; `error` says why
  std::string error;     // "pipe: ...", "fork: ...", or "<argv[0]>: <exec's error>"
  int exec_errno = 0;    // non-zero: the exec itself failed with this errno
  pid_t pid = -1;
  bool timed_out = false;  // killed (SIGKILL, whole process group) at the deadline
  bool cancelled = false;  // killed (likewise) because `cancelled` returned true
  bool exited = false;     // ended by exit(): exit_code is valid
  int exit_code = -1;
  int signal = 0;           // ended by this signal (SIGKILL when timed out or cancelled)
  std::string output;       // stdout (and stderr when merged), at most output_limit bytes
  size_t output_bytes = 0;  // all the bytes the program wrote there
  std::string err;          // the last stderr_tail bytes of stderr (when not merged)

  bool output_truncated() const { return output_bytes > output.size(); }
  bool ok() const { return started && exited && exit_code == 0 && !timed_out && !cancelled; }
};

// Starts the program in its own session (so its process group is its own) and waits for
// it to end, the deadline or cancellation. A program that exits is done: output its
// children keep writing after it exited is not waited for.
SubprocessResult RunSubprocess(const SubprocessSpec& spec);

}  // namespace failover
