// Connections to a MySQL 8 / MariaDB server (libmariadb). MysqlConn blocks (the actuator's
// `mysql:` databases; every call is bounded: connect, read and write timeouts come from the
// caller); MysqlAsyncConn never blocks (the exporter's `mysql:` probe, on its event loop).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/duration.h"
#include "common/secret.h"
#include "common/sql.h"
#include "common/yaml.h"

typedef struct st_mysql MYSQL;
typedef struct st_mysql_res MYSQL_RES;

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

// The same client, non-blocking (libmariadb's _start/_cont calls with MYSQL_OPT_NONBLOCK):
// every call returns at once, saying what the socket must become before Continue() goes
// on. The caller keeps the deadline: Close() abandons an operation in progress without
// waiting for the server. One operation at a time.
class MysqlAsyncConn {
 public:
  MysqlAsyncConn() = default;
  ~MysqlAsyncConn() { Close(); }
  MysqlAsyncConn(const MysqlAsyncConn&) = delete;
  MysqlAsyncConn& operator=(const MysqlAsyncConn&) = delete;

  // Starts connecting (closing any previous connection) to `connect_host`, a numeric
  // address the caller resolved (unused with a unix socket); the rest from `target`.
  SqlWait StartConnect(const MysqlTarget& target, const std::string& connect_host);
  // Starts one statement and the reading of its result (connected only).
  SqlWait StartQuery(const std::string& sql);
  // Goes on with the operation in progress once the socket is readable and/or writable.
  SqlWait Continue(bool readable, bool writable);

  // The finished operation's failure (a failed connect, or a broken connection, is closed);
  // nullopt when it succeeded.
  const std::optional<SqlFailure>& failure() const { return failure_; }
  // The finished query's rows (none for a statement without a result set).
  std::vector<SqlRow>& rows() { return rows_; }

  bool connected() const { return conn_ != nullptr && connected_; }
  bool busy() const { return op_ != Op::kNone; }
  // Abandons an operation in progress and closes, never waiting for the server.
  void Close();

 private:
  enum class Op { kNone, kConnect, kQuery, kStore };
  // Maps a _start/_cont status to what to wait for, or finishes the operation.
  SqlWait After(int status);
  void Fail(const std::string& doing);

  MYSQL* conn_ = nullptr;
  bool connected_ = false;
  Op op_ = Op::kNone;
  std::string address_;
  // What libmariadb reads while a call is suspended: kept until the call finishes.
  std::string host_, user_, password_, socket_, sql_;
  int port_ = 0;
  MYSQL* ret_conn_ = nullptr;
  int ret_int_ = 0;
  MYSQL_RES* ret_res_ = nullptr;
  std::optional<SqlFailure> failure_;
  std::vector<SqlRow> rows_;
};

}  // namespace failover
