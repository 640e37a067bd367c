// Runs one of the project's binaries as a child process, with its stdout and stderr
// captured to files, so tests exercise exactly what an operator runs.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace failover::testing {

// A process that is gone or a zombie nobody reaped yet (it is dead either way).
bool ProcessDead(pid_t pid);

class Subprocess {
 public:
  // Starts argv[0] (a path) with the given arguments; output goes to files in `dir`.
  Subprocess(std::vector<std::string> argv, const std::string& dir);
  ~Subprocess();  // SIGKILLs the child if it still runs
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  void Signal(int sig) const;
  // Waits for exit (up to a safety limit); returns the exit status, or -signal.
  std::optional<int> Wait(int limit_seconds = 30);
  bool Running();
  std::string Stdout() const;
  std::string Stderr() const;

  // Runs to completion and returns {exit status, stdout, stderr}.
  struct Output {
    int status;
    std::string out;
    std::string err;
  };
  static Output Run(std::vector<std::string> argv, const std::string& dir);

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string out_path_, err_path_;
};

// Waits (up to `limit`) for the "listening" log line of one of this tree's daemons and
// returns its port on 127.0.0.1: 0 when the process exited first or the line never came.
int WaitForListeningPort(Subprocess& p, std::chrono::milliseconds limit = std::chrono::seconds(20));

// One of this tree's daemons (e.g. "failover_exporter") on a config file, listening on
// 127.0.0.1:0; a daemon that does not start fails the test.
class Daemon {
 public:
  Daemon(const std::string& binary, const std::string& config_path, const std::string& dir);
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string url() const { return "http://" + address(); }
  std::string Log() const { return process_.Stderr(); }

 private:
  Subprocess process_;
  int port_ = 0;
};

// Path of a binary built by this tree, e.g. Binary("failover_exporter").
std::string Binary(const std::string& name);

}  // namespace failover::testing
