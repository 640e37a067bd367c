// A blocking connection to a MySQL 8 / MariaDB server (libmariadb), shared by the
// exporter's `mysql:` probe and the actuator's `mysql:` databases. Every call is bounded:
// connect, read and write timeouts come from the caller.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/duration.h"
#include "common/secret.h"
#include "common/sql.h"
#include "common/yaml.h"

typedef struct st_mysql MYSQL;

namespace failover {

// Where and as whom to connect; from the config keys `address` (host:port or a unix socket
// path), `user`, `password` / `password_file` / `password_env`.
struct MysqlTarget {
  std::string host;  // empty with a socket
  int port = 0;
  std::string socket;   // unix socket path
  std::string address;  // as configured, for messages
  std::string user;
  std::optional<SecretRef> password;
};

// Reads address, user and the password keys from `node` (the caller checks the allowed
// keys). Errors name file:line:column and key.
Result<MysqlTarget> MysqlTargetFromYaml(const YamlNode& node);

class MysqlConn {
 public:
  MysqlConn() = default;
  ~MysqlConn() { Close(); }
  MysqlConn(const MysqlConn&) = delete;
  MysqlConn& operator=(const MysqlConn&) = delete;

  // Connects (closing any previous connection). `timeout` is the connect, read and write
  // timeout, rounded up to whole seconds (the client library's granularity), at least 1 s.
  SqlOutcome<bool> Connect(const MysqlTarget& target, Duration timeout);
  // Runs one statement; rows by column name (none for a statement without a result set).
  SqlOutcome<std::vector<SqlRow>> Query(const std::string& sql);
  bool connected() const { return conn_ != nullptr; }
  void Close();

 private:
  SqlFailure Failure(const std::string& doing) const;

  MYSQL* conn_ = nullptr;
  std::string address_;
};

}  // namespace failover
