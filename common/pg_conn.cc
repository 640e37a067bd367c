#include "common/pg_conn.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <variant>

#include "common/config_fields.h"

namespace failover {
namespace {

std::string ConnectReason(const std::string& message) {
  auto has = [&](const char* part) { return message.find(part) != std::string::npos; };
  if (has("Connection refused")) return "connection_refused";
  if (has("timeout expired") || has("timed out")) return "timeout";
  if (has("password authentication failed") || has("no password supplied") ||
      has("authentication failed") || has("no pg_hba.conf entry")) {
    return "auth_failed";
  }
  if (has("could not translate host name")) return "resolve";
  return "connect_failed";
}

// Adds one result of a statement to `results` (rows, or an empty list for a statement
// without rows), or keeps its error in `query_error` when it is the first one.
void CollectResult(PGconn* conn, PGresult* res, const std::string& where,
                   std::vector<std::vector<SqlRow>>& results,
                   std::optional<SqlFailure>& query_error) {
  ExecStatusType status = PQresultStatus(res);
  if (status == PGRES_TUPLES_OK) {
    std::vector<SqlRow> rows;
    int nf = PQnfields(res);
    for (int r = 0; r < PQntuples(res); ++r) {
      SqlRow row;
      for (int c = 0; c < nf; ++c) {
        if (PQgetisnull(res, r, c)) {
          row[PQfname(res, c)] = std::nullopt;
        } else {
          row[PQfname(res, c)] = std::string(PQgetvalue(res, r, c), PQgetlength(res, r, c));
        }
      }
      rows.push_back(std::move(row));
    }
    results.push_back(std::move(rows));
  } else if (status == PGRES_COMMAND_OK) {
    results.emplace_back();
  } else if (!query_error) {
    SqlFailure f{"query_failed", where + ": " + SqlFirstLine(PQresultErrorMessage(res)),
                 PQstatus(conn) == CONNECTION_BAD};
    const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (state != nullptr) f.sqlstate = state;
    query_error = f;
  }
}

// PQconnectStartParams with `keys`/`values` and the target's password (resolved now, wiped
// once libpq has its copy). A failure when the password cannot be read or libpq is out of
// memory.
std::variant<PGconn*, SqlFailure> StartConnecting(const PgTarget& target,
                                                  std::vector<const char*> keys,
                                                  std::vector<const char*> values) {
  std::string password;
  if (target.password) {
    auto pw = target.password->Resolve();
    if (!pw) return SqlFailure{"error", "password: " + pw.error().message};
    password = std::move(*pw);
    keys.push_back("password");
    values.push_back(password.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* conn = PQconnectStartParams(keys.data(), values.data(), /*expand_dbname=*/1);
  std::fill(password.begin(), password.end(), '\0');
  if (conn == nullptr) return SqlFailure{"error", "libpq: out of memory"};
  return conn;
}

}  // namespace

Result<PgTarget> PgTargetFromYaml(const YamlNode& node) {
  PgTarget t;
  auto ci = RequireField<std::string>(node, "conninfo");
  if (!ci) return ci.error();
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(ci->value.c_str(), &err);
  if (opts == nullptr) {
    std::string msg = err != nullptr ? SqlFirstLine(err) : "out of memory";
    if (err != nullptr) PQfreemem(err);
    return ci->node.Fail("invalid conninfo: " + msg);
  }
  std::string host, port, password;
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    std::string k = o->keyword;
    if (k == "host" || (k == "hostaddr" && host.empty())) host = o->val;
    if (k == "port") port = o->val;
    if (k == "password") password = o->val;
  }
  PQconninfoFree(opts);
  if (!password.empty()) {
    return ci->node.Fail(
        "conninfo contains a password: use password_file (or password_env) instead");
  }
  t.conninfo = ci->value;
  t.where = (host.empty() ? "localhost" : host) + (port.empty() ? "" : ":" + port);
  auto pw = SecretRef::FromYaml(node, "password");
  if (!pw) return pw.error();
  t.password = *pw;
  return t;
}

bool PgConn::WaitSocket(short events, MonoTime deadline) {
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) return false;
    pollfd p{PQsocket(conn_), events, 0};
    int n = poll(&p, 1, static_cast<int>(std::min<long long>(left, 60'000)) + 1);
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return true;  // let libpq report the error
  }
}

SqlFailure PgConn::TimeoutFailure(const char* doing) const {
  return {"timeout", where_ + ": no answer " + doing + " within " + FormatDuration(timeout_)};
}

SqlOutcome<bool> PgConn::Connect(const PgTarget& target, const std::string& application_name,
                                 MonoTime deadline, Duration timeout) {
  Close();
  where_ = target.where;
  timeout_ = timeout;
  auto started = StartConnecting(target, {"fallback_application_name", "dbname"},
                                 {application_name.c_str(), target.conninfo.c_str()});
  if (auto* f = std::get_if<SqlFailure>(&started)) return *f;
  conn_ = std::get<PGconn*>(started);
  auto fail = [&](SqlFailure f) {
    f.connect_phase = true;
    Close();
    return f;
  };
  if (PQstatus(conn_) == CONNECTION_BAD) {
    std::string msg = SqlFirstLine(PQerrorMessage(conn_));
    return fail({ConnectReason(msg), where_ + ": " + msg});
  }
  PostgresPollingStatusType st = PGRES_POLLING_WRITING;
  while (st != PGRES_POLLING_OK) {
    if (st == PGRES_POLLING_FAILED) {
      std::string msg = SqlFirstLine(PQerrorMessage(conn_));
      return fail({ConnectReason(msg), where_ + ": " + msg});
    }
    if (!WaitSocket(st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline)) {
      return fail(TimeoutFailure("while connecting"));
    }
    st = PQconnectPoll(conn_);
  }
  PQsetnonblocking(conn_, 1);
  return true;
}

SqlOutcome<std::vector<std::vector<SqlRow>>> PgConn::Exec(const std::string& sql,
                                                          MonoTime deadline) {
  if (conn_ == nullptr) return SqlFailure{"error", where_ + ": not connected"};
  if (PQsendQuery(conn_, sql.c_str()) == 0) {
    return SqlFailure{"connection_reset", where_ + ": " + SqlFirstLine(PQerrorMessage(conn_))};
  }
  while (true) {
    int f = PQflush(conn_);
    if (f == 0) break;
    if (f < 0) {
      return SqlFailure{"connection_reset", where_ + ": " + SqlFirstLine(PQerrorMessage(conn_))};
    }
    if (!WaitSocket(POLLOUT, deadline)) return TimeoutFailure("to the query");
  }
  std::vector<std::vector<SqlRow>> results;
  std::optional<SqlFailure> query_error;
  while (true) {
    if (PQconsumeInput(conn_) == 0) {
      return SqlFailure{"connection_reset", where_ + ": " + SqlFirstLine(PQerrorMessage(conn_))};
    }
    while (PQisBusy(conn_) == 0) {
      PGresult* res = PQgetResult(conn_);
      if (res == nullptr) {
        if (query_error) return *query_error;
        return results;
      }
      CollectResult(conn_, res, where_, results, query_error);
      PQclear(res);
    }
    if (!WaitSocket(POLLIN, deadline)) return TimeoutFailure("to the query");
  }
}

void PgConn::Close() {
  if (conn_ != nullptr) PQfinish(conn_);
  conn_ = nullptr;
}

// ---- PgAsyncConn -------------------------------------------------------------------------

SqlWait PgAsyncConn::StartConnect(
    const PgTarget& target, const std::string& application_name,
    const std::vector<std::pair<std::string, std::string>>& overrides) {
  Close();
  failure_.reset();
  results_.clear();
  where_ = target.where;
  std::vector<const char*> keys = {"fallback_application_name", "dbname"};
  std::vector<const char*> values = {application_name.c_str(), target.conninfo.c_str()};
  // After dbname (the expanded conninfo): libpq keeps the last value of a keyword.
  for (const auto& [key, value] : overrides) {
    keys.push_back(key.c_str());
    values.push_back(value.c_str());
  }
  auto started = StartConnecting(target, std::move(keys), std::move(values));
  if (auto* f = std::get_if<SqlFailure>(&started)) return Finish(*f);
  conn_ = std::get<PGconn*>(started);
  op_ = Op::kConnect;
  if (PQstatus(conn_) == CONNECTION_BAD) {
    std::string msg = SqlFirstLine(PQerrorMessage(conn_));
    return Finish(SqlFailure{ConnectReason(msg), where_ + ": " + msg});
  }
  // As libpq asks: wait until writable before the first PQconnectPoll.
  poll_ = PGRES_POLLING_WRITING;
  return SqlWait::On(PQsocket(conn_), false, true);
}

SqlWait PgAsyncConn::StartExec(const std::string& sql) {
  failure_.reset();
  results_.clear();
  query_error_.reset();
  if (conn_ == nullptr || op_ != Op::kNone) {
    failure_ = SqlFailure{"error", where_ + ": not connected", false};
    return SqlWait::Done();
  }
  if (PQsendQuery(conn_, sql.c_str()) == 0) {
    return Finish(
        SqlFailure{"connection_reset", where_ + ": " + SqlFirstLine(PQerrorMessage(conn_))});
  }
  op_ = Op::kSend;
  return Continue();
}

SqlWait PgAsyncConn::Continue() {
  switch (op_) {
    case Op::kNone:
      return SqlWait::Done();
    case Op::kConnect: {
      auto st = PQconnectPoll(conn_);
      poll_ = st;
      if (st == PGRES_POLLING_OK) {
        PQsetnonblocking(conn_, 1);
        return Finish(std::nullopt);
      }
      if (st == PGRES_POLLING_FAILED) {
        std::string msg = SqlFirstLine(PQerrorMessage(conn_));
        return Finish(SqlFailure{ConnectReason(msg), where_ + ": " + msg});
      }
      // The socket may change while libpq tries the next address: ask each time.
      return SqlWait::On(PQsocket(conn_), st == PGRES_POLLING_READING, st != PGRES_POLLING_READING);
    }
    case Op::kSend: {
      // While the query is still being sent, the server may already answer (an error):
      // take that in, or the readable socket wakes the loop again and again.
      if (PQconsumeInput(conn_) == 0) {
        return Finish(
            SqlFailure{"connection_reset", where_ + ": " + SqlFirstLine(PQerrorMessage(conn_))});
      }
      int f = PQflush(conn_);
      if (f < 0) {
        return Finish(
            SqlFailure{"connection_reset", where_ + ": " + SqlFirstLine(PQerrorMessage(conn_))});
      }
      if (f > 0) return SqlWait::On(PQsocket(conn_), true, true);
      op_ = Op::kReceive;
      [[fallthrough]];
    }
    case Op::kReceive:
      if (PQconsumeInput(conn_) == 0) {
        return Finish(
            SqlFailure{"connection_reset", where_ + ": " + SqlFirstLine(PQerrorMessage(conn_))});
      }
      while (PQisBusy(conn_) == 0) {
        PGresult* res = PQgetResult(conn_);
        if (res == nullptr) return Finish(query_error_);
        CollectResult(conn_, res, where_, results_, query_error_);
        PQclear(res);
      }
      return SqlWait::On(PQsocket(conn_), true, false);
  }
  return SqlWait::Done();
}

SqlWait PgAsyncConn::Finish(std::optional<SqlFailure> failure) {
  bool connecting = op_ == Op::kConnect;
  op_ = Op::kNone;
  failure_ = std::move(failure);
  if (failure_) {
    if (connecting) failure_->connect_phase = true;
    if (failure_->connection_broken) Close();
  }
  return SqlWait::Done();
}

void PgAsyncConn::Close() {
  // PQfinish sends a Terminate message on the non-blocking socket: it never waits.
  if (conn_ != nullptr) PQfinish(conn_);
  conn_ = nullptr;
  op_ = Op::kNone;
}

}  // namespace failover
