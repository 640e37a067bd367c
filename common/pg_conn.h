// Connections to a PostgreSQL server (libpq). PgConn waits on its socket itself, each call
// bounded by a deadline (the actuator's `postgres:` databases); PgAsyncConn never waits
// and leaves that to the caller's event loop (the exporter's `postgres:` probe).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/secret.h"
#include "common/sql.h"
#include "common/yaml.h"

typedef struct pg_conn PGconn;

namespace failover {

// From the config keys `conninfo` (libpq keyword/value string or URI, without a password)
// and `password` / `password_file` / `password_env`.
struct PgTarget {
  std::string conninfo;
  std::string where;  // host:port from the conninfo, for messages
  std::optional<SecretRef> password;
};

// Reads conninfo and the password keys from `node` (the caller checks the allowed keys).
// A conninfo that libpq cannot parse, or that holds a password, is refused.
Result<PgTarget> PgTargetFromYaml(const YamlNode& node);

class PgConn {
 public:
  PgConn() = default;
  ~PgConn() { Close(); }
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  // Connects (closing any previous connection), giving up at `deadline`. `timeout` is
  // only named in the timeout message.
  SqlOutcome<bool> Connect(const PgTarget& target, const std::string& application_name,
                           MonoTime deadline, Duration timeout);
  // Sends `sql` (one or more statements) and collects one row list per statement (empty
  // for statements without rows). The first failing statement's error is returned.
  SqlOutcome<std::vector<std::vector<SqlRow>>> Exec(const std::string& sql, MonoTime deadline);
  bool connected() const { return conn_ != nullptr; }
  void Close();

 private:
  bool WaitSocket(short events, MonoTime deadline);
  SqlFailure TimeoutFailure(const char* doing) const;

  PGconn* conn_ = nullptr;
  std::string where_;
  Duration timeout_{0};
};

// The same client without any waiting: every call returns at once, saying what the socket
// must become before Continue() goes on. The caller keeps the deadline (and closes at it).
// One operation at a time.
class PgAsyncConn {
 public:
  PgAsyncConn() = default;
  ~PgAsyncConn() { Close(); }
  PgAsyncConn(const PgAsyncConn&) = delete;
  PgAsyncConn& operator=(const PgAsyncConn&) = delete;

  // Starts connecting (closing any previous connection). `overrides`: libpq keywords that
  // replace the conninfo's (e.g. host, hostaddr and port lists with the addresses the
  // caller resolved, so that libpq looks nothing up itself).
  SqlWait StartConnect(const PgTarget& target, const std::string& application_name,
                       const std::vector<std::pair<std::string, std::string>>& overrides = {});
  // Sends `sql` (one or more statements); the result is one row list per statement.
  SqlWait StartExec(const std::string& sql);
  // Goes on with the operation in progress once the socket is readable and/or writable.
  SqlWait Continue();

  const std::optional<SqlFailure>& failure() const { return failure_; }
  std::vector<std::vector<SqlRow>>& results() { return results_; }
  bool connected() const { return conn_ != nullptr && op_ != Op::kConnect; }
  bool busy() const { return op_ != Op::kNone; }
  void Close();

 private:
  enum class Op { kNone, kConnect, kSend, kReceive };
  SqlWait Finish(std::optional<SqlFailure> failure);

  PGconn* conn_ = nullptr;
  Op op_ = Op::kNone;
  int poll_ = 0;  // the last PostgresPollingStatusType while connecting
  std::string where_;
  std::optional<SqlFailure> failure_;
  std::optional<SqlFailure> query_error_;
  std::vector<std::vector<SqlRow>> results_;
};

}  // namespace failover
