// What the MySQL/MariaDB and PostgreSQL clients (common/mysql_conn.h, common/pg_conn.h)
// share: result rows by column name, number parsing, and the failure of a database call.
#pragma once

#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "common/result.h"

namespace failover {

// One result row by column name; nullopt is SQL NULL.
using SqlRow = std::map<std::string, std::optional<std::string>>;

// Parses a whole decimal number (optionally signed, optionally with a fraction); nullopt
// for NULL or anything else.
std::optional<double> SqlNumber(const std::optional<std::string>& value);

// The value of the first of `names` that the row has (nullopt when NULL or none is there):
// servers name the same column differently (Replica_IO_Running / Slave_IO_Running).
std::optional<std::string> SqlColumn(const SqlRow& row, std::initializer_list<const char*> names);

// `s` in single quotes, ' and \ escaped with a backslash: a MySQL/MariaDB string literal
// (also for values the server itself returned, GTID positions and binlog file names) and
// a libpq conninfo value.
std::string BackslashQuote(const std::string& s);

// A value's text, "" for NULL.
inline std::string SqlText(const std::optional<std::string>& value) {
  return value ? *value : std::string();
}

// Why a database call failed. `reason` is one of: connection_refused, timeout,
// connect_failed, resolve, connection_reset, auth_failed, query_failed, error.
// `detail` names the server (host:port) and carries the server's message, never a password.
struct SqlFailure {
  SqlFailure() = default;
  SqlFailure(std::string r, std::string d, bool broken = true)
      : reason(std::move(r)), detail(std::move(d)), connection_broken(broken) {}

  std::string reason;
  std::string detail;
  bool connection_broken = true;  // the connection cannot be used again
  unsigned code = 0;              // the client library's / server's error number, if any
  std::string sqlstate;           // PostgreSQL's SQLSTATE, if any

  // No session could be established: refused, no route, unknown host, or no answer to
  // the handshake in time (a hung server). Not: the server refused the credentials.
  bool unreachable() const { return connect_phase && reason != "auth_failed" && reason != "error"; }
  bool connect_phase = false;  // failed while connecting
};

// Result<T> with a SqlFailure instead of an Error.
template <typename T>
struct SqlOutcome {
  std::optional<T> value;
  SqlFailure failure;
  SqlOutcome() = default;
  SqlOutcome(T v) : value(std::move(v)) {}             // NOLINT: implicit like Result
  SqlOutcome(SqlFailure f) : failure(std::move(f)) {}  // NOLINT
  explicit operator bool() const { return value.has_value(); }
  T& operator*() { return *value; }
  T* operator->() { return &*value; }
  const SqlFailure& error() const { return failure; }
};

// Where a non-blocking database call stands (common/mysql_conn.h MysqlAsyncConn,
// common/pg_conn.h PgAsyncConn): finished, or waiting until `fd` is readable and/or
// writable. The caller's event loop waits; the call itself never blocks.
struct SqlWait {
  bool done = true;
  int fd = -1;
  bool read = false;
  bool write = false;

  static SqlWait Done() { return {}; }
  static SqlWait On(int fd, bool read, bool write) { return {false, fd, read, write}; }
};

// The first line of a server message, without a "ERROR:  " / "FATAL:  " prefix.
std::string SqlFirstLine(const char* message);

}  // namespace failover
