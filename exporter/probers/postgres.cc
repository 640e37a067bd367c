#include "exporter/probers/postgres.h"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <set>

#include "common/pg_conn.h"

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
  return SqlColumn(row, {column});
}

std::string Text(const std::optional<std::string>& v) { return v ? *v : std::string(); }

bool IsTrue(const std::optional<std::string>& v) { return v && (*v == "t" || *v == "on"); }

struct PostgresSpec {
  PgTarget target;
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
  ProbeResult RunBlocking(MonoTime deadline) {
    std::unique_lock<std::mutex> lock(mu_, std::try_to_lock);
    if (!lock.owns_lock()) {
      return ProbeResult::Failure("timeout", "the previous run is still waiting for " +
                                                 spec_.target.where + " (no answer)");
    }
    auto start = std::chrono::steady_clock::now();
    bool reused = conn_.connected();
    std::vector<std::vector<SqlRow>> results;
    std::optional<SqlFailure> failure = Observe(deadline, results);
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
      return ProbeResult::Failure("error",
                                  spec_.target.where + ": unexpected answer to the status query");
    }
    return PostgresProbeResult(results[0][0], results[1]);
  }

  std::optional<SqlFailure> Observe(MonoTime deadline, std::vector<std::vector<SqlRow>>& results) {
    if (!conn_.connected()) {
      auto c = conn_.Connect(spec_.target, "failover_exporter", deadline, spec_.timeout);
      if (!c) return c.error();
      fresh_ = true;
    }
    std::string sql = kPostgresStatusSql;
    if (fresh_) {
      // Server side too, a status query never runs longer than the probe waits for it.
      long long ms = std::max<long long>(
          1, std::chrono::duration_cast<std::chrono::milliseconds>(spec_.timeout).count());
      sql = "SET statement_timeout = " + std::to_string(ms) + "; " + sql;
    }
    fresh_ = false;
    auto r = conn_.Exec(sql, deadline);
    if (!r) return r.error();
    results = std::move(*r);
    return std::nullopt;
  }

  void Close() { conn_.Close(); }

  PostgresSpec spec_;
  std::mutex mu_;       // one run at a time touches the connection
  PgConn conn_;         // under mu_
  bool fresh_ = false;  // under mu_: connected, statement_timeout not yet set
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
  auto target = PgTargetFromYaml(node);
  if (!target) return target.error();
  spec.target = std::move(*target);
  return std::shared_ptr<Prober>(std::make_shared<PostgresProber>(std::move(spec)));
}

}  // namespace failover
