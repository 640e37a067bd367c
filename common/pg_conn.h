// A connection to a PostgreSQL server (libpq, non-blocking underneath so every call is
// bounded by a deadline), shared by the exporter's `postgres:` probe and the actuator's
// `postgres:` databases.
#pragma once

#include <optional>
#include <string>
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

}  // namespace failover
