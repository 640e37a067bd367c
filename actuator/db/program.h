// Runs a local program for a database step (mariadb-binlog for db_divergence, pg_ctl and
// pg_rewind for db_rejoin): argv without a shell, bounded by a deadline, stdout kept (up
// to a limit), stderr's tail kept for messages.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/clock.h"

namespace failover {

struct ProgramResult {
  bool started = false;  // false: could not be run at all (see error)
  bool timed_out = false;
  bool truncated = false;  // stdout was longer than the limit
  int exit_code = -1;      // 128 + signal when killed
  std::string out;         // stdout (at most `limit` bytes)
  std::string err;         // the last 2 KiB of stderr
  std::string error;       // why it could not be run
  bool ok() const { return started && !timed_out && exit_code == 0; }
};

// `env` is added to the current environment (overriding).
ProgramResult RunProgram(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env, MonoTime deadline,
                         size_t limit = 64u << 20);

}  // namespace failover
