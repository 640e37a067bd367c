#include "exporter/probers/postgres.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <set>

#include "common/secret.h"

namespace failover {

const char kPostgresStatusSql[] =
    "SELECT pg_is_in_recovery() AS in_recovery,"
    " current_setting('transaction_read_only') AS read_only,"
    " pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())"
    " AS receive_replay_bytes,"
    " EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp())"
    " AS replay_age_seconds,"
    " r.pid AS receiver_pid, r.status AS receiver_status,"
    " CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() END AS replay_paused"
    " FROM (SELECT 1) AS one LEFT JOIN pg_stat_wal_receiver AS r ON true;"
    " SELECT s.application_name, host(s.client_addr) AS client_addr, s.client_port, s.pid,"
    " s.state,"
    " EXTRACT(EPOCH FROM s.write_lag) AS write_lag,"
    " EXTRACT(EPOCH FROM s.flush_lag) AS flush_lag,"
    " EXTRACT(EPOCH FROM s.replay_lag) AS replay_lag,"
    " pg_wal_lsn_diff(c.lsn, s.write_lsn) AS write_bytes,"
    " pg_wal_lsn_diff(c.lsn, s.flush_lsn) AS flush_bytes,"
    " pg_wal_lsn_diff(c.lsn, s.replay_lsn) AS replay_bytes"
    " FROM pg_stat_replication AS s, (SELECT CASE WHEN pg_is_in_recovery()"
    " THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END AS lsn) AS c"
    " ORDER BY s.application_name, s.client_addr, s.client_port";

namespace {

std::optional<std::string> Get(const SqlRow& row, const char* column) {
  auto it = row.find(column);
  return it == row.end() ? std::nullopt : it->second;
}

std::string Text(const std::optional<std::string>& v) { return v ? *v : std::string(); }

bool IsTrue(const std::optional<std::string>& v) { return v && (*v == "t" || *v == "on"); }

// The first line of a libpq message, without the "ERROR:  " / "FATAL:  " prefix.
std::string FirstLine(const char* message) {
  std::string s = message == nullptr ? "" : message;
  size_t nl = s.find('\n');
  if (nl != std::string::npos) s.resize(nl);
  for (const char* prefix : {"ERROR:  ", "FATAL:  "}) {
    if (s.rfind(prefix, 0) == 0) s.erase(0, std::char_traits<char>::length(prefix));
  }
  return s;
}

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

struct PostgresSpec {
  std::string conninfo;
  std::string where;  // host:port from the conninfo, for details
  std::optional<SecretRef> password;
  Duration timeout{0};
};

class PostgresProber final : public Prober, public std::enable_shared_from_this<PostgresProber> {
 public:
  explicit PostgresProber(PostgresSpec spec) : spec_(std::move(spec)) {}
  ~PostgresProber() override { Close(); }

  void Start(ProbeEnv& env, MonoTime deadline, ProbeDone done) override {
    RunOnWorkers(
        env, deadline, spec_.timeout,
        [self = shared_from_this()](MonoTime d) { return self->RunBlocking(d); }, std::move(done));
  }

 private:
  struct Failure {
    std::string reason;
    std::string detail;
    bool connection_broken = true;
  };

  ProbeResult RunBlocking(MonoTime deadline) {
    std::unique_lock<std::mutex> lock(mu_, std::try_to_lock);
    if (!lock.owns_lock()) {
      return ProbeResult::Failure(
          "timeout", "the previous run is still waiting for " + spec_.where + " (no answer)");
    }
    auto start = std::chrono::steady_clock::now();
    bool reused = conn_ != nullptr;
    std::vector<std::vector<SqlRow>> results;
    std::optional<Failure> failure = Observe(deadline, results);
    if (failure && failure->connection_broken && reused &&
        std::chrono::steady_clock::now() - start < spec_.timeout / 2) {
      Close();
      results.clear();
      failure = Observe(deadline, results);
    }
    if (failure) {
      if (failure->connection_broken) Close();
      return ProbeResult::Failure(failure->reason, failure->detail);
    }
    // A fresh connection's first answer starts with the SET's (empty) result.
    if (results.size() == 3) results.erase(results.begin());
    if (results.size() != 2 || results[0].size() != 1) {
      return ProbeResult::Failure("error", spec_.where + ": unexpected answer to the status query");
    }
    return PostgresProbeResult(results[0][0], results[1]);
  }

  // Waits until the connection's socket is ready for `events`; false at the deadline.
  bool WaitSocket(short events, MonoTime deadline) {
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

  Failure TimeoutFailure(const char* doing) const {
    return {"timeout",
            spec_.where + ": no answer " + doing + " within " + FormatDuration(spec_.timeout)};
  }

  std::optional<Failure> Connect(MonoTime deadline) {
    std::string password;
    std::vector<const char*> keys = {"fallback_application_name", "dbname"};
    std::vector<const char*> values = {"failover_exporter", spec_.conninfo.c_str()};
    if (spec_.password) {
      auto pw = spec_.password->Resolve();
      if (!pw) return Failure{"error", "password: " + pw.error().message};
      password = std::move(*pw);
      keys.push_back("password");
      values.push_back(password.c_str());
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);
    conn_ = PQconnectStartParams(keys.data(), values.data(), /*expand_dbname=*/1);
    if (conn_ == nullptr) return Failure{"error", "libpq: out of memory"};
    if (PQstatus(conn_) == CONNECTION_BAD) {
      std::string msg = FirstLine(PQerrorMessage(conn_));
      return Failure{ConnectReason(msg), spec_.where + ": " + msg};
    }
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (st != PGRES_POLLING_OK) {
      if (st == PGRES_POLLING_FAILED) {
        std::string msg = FirstLine(PQerrorMessage(conn_));
        return Failure{ConnectReason(msg), spec_.where + ": " + msg};
      }
      if (!WaitSocket(st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline)) {
        return TimeoutFailure("while connecting");
      }
      st = PQconnectPoll(conn_);
    }
    PQsetnonblocking(conn_, 1);
    fresh_ = true;
    return std::nullopt;
  }

  std::optional<Failure> Observe(MonoTime deadline, std::vector<std::vector<SqlRow>>& results) {
    if (conn_ == nullptr) {
      if (auto f = Connect(deadline)) return f;
    }
    std::string sql = kPostgresStatusSql;
    if (fresh_) {
      // Server side too, a status query never runs longer than the probe waits for it.
      long long ms = std::max<long long>(
          1, std::chrono::duration_cast<std::chrono::milliseconds>(spec_.timeout).count());
      sql = "SET statement_timeout = " + std::to_string(ms) + "; " + sql;
    }
    if (PQsendQuery(conn_, sql.c_str()) == 0) {
      return Failure{"connection_reset", spec_.where + ": " + FirstLine(PQerrorMessage(conn_))};
    }
    fresh_ = false;
    while (true) {
      int f = PQflush(conn_);
      if (f == 0) break;
      if (f < 0) {
        return Failure{"connection_reset", spec_.where + ": " + FirstLine(PQerrorMessage(conn_))};
      }
      if (!WaitSocket(POLLOUT, deadline)) return TimeoutFailure("to the status query");
    }
    std::optional<Failure> query_error;
    while (true) {
      if (PQconsumeInput(conn_) == 0) {
        return Failure{"connection_reset", spec_.where + ": " + FirstLine(PQerrorMessage(conn_))};
      }
      while (PQisBusy(conn_) == 0) {
        PGresult* res = PQgetResult(conn_);
        if (res == nullptr) {
          if (query_error) return query_error;
          return std::nullopt;
        }
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
          query_error =
              Failure{"query_failed", spec_.where + ": " + FirstLine(PQresultErrorMessage(res)),
                      PQstatus(conn_) == CONNECTION_BAD};
        }
        PQclear(res);
      }
      if (!WaitSocket(POLLIN, deadline)) return TimeoutFailure("to the status query");
    }
  }

  void Close() {
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = nullptr;
  }

  PostgresSpec spec_;
  std::mutex mu_;           // one run at a time touches the connection
  PGconn* conn_ = nullptr;  // under mu_
  bool fresh_ = false;      // under mu_: connected, statement_timeout not yet set
};

}  // namespace

ProbeResult PostgresProbeResult(const SqlRow& server, const std::vector<SqlRow>& standbys) {
  ProbeResult result;
  result.success = true;
  bool in_recovery = IsTrue(Get(server, "in_recovery"));
  AddRoleSamples(result.samples, !in_recovery, IsTrue(Get(server, "read_only")));
  if (in_recovery) {
    auto receiver_pid = Get(server, "receiver_pid");
    auto receiver_status = Get(server, "receiver_status");
    if (receiver_pid && !receiver_status) {
      return ProbeResult::Failure(
          "query_failed",
          "pg_stat_wal_receiver hides the receiver's status from this user: GRANT pg_monitor");
    }
    bool streaming = Text(receiver_status) == "streaming";
    bool replaying = !IsTrue(Get(server, "replay_paused"));
    result.samples.push_back(
        {&kReplicationRunningMetric, {{"thread", "receiver"}}, streaming ? 1.0 : 0.0});
    result.samples.push_back(
        {&kReplicationRunningMetric, {{"thread", "replay"}}, replaying ? 1.0 : 0.0});
    auto bytes = SqlNumber(Get(server, "receive_replay_bytes"));
    if (bytes) result.samples.push_back({&kReplicationLagBytesMetric, {}, std::max(0.0, *bytes)});
    // Everything received is replayed and more is streaming in: no lag, however long ago
    // the last transaction was (an idle primary). Otherwise: the age of the last replayed
    // transaction.
    std::optional<double> seconds;
    if (streaming && bytes && *bytes <= 0) {
      seconds = 0;
    } else if (auto age = SqlNumber(Get(server, "replay_age_seconds"))) {
      seconds = std::max(0.0, *age);
    }
    if (seconds) result.samples.push_back({&kReplicationLagSecondsMetric, {}, *seconds});
  }
  std::set<std::string> used;
  for (const SqlRow& row : standbys) {
    if (Get(row, "pid") && !Get(row, "state")) {
      return ProbeResult::Failure("query_failed",
                                  "pg_stat_replication hides the standbys' details from this user: "
                                  "GRANT pg_monitor");
    }
    std::string app = Text(Get(row, "application_name"));
    std::string addr = Text(Get(row, "client_addr"));
    if (addr.empty()) addr = "local";
    // "walreceiver" is the default name of every standby: say where it connects from.
    std::string name = app.empty() || app == "walreceiver" ? addr : app;
    if (!used.insert(name).second) {
      name += "@" + addr + ":" + Text(Get(row, "client_port"));
      used.insert(name);
    }
    for (const char* stage : {"write", "flush", "replay"}) {
      auto bytes = SqlNumber(Get(row, (std::string(stage) + "_bytes").c_str()));
      auto lag = SqlNumber(Get(row, (std::string(stage) + "_lag").c_str()));
      std::vector<std::pair<std::string, std::string>> labels = {{"standby", name},
                                                                 {"stage", stage}};
      if (bytes)
        result.samples.push_back({&kReplicationLagBytesMetric, labels, std::max(0.0, *bytes)});
      // The lag interval is NULL once a standby has been caught up for a while.
      if (lag) {
        result.samples.push_back({&kReplicationLagSecondsMetric, labels, std::max(0.0, *lag)});
      } else if (bytes && *bytes <= 0) {
        result.samples.push_back({&kReplicationLagSecondsMetric, labels, 0.0});
      }
    }
  }
  return result;
}

Result<std::shared_ptr<Prober>> NewPostgresProber(const YamlNode& node, const ProberContext& ctx) {
  if (auto s = node.ExpectKeys({"conninfo", "password", "password_file", "password_env"}); !s) {
    return s.error();
  }
  PostgresSpec spec;
  spec.timeout = ctx.timeout;
  auto ci = node.Require("conninfo");
  if (!ci) return ci.error();
  auto ci_s = ci->AsString();
  if (!ci_s) return ci_s.error();
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(ci_s->c_str(), &err);
  if (opts == nullptr) {
    std::string msg = err != nullptr ? FirstLine(err) : "out of memory";
    if (err != nullptr) PQfreemem(err);
    return ci->Fail("invalid conninfo: " + msg);
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
    return ci->Fail("conninfo contains a password: use password_file (or password_env) instead");
  }
  spec.conninfo = *ci_s;
  spec.where = (host.empty() ? "localhost" : host) + (port.empty() ? "" : ":" + port);
  auto pw = SecretRef::FromYaml(node, "password");
  if (!pw) return pw.error();
  spec.password = *pw;
  return std::shared_ptr<Prober>(std::make_shared<PostgresProber>(std::move(spec)));
}

}  // namespace failover
