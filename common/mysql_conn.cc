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
  auto addr = node.Require("address");
  if (!addr) return addr.error();
  auto addr_s = addr->AsString();
  if (!addr_s) return addr_s.error();
  t.address = *addr_s;
  if (!addr_s->empty() && addr_s->front() == '/') {
    t.socket = *addr_s;
  } else {
    auto hp = SplitHostPort(*addr_s);
    if (!hp) return addr->Fail(hp.error().message + " (or a unix socket path)");
    t.host = hp->first;
    t.port = hp->second;
  }
  auto user = node.Require("user");
  if (!user) return user.error();
  auto user_s = user->AsString();
  if (!user_s) return user_s.error();
  if (user_s->empty()) return user->Fail("user is empty");
  t.user = *user_s;
  auto pw = SecretRef::FromYaml(node, "password");
  if (!pw) return pw.error();
  t.password = *pw;
  return t;
}

SqlFailure MysqlConn::Failure(const std::string& doing) const {
  unsigned err = mysql_errno(conn_);
  std::string msg = mysql_error(conn_);
  SqlFailure f;
  f.code = err;
  f.detail = address_ + ": " + doing + ": " + msg + " (" + std::to_string(err) + ")";
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

void MysqlConn::Close() {
  if (conn_ != nullptr) mysql_close(conn_);
  conn_ = nullptr;
}

}  // namespace failover
