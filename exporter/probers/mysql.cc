#include "exporter/probers/mysql.h"

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <mutex>

#include "common/secret.h"
#include "exporter/probers/tcp.h"

namespace failover {
namespace {

// The value of the first of `names` that the row has (NULL stays nullopt).
std::optional<std::string> Column(const SqlRow& row, std::initializer_list<const char*> names) {
  for (const char* n : names) {
    auto it = row.find(n);
    if (it != row.end()) return it->second;
  }
  return std::nullopt;
}

std::string Text(const std::optional<std::string>& v) { return v ? *v : std::string(); }

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

struct MysqlSpec {
  std::string host;  // empty with a socket
  int port = 0;
  std::string socket;   // unix socket path
  std::string address;  // as configured, for details
  std::string user;
  std::optional<SecretRef> password;
  std::optional<MysqlHeartbeat> heartbeat;
  std::string heartbeat_sql_table;  // `db`.`table`
  Duration timeout{0};
};

class MysqlProber final : public Prober, public std::enable_shared_from_this<MysqlProber> {
 public:
  explicit MysqlProber(MysqlSpec spec) : spec_(std::move(spec)) {}
  ~MysqlProber() override { Close(); }

  void Start(ProbeEnv& env, MonoTime deadline, ProbeDone done) override {
    RunOnWorkers(
        env, deadline, spec_.timeout,
        [self = shared_from_this()](MonoTime d) { return self->RunBlocking(d); }, std::move(done));
  }

 private:
  // A failed step: the probe's reason and detail, and whether the connection is unusable.
  struct Failure {
    std::string reason;
    std::string detail;
    bool connection_broken = true;
  };

  ProbeResult RunBlocking(MonoTime deadline) {
    std::unique_lock<std::mutex> lock(mu_, std::try_to_lock);
    if (!lock.owns_lock()) {
      return ProbeResult::Failure(
          "timeout", "the previous run is still waiting for " + spec_.address + " (no answer)");
    }
    auto start = std::chrono::steady_clock::now();
    bool reused = conn_ != nullptr;
    auto status = Observe();
    // A kept connection may have died since the last run (server restarted, idle timeout):
    // reconnect once, if there is time left.
    if (!status && status.error().connection_broken && reused &&
        std::chrono::steady_clock::now() - start < spec_.timeout / 2 &&
        std::chrono::steady_clock::now() < deadline) {
      Close();
      status = Observe();
    }
    if (!status) {
      if (status.error().connection_broken) Close();
      return ProbeResult::Failure(status.error().reason, status.error().detail);
    }
    return MysqlProbeResult(*status, spec_.heartbeat);
  }

  // Result<T> with a Failure instead of an Error.
  template <typename T>
  struct Outcome {
    std::optional<T> value;
    Failure failure;
    explicit operator bool() const { return value.has_value(); }
    T& operator*() { return *value; }
    T* operator->() { return &*value; }
    const Failure& error() const { return failure; }
  };

  Failure ErrorFailure(const std::string& doing) const {
    unsigned err = mysql_errno(conn_);
    std::string msg = mysql_error(conn_);
    Failure f;
    f.detail = spec_.address + ": " + doing + ": " + msg + " (" + std::to_string(err) + ")";
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

  Outcome<bool> Connect() {
    Outcome<bool> out;
    conn_ = mysql_init(nullptr);
    if (conn_ == nullptr) {
      out.failure = {"error", "mysql_init failed (out of memory)"};
      return out;
    }
    // Whole seconds, at least 1: the client library's granularity. The run's deadline is
    // kept on the event loop regardless.
    unsigned secs = static_cast<unsigned>(std::max(1.0, std::ceil(ToSeconds(spec_.timeout))));
    mysql_options(conn_, MYSQL_OPT_CONNECT_TIMEOUT, &secs);
    mysql_options(conn_, MYSQL_OPT_READ_TIMEOUT, &secs);
    mysql_options(conn_, MYSQL_OPT_WRITE_TIMEOUT, &secs);
    unsigned proto = spec_.socket.empty() ? MYSQL_PROTOCOL_TCP : MYSQL_PROTOCOL_SOCKET;
    mysql_options(conn_, MYSQL_OPT_PROTOCOL, &proto);
    mysql_options(conn_, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    std::string password;
    if (spec_.password) {
      auto pw = spec_.password->Resolve();
      if (!pw) {
        out.failure = {"error", "password: " + pw.error().message};
        return out;
      }
      password = std::move(*pw);
    }
    MYSQL* ok = mysql_real_connect(conn_, spec_.socket.empty() ? spec_.host.c_str() : nullptr,
                                   spec_.user.c_str(), spec_.password ? password.c_str() : nullptr,
                                   nullptr, static_cast<unsigned>(spec_.port),
                                   spec_.socket.empty() ? nullptr : spec_.socket.c_str(), 0);
    if (ok == nullptr) {
      out.failure = ErrorFailure("connect");
      out.failure.connection_broken = true;
      unsigned err = mysql_errno(conn_);
      if ((err == CR_CONNECTION_ERROR || err == CR_CONN_HOST_ERROR) && spec_.socket.empty()) {
        // The client library reports the errno of its non-blocking connect (EINPROGRESS),
        // not why it failed: find out with a plain connect.
        if (std::string why = TcpConnectError(spec_.host, spec_.port); !why.empty()) {
          out.failure.reason = why == "refused" ? "connection_refused" : "connect_failed";
          out.failure.detail =
              spec_.address + ": connect: " + (why == "refused" ? "connection refused" : why);
        }
      }
      return out;
    }
    out.value = true;
    return out;
  }

  Outcome<std::vector<SqlRow>> Query(const std::string& sql) {
    Outcome<std::vector<SqlRow>> out;
    if (mysql_real_query(conn_, sql.data(), sql.size()) != 0) {
      out.failure = ErrorFailure(sql);
      return out;
    }
    MYSQL_RES* res = mysql_store_result(conn_);
    if (res == nullptr) {
      if (mysql_field_count(conn_) != 0) {
        out.failure = ErrorFailure(sql);
        return out;
      }
      out.value.emplace();  // a statement without a result set
      return out;
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
    out.value = std::move(rows);
    return out;
  }

  Outcome<MysqlStatus> Observe() {
    Outcome<MysqlStatus> out;
    if (conn_ == nullptr) {
      auto c = Connect();
      if (!c) {
        out.failure = c.error();
        return out;
      }
      replica_syntax_ = 0;
    }
    MysqlStatus status;
    // SHOW REPLICA STATUS: MySQL 8.0.22+ (8.4 has nothing else) and MariaDB 10.5.1+;
    // SHOW SLAVE STATUS for older servers. Decided once per connection.
    if (replica_syntax_ != 2) {
      auto rows = Query("SHOW REPLICA STATUS");
      if (rows) {
        replica_syntax_ = 1;
        status.replica_rows = std::move(*rows);
      } else if (replica_syntax_ == 0 && mysql_errno(conn_) == ER_PARSE_ERROR) {
        replica_syntax_ = 2;
      } else {
        out.failure = rows.error();
        return out;
      }
    }
    if (replica_syntax_ == 2) {
      auto rows = Query("SHOW SLAVE STATUS");
      if (!rows) {
        out.failure = rows.error();
        return out;
      }
      status.replica_rows = std::move(*rows);
    }
    std::string sql = "SELECT @@global.read_only AS read_only";
    if (spec_.heartbeat) {
      std::string where;
      if (status.replica_rows.size() == 1) {
        auto id =
            SqlNumber(Column(status.replica_rows[0], {"Source_Server_Id", "Master_Server_Id"}));
        if (id && *id > 0)
          where = " WHERE server_id = " + std::to_string(static_cast<long long>(*id));
      }
      sql += ", (SELECT TIMESTAMPDIFF(MICROSECOND, MAX(ts), NOW(6)) FROM " +
             spec_.heartbeat_sql_table + where + ") AS heartbeat_age_us";
    }
    auto rows = Query(sql);
    if (!rows) {
      out.failure = rows.error();
      return out;
    }
    if (rows->size() != 1) {
      out.failure = {"error", spec_.address + ": unexpected answer to " + sql, false};
      return out;
    }
    const SqlRow& row = (*rows)[0];
    auto ro = SqlNumber(Column(row, {"read_only"}));
    status.read_only = ro && *ro != 0;
    if (spec_.heartbeat) {
      if (auto us = SqlNumber(Column(row, {"heartbeat_age_us"}))) {
        status.heartbeat_age_seconds = *us / 1e6;
      }
    }
    out.value = std::move(status);
    return out;
  }

  void Close() {
    if (conn_ != nullptr) mysql_close(conn_);
    conn_ = nullptr;
  }

  MysqlSpec spec_;
  std::mutex mu_;           // one run at a time touches the connection
  MYSQL* conn_ = nullptr;   // under mu_
  int replica_syntax_ = 0;  // under mu_: 0 unknown, 1 SHOW REPLICA STATUS, 2 SHOW SLAVE STATUS
};

void InitMysqlLibrary() {
  static std::once_flag once;
  std::call_once(once, [] { mysql_library_init(0, nullptr, nullptr); });
}

}  // namespace

ProbeResult MysqlProbeResult(const MysqlStatus& status,
                             const std::optional<MysqlHeartbeat>& heartbeat) {
  ProbeResult result;
  result.success = true;
  bool primary = status.replica_rows.empty();
  AddRoleSamples(result.samples, primary, status.read_only);
  bool all_running = true;
  for (const SqlRow& row : status.replica_rows) {
    std::vector<std::pair<std::string, std::string>> base;
    std::string channel = Text(Column(row, {"Channel_Name", "Connection_name"}));
    if (!channel.empty()) base.push_back({"channel", channel});
    auto with = [&](std::vector<std::pair<std::string, std::string>> extra) {
      auto labels = base;
      for (auto& kv : extra) labels.push_back(std::move(kv));
      return labels;
    };
    // "Yes"; "No" (stopped) and "Connecting" (not connected to the source) are not running.
    bool io = Text(Column(row, {"Replica_IO_Running", "Slave_IO_Running"})) == "Yes";
    bool sql = Text(Column(row, {"Replica_SQL_Running", "Slave_SQL_Running"})) == "Yes";
    all_running = all_running && io && sql;
    result.samples.push_back(
        {&kReplicationRunningMetric, with({{"thread", "io"}}), io ? 1.0 : 0.0});
    result.samples.push_back(
        {&kReplicationRunningMetric, with({{"thread", "sql"}}), sql ? 1.0 : 0.0});
    for (auto [thread, column] : {std::pair{"io", "Last_IO_Error"}, {"sql", "Last_SQL_Error"}}) {
      std::string error = Text(Column(row, {column}));
      if (error.empty()) continue;
      result.samples.push_back({&kReplicationLastErrorMetric,
                                with({{"thread", thread}, {"error", ErrorLabelValue(error)}}), 1});
    }
    // Bytes received but not applied: both positions are in the source's binlog, comparable
    // while the receiver and the applier are in the same file. With the receiver stopped
    // the backlog says nothing about what is missing: no value rather than a false 0.
    if (io) {
      auto read_file = Column(row, {"Source_Log_File", "Master_Log_File"});
      auto exec_file = Column(row, {"Relay_Source_Log_File", "Relay_Master_Log_File"});
      auto read_pos = SqlNumber(Column(row, {"Read_Source_Log_Pos", "Read_Master_Log_Pos"}));
      auto exec_pos = SqlNumber(Column(row, {"Exec_Source_Log_Pos", "Exec_Master_Log_Pos"}));
      if (read_file && exec_file && *read_file == *exec_file && read_pos && exec_pos) {
        result.samples.push_back(
            {&kReplicationLagBytesMetric, base, std::max(0.0, *read_pos - *exec_pos)});
      }
    }
    // Seconds: the heartbeat when there is one (exact with parallel appliers), else the
    // server's Seconds_Behind (NULL while a thread is stopped: then no value, not 0).
    std::optional<double> seconds = status.heartbeat_age_seconds;
    if (!seconds) {
      seconds = SqlNumber(Column(row, {"Seconds_Behind_Source", "Seconds_Behind_Master"}));
    }
    if (seconds) {
      result.samples.push_back({&kReplicationLagSecondsMetric, base, std::max(0.0, *seconds)});
    }
  }
  // A stale heartbeat while replication runs (or on the primary, where it is written)
  // means its writer stopped: the heartbeat lag is then not to be trusted.
  if (heartbeat && heartbeat->max_age.count() > 0 && all_running) {
    double max_age = ToSeconds(heartbeat->max_age);
    if (!status.heartbeat_age_seconds) {
      result.success = false;
      result.reason = "heartbeat_stale";
      result.detail = "no heartbeat row in " + heartbeat->table;
    } else if (*status.heartbeat_age_seconds > max_age) {
      result.success = false;
      result.reason = "heartbeat_stale";
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.1fs", *status.heartbeat_age_seconds);
      result.detail = "the newest heartbeat in " + heartbeat->table + " is " + buf +
                      " old (max_age " + FormatDuration(heartbeat->max_age) +
                      ") while replication runs: is the heartbeat writer on the primary "
                      "stopped?";
      if (primary) {
        result.detail = "the newest heartbeat in " + heartbeat->table + " is " + buf +
                        " old (max_age " + FormatDuration(heartbeat->max_age) +
                        "): is the heartbeat writer stopped?";
      }
    }
  }
  return result;
}

Result<std::shared_ptr<Prober>> NewMysqlProber(const YamlNode& node, const ProberContext& ctx) {
  if (auto s = node.ExpectKeys(
          {"address", "user", "password", "password_file", "password_env", "heartbeat"});
      !s) {
    return s.error();
  }
  MysqlSpec spec;
  spec.timeout = ctx.timeout;
  auto addr = node.Require("address");
  if (!addr) return addr.error();
  auto addr_s = addr->AsString();
  if (!addr_s) return addr_s.error();
  spec.address = *addr_s;
  if (!addr_s->empty() && addr_s->front() == '/') {
    spec.socket = *addr_s;
  } else {
    auto hp = SplitHostPort(*addr_s);
    if (!hp) return addr->Fail(hp.error().message + " (or a unix socket path)");
    spec.host = hp->first;
    spec.port = hp->second;
  }
  auto user = node.Require("user");
  if (!user) return user.error();
  auto user_s = user->AsString();
  if (!user_s) return user_s.error();
  if (user_s->empty()) return user->Fail("user is empty");
  spec.user = *user_s;
  auto pw = SecretRef::FromYaml(node, "password");
  if (!pw) return pw.error();
  spec.password = *pw;
  if (auto hb = node.Get("heartbeat")) {
    if (auto s = hb->ExpectKeys({"table", "max_age"}); !s) return s.error();
    auto table = hb->Require("table");
    if (!table) return table.error();
    auto t = table->AsString();
    if (!t) return t.error();
    // `table` or `db.table`, unquoted identifiers only (they are put into SQL).
    auto ident_ok = [](const std::string& id) {
      return !id.empty() && id.find_first_not_of(
                                "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"
                                "WXYZ0123456789_$") == std::string::npos;
    };
    size_t dot = t->find('.');
    std::string db = dot == std::string::npos ? "" : t->substr(0, dot);
    std::string name = dot == std::string::npos ? *t : t->substr(dot + 1);
    if (!ident_ok(name) || (dot != std::string::npos && !ident_ok(db))) {
      return table->Fail("\"" + *t +
                         "\" is not a table name (db.table or table; letters, digits, _, $)");
    }
    MysqlHeartbeat h;
    h.table = *t;
    spec.heartbeat_sql_table = db.empty() ? "`" + name + "`" : "`" + db + "`.`" + name + "`";
    if (auto ma = hb->Get("max_age")) {
      auto d = ma->AsDuration();
      if (!d) return d.error();
      if (d->count() <= 0) return ma->Fail("max_age must be positive");
      h.max_age = *d;
    }
    spec.heartbeat = h;
  }
  InitMysqlLibrary();
  return std::shared_ptr<Prober>(std::make_shared<MysqlProber>(std::move(spec)));
}

}  // namespace failover
