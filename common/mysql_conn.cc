#include "common/mysql_conn.h"

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <mutex>

#include "common/config_fields.h"
#include "common/host_port.h"

namespace failover {
namespace {

void InitMysqlLibrary() {
  static std::once_flag once;
  std::call_once(once, [] { mysql_library_init(0, nullptr, nullptr); });
}

// Why a TCP connection to host:port fails right now: "refused", another strerror text,
// or "" when it succeeds (or does not finish within a second).
std::string TcpConnectError(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0 || !res) {
    return "";
  }
  std::string why;
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    int rc = connect(fd, res->ai_addr, res->ai_addrlen);
    int err = rc == 0 ? 0 : errno;
    if (err == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      err = 0;
      if (poll(&p, 1, 1000) == 1) {
        socklen_t len = sizeof err;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      }
    }
    if (err == ECONNREFUSED) {
      why = "refused";
    } else if (err != 0) {
      why = std::strerror(err);
    }
    close(fd);
  }
  freeaddrinfo(res);
  return why;
}

}  // namespace

Result<MysqlTarget> MysqlTargetFromYaml(const YamlNode& node) {
  MysqlTarget t;
  auto addr = RequireField<std::string>(node, "address");
  if (!addr) return addr.error();
  t.address = addr->value;
  if (!t.address.empty() && t.address.front() == '/') {
    t.socket = t.address;
  } else {
    auto hp = SplitHostPort(t.address);
    if (!hp) return addr->node.Fail(hp.error().message + " (or a unix socket path)");
    t.host = hp->first;
    t.port = hp->second;
  }
  auto user = RequireField<std::string>(node, "user");
  if (!user) return user.error();
  if (user->value.empty()) return user->node.Fail("user is empty");
  t.user = user->value;
  auto pw = SecretRef::FromYaml(node, "password");
  if (!pw) return pw.error();
  t.password = *pw;
  return t;
}

namespace {

// The failure of the last call on `conn`, named for `address`.
SqlFailure MysqlFailure(MYSQL* conn, const std::string& address, const std::string& doing) {
  unsigned err = mysql_errno(conn);
  std::string msg = mysql_error(conn);
  SqlFailure f;
  f.code = err;
  f.detail = address + ": " + doing + ": " + msg + " (" + std::to_string(err) + ")";
  switch (err) {
    case CR_CONN_HOST_ERROR:
    case CR_CONNECTION_ERROR:
      f.reason = msg.find("(111)") != std::string::npos   ? "connection_refused"
                 : msg.find("(110)") != std::string::npos ? "timeout"
                                                          : "connect_failed";
      break;
    case CR_UNKNOWN_HOST:
      f.reason = "resolve";
      break;
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
    case CR_SERVER_LOST_EXTENDED:
      f.reason = msg.find("timeout") != std::string::npos ? "timeout" : "connection_reset";
      break;
    case ER_ACCESS_DENIED_ERROR:
    case ER_DBACCESS_DENIED_ERROR:
      f.reason = "auth_failed";
      break;
    default:
      f.reason = err >= 2000 ? "error" : "query_failed";
      // A server-side error (1xxx) leaves the connection usable.
      f.connection_broken = err >= 2000;
  }
  return f;
}

// The rows of a stored result, by column name; frees it.
std::vector<SqlRow> TakeRows(MYSQL_RES* res) {
  unsigned n = mysql_num_fields(res);
  MYSQL_FIELD* fields = mysql_fetch_fields(res);
  std::vector<SqlRow> rows;
  while (MYSQL_ROW row = mysql_fetch_row(res)) {
    unsigned long* lengths = mysql_fetch_lengths(res);
    SqlRow r;
    for (unsigned i = 0; i < n; ++i) {
      std::string name(fields[i].name, fields[i].name_length);
      if (row[i] == nullptr) {
        r[name] = std::nullopt;
      } else {
        r[name] = std::string(row[i], lengths[i]);
      }
    }
    rows.push_back(std::move(r));
  }
  mysql_free_result(res);
  return rows;
}

}  // namespace

SqlFailure MysqlConn::Failure(const std::string& doing) const {
  return MysqlFailure(conn_, address_, doing);
}

SqlOutcome<bool> MysqlConn::Connect(const MysqlTarget& target, Duration timeout) {
  Close();
  InitMysqlLibrary();
  address_ = target.address;
  conn_ = mysql_init(nullptr);
  if (conn_ == nullptr) return SqlFailure{"error", "mysql_init failed (out of memory)"};
  unsigned secs = static_cast<unsigned>(std::max(1.0, std::ceil(ToSeconds(timeout))));
  mysql_options(conn_, MYSQL_OPT_CONNECT_TIMEOUT, &secs);
  mysql_options(conn_, MYSQL_OPT_READ_TIMEOUT, &secs);
  mysql_options(conn_, MYSQL_OPT_WRITE_TIMEOUT, &secs);
  unsigned proto = target.socket.empty() ? MYSQL_PROTOCOL_TCP : MYSQL_PROTOCOL_SOCKET;
  mysql_options(conn_, MYSQL_OPT_PROTOCOL, &proto);
  mysql_options(conn_, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  std::string password;
  if (target.password) {
    auto pw = target.password->Resolve();
    if (!pw) {
      Close();
      return SqlFailure{"error", "password: " + pw.error().message};
    }
    password = std::move(*pw);
  }
  MYSQL* ok = mysql_real_connect(conn_, target.socket.empty() ? target.host.c_str() : nullptr,
                                 target.user.c_str(), target.password ? password.c_str() : nullptr,
                                 nullptr, static_cast<unsigned>(target.port),
                                 target.socket.empty() ? nullptr : target.socket.c_str(), 0);
  if (ok == nullptr) {
    SqlFailure f = Failure("connect");
    f.connection_broken = true;
    f.connect_phase = true;
    unsigned err = mysql_errno(conn_);
    if ((err == CR_CONNECTION_ERROR || err == CR_CONN_HOST_ERROR) && target.socket.empty()) {
      // The client library reports the errno of its non-blocking connect (EINPROGRESS),
      // not why it failed: find out with a plain connect.
      if (std::string why = TcpConnectError(target.host, target.port); !why.empty()) {
        f.reason = why == "refused" ? "connection_refused" : "connect_failed";
        f.detail = target.address + ": connect: " + (why == "refused" ? "connection refused" : why);
      }
    }
    Close();
    return f;
  }
  return true;
}

SqlOutcome<std::vector<SqlRow>> MysqlConn::Query(const std::string& sql) {
  if (conn_ == nullptr) return SqlFailure{"error", address_ + ": not connected"};
  if (mysql_real_query(conn_, sql.data(), sql.size()) != 0) return Failure(sql);
  MYSQL_RES* res = mysql_store_result(conn_);
  if (res == nullptr) {
    if (mysql_field_count(conn_) != 0) return Failure(sql);
    return std::vector<SqlRow>{};  // a statement without a result set
  }
  return TakeRows(res);
}

void MysqlConn::Close() {
  if (conn_ != nullptr) mysql_close(conn_);
  conn_ = nullptr;
}

// ---- MysqlAsyncConn ----------------------------------------------------------------------

SqlWait MysqlAsyncConn::StartConnect(const MysqlTarget& target, const std::string& connect_host) {
  Close();
  InitMysqlLibrary();
  failure_.reset();
  rows_.clear();
  address_ = target.address;
  conn_ = mysql_init(nullptr);
  if (conn_ == nullptr) {
    failure_ = SqlFailure{"error", "mysql_init failed (out of memory)"};
    return SqlWait::Done();
  }
  // No client-side timeouts: the caller's deadline is the only one, and it closes.
  mysql_options(conn_, MYSQL_OPT_NONBLOCK, nullptr);
  unsigned proto = target.socket.empty() ? MYSQL_PROTOCOL_TCP : MYSQL_PROTOCOL_SOCKET;
  mysql_options(conn_, MYSQL_OPT_PROTOCOL, &proto);
  mysql_options(conn_, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  password_.clear();
  if (target.password) {
    auto pw = target.password->Resolve();
    if (!pw) {
      Close();
      failure_ = SqlFailure{"error", "password: " + pw.error().message};
      failure_->connect_phase = true;
      return SqlWait::Done();
    }
    password_ = std::move(*pw);
  }
  host_ = connect_host;
  user_ = target.user;
  socket_ = target.socket;
  port_ = target.port;
  op_ = Op::kConnect;
  int status = mysql_real_connect_start(
      &ret_conn_, conn_, socket_.empty() ? host_.c_str() : nullptr, user_.c_str(),
      target.password ? password_.c_str() : nullptr, nullptr, static_cast<unsigned>(port_),
      socket_.empty() ? nullptr : socket_.c_str(), 0);
  return After(status);
}

SqlWait MysqlAsyncConn::StartQuery(const std::string& sql) {
  failure_.reset();
  rows_.clear();
  if (!connected() || busy()) {
    failure_ = SqlFailure{"error", address_ + ": not connected", false};
    return SqlWait::Done();
  }
  sql_ = sql;
  op_ = Op::kQuery;
  return After(mysql_real_query_start(&ret_int_, conn_, sql_.data(), sql_.size()));
}

SqlWait MysqlAsyncConn::Continue(bool readable, bool writable) {
  int ready = (readable ? MYSQL_WAIT_READ : 0) | (writable ? MYSQL_WAIT_WRITE : 0);
  switch (op_) {
    case Op::kConnect:
      return After(mysql_real_connect_cont(&ret_conn_, conn_, ready));
    case Op::kQuery:
      return After(mysql_real_query_cont(&ret_int_, conn_, ready));
    case Op::kStore:
      return After(mysql_store_result_cont(&ret_res_, conn_, ready));
    case Op::kNone:
      break;
  }
  return SqlWait::Done();
}

void MysqlAsyncConn::Fail(const std::string& doing) {
  failure_ = MysqlFailure(conn_, address_, doing);
}

SqlWait MysqlAsyncConn::After(int status) {
  while (true) {
    if (status != 0) {
      int fd = static_cast<int>(mysql_get_socket(conn_));
      bool read = (status & MYSQL_WAIT_READ) != 0;
      bool write = (status & MYSQL_WAIT_WRITE) != 0;
      if (fd >= 0 && (read || write)) return SqlWait::On(fd, read, write);
      // Only a client-side timer (none is set): let it expire now rather than hang.
      status = op_ == Op::kConnect ? mysql_real_connect_cont(&ret_conn_, conn_, MYSQL_WAIT_TIMEOUT)
               : op_ == Op::kQuery ? mysql_real_query_cont(&ret_int_, conn_, MYSQL_WAIT_TIMEOUT)
                                   : mysql_store_result_cont(&ret_res_, conn_, MYSQL_WAIT_TIMEOUT);
      continue;
    }
    switch (op_) {
      case Op::kConnect:
        op_ = Op::kNone;
        std::fill(password_.begin(), password_.end(), '\0');
        password_.clear();
        if (ret_conn_ == nullptr) {
          Fail("connect");
          failure_->connection_broken = true;
          failure_->connect_phase = true;
          Close();
        } else {
          connected_ = true;
        }
        return SqlWait::Done();
      case Op::kQuery:
        if (ret_int_ != 0) {
          op_ = Op::kNone;
          Fail(sql_);
          if (failure_->connection_broken) Close();
          return SqlWait::Done();
        }
        op_ = Op::kStore;
        status = mysql_store_result_start(&ret_res_, conn_);
        continue;
      case Op::kStore:
        op_ = Op::kNone;
        if (ret_res_ == nullptr) {
          if (mysql_field_count(conn_) != 0) {
            Fail(sql_);
            if (failure_->connection_broken) Close();
          }
          return SqlWait::Done();  // or a statement without a result set
        }
        rows_ = TakeRows(ret_res_);
        ret_res_ = nullptr;
        return SqlWait::Done();
      case Op::kNone:
        return SqlWait::Done();
    }
  }
}

void MysqlAsyncConn::Close() {
  if (conn_ == nullptr) return;
  // An operation suspended in the client library: tell it its time is up (each call then
  // fails at once instead of waiting), so that nothing is left suspended.
  for (int i = 0; i < 16 && op_ != Op::kNone; ++i) {
    int status = 0;
    switch (op_) {
      case Op::kConnect:
        status = mysql_real_connect_cont(&ret_conn_, conn_, MYSQL_WAIT_TIMEOUT);
        break;
      case Op::kQuery:
        status = mysql_real_query_cont(&ret_int_, conn_, MYSQL_WAIT_TIMEOUT);
        break;
      case Op::kStore:
        status = mysql_store_result_cont(&ret_res_, conn_, MYSQL_WAIT_TIMEOUT);
        if (status == 0 && ret_res_ != nullptr) mysql_free_result(ret_res_);
        ret_res_ = nullptr;
        break;
      case Op::kNone:
        break;
    }
    if (status == 0) op_ = Op::kNone;
  }
  op_ = Op::kNone;
  // Closing sends COM_QUIT: non-blocking too, and abandoned if the socket is full.
  int status = mysql_close_start(conn_);
  for (int i = 0; i < 16 && status != 0; ++i) status = mysql_close_cont(conn_, MYSQL_WAIT_TIMEOUT);
  conn_ = nullptr;
  connected_ = false;
  std::fill(password_.begin(), password_.end(), '\0');
  password_.clear();
}

}  // namespace failover
