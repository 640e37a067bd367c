// Real servers on loopback for integration tests: the C++ side of scripts/stack (see
// docs/stack.md). One stack per test process, in a fresh temporary state directory,
// started lazily by the first Stack::Get and stopped with `scripts/stack stop --clean`
// when the process exits. A watcher process (detached, so it outlives a crash, an abort
// or a ctest timeout kill) runs the same cleanup if the test process dies without it.
//
//   auto& stack = Stack::Get({"mariadb"});
//   stack.Env("MARIADB_PRIMARY_ADDR");                       // "127.0.0.1:23130"
//   stack.Shell("mariadb -h127.0.0.1 -P${MARIADB_PRIMARY_ADDR#*:} ...", &out);
#pragma once

#include <sys/types.h>

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "tests/support/temp_dir.h"

namespace failover::testing {

// Runs `cmd` with /bin/sh -c. Its stdout goes to *out (when not null), its stderr to the
// test's stderr. Returns the exit status, 128 + signal number when killed, -1 when it
// could not be run.
int RunShell(const std::string& cmd, std::string* out = nullptr);

class Stack {
 public:
  // The process-wide stack with at least `components` running (powerdns, bind,
  // alertmanager, prometheus, mariadb, postgres, nginx, etcd, redis; empty = all). Starts what is
  // missing; throws (failing the current test with the script's stderr) when that fails. Note that
  // Prometheus points at Alertmanager only if Alertmanager runs when Prometheus starts:
  // ask for both in one call.
  static Stack& Get(std::vector<std::string> components);

  // Value of an exported name (e.g. PDNS_API_URL); "" and a test failure if absent.
  std::string Env(const std::string& name) const;
  bool Has(const std::string& name) const;
  std::map<std::string, std::string> Exports() const;
  // The state directory ($FAILOVER_STACK_DIR).
  std::string Dir() const;

  // Runs `scripts/stack ARGS...` on this stack (e.g. {"region-down", "127.0.0.2"}).
  int Run(const std::vector<std::string>& args, std::string* out = nullptr) const;
  // RunShell with every export of this stack in the command's environment.
  int Shell(const std::string& cmd, std::string* out = nullptr) const;

  // Parses `export NAME=value` lines as printed by scripts/stack (values may be
  // single-quoted or backslash-escaped). Other lines are ignored.
  static std::map<std::string, std::string> ParseExports(const std::string& text);

  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;
  ~Stack();

 private:
  Stack();
  void Ensure(const std::vector<std::string>& components);
  void StartWatcher();
  void Stop();

  mutable std::mutex mu_;
  pid_t owner_pid_;
  std::string dir_;  // state dir, removed by `stop --clean`
  TempDir logs_;     // the script's stdout/stderr (not in dir_: the script wants it empty)
  std::set<std::string> started_;
  std::map<std::string, std::string> failed_;  // component -> error message
  std::map<std::string, std::string> exports_;
  int watcher_fd_ = -1;
};

}  // namespace failover::testing
