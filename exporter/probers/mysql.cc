#include "exporter/probers/mysql.h"

#include <mysqld_error.h>

#include <chrono>
#include <cmath>

#include "common/config_fields.h"
#include "common/mysql_conn.h"
#include "exporter/config.h"  // ReadPositiveDuration
#include "exporter/probers/spec_prober.h"

namespace failover {
namespace {

// "name=value,name=value" (names lower-case) → map.
std::map<std::string, std::string> ParseSemiSync(const std::string& text) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    size_t eq = item.find('=');
    if (eq != std::string::npos) out[item.substr(0, eq)] = item.substr(eq + 1);
    start = end + 1;
  }
  return out;
}

// The first of `names` the server has.
const std::string* SemiSyncVar(const std::map<std::string, std::string>& vars,
                               std::initializer_list<const char*> names) {
  for (const char* n : names) {
    if (auto it = vars.find(n); it != vars.end()) return &it->second;
  }
  return nullptr;
}

bool IsOn(const std::string& v) { return v == "ON" || v == "on" || v == "1"; }

// A mysql probe's block as parsed (ParseMysqlSpec); the keys read there are the keys a
// mysql probe accepts.
struct MysqlSpec {
  MysqlTarget target;                       // address, user, password*
  std::optional<MysqlHeartbeat> heartbeat;  // heartbeat: {table, max_age}
  std::string heartbeat_sql_table;          // heartbeat.table quoted for SQL: `db`.`table`
  Duration timeout{0};                      // the probe's timeout
};

class MysqlProber final : public DbProber, public std::enable_shared_from_this<MysqlProber> {
 public:
  explicit MysqlProber(MysqlSpec spec) : spec_(std::move(spec)) {}

  void Start(ProbeEnv& env, MonoTime deadline, ProbeDone done) override {
    StartRun(
        env, deadline, spec_.timeout, spec_.target.address,
        [this] { return std::make_shared<Run>(shared_from_this()); }, std::move(done));
  }

 private:
  // One run: (look up the host,) connect unless the kept connection is there, read the
  // replica status, then read_only and the heartbeat's age. Every step is non-blocking.
  class Run final : public DbRun {
   public:
    explicit Run(std::shared_ptr<MysqlProber> p) : DbRun(p, p->spec_.timeout), p_(std::move(p)) {}

    Outcome Step(bool readable, bool writable) override {
      switch (state_) {
        case State::kBegin:
          reused_ = p_->conn_.connected();
          return reused_ ? ReadReplicaStatus() : Resolve();
        case State::kLookup: {
          if (!lookup_->finished()) return SqlWait::On(lookup_->fd(), true, false);
          auto addresses = lookup_->addresses();
          lookup_.reset();
          p_->pending_lookup_.reset();
          if (!addresses) {
            return ProbeResult::Failure(
                "resolve", p_->spec_.target.address + ": " + addresses.error().message);
          }
          addresses_ = std::move(*addresses);
          next_address_ = 0;
          return Connect(addresses_[next_address_++]);
        }
        case State::kConnect:
        case State::kReplica:
        case State::kStatus: {
          SqlWait wait = p_->conn_.Continue(readable, writable);
          if (!wait.done) return wait;
          return Finished();
        }
      }
      return ProbeResult::Failure("error", "mysql probe: unknown state (internal error)");
    }

    void Abandon() override {
      lookup_.reset();
      p_->conn_.Close();
    }

   private:
    enum class State { kBegin, kLookup, kConnect, kReplica, kStatus };

    Outcome Resolve() {
      const MysqlTarget& t = p_->spec_.target;
      addresses_.clear();
      next_address_ = 0;
      if (!t.socket.empty() || IsIpLiteral(t.host)) return Connect(t.host);
      state_ = State::kLookup;
      // A lookup an earlier run gave up on is still the one to wait for: one thread per
      // name however long the name server hangs.
      if (p_->pending_lookup_ == nullptr) p_->pending_lookup_ = HostLookup::Start(t.host);
      lookup_ = p_->pending_lookup_;
      return Step(false, false);
    }

    Outcome Connect(const std::string& host) {
      state_ = State::kConnect;
      return Started(p_->conn_.StartConnect(p_->spec_.target, host));
    }

    Outcome ReadReplicaStatus() {
      // SHOW REPLICA STATUS: MySQL 8.0.22+ (8.4 has nothing else) and MariaDB 10.5.1+;
      // SHOW SLAVE STATUS for older servers. Decided once per connection.
      state_ = State::kReplica;
      return Started(p_->conn_.StartQuery(p_->replica_syntax_ == 2 ? "SHOW SLAVE STATUS"
                                                                   : "SHOW REPLICA STATUS"));
    }

    Outcome ReadServerStatus() {
      std::string sql = "SELECT @@global.read_only AS read_only";
      if (p_->spec_.heartbeat) {
        std::string where;
        if (status_.replica_rows.size() == 1) {
          auto id = SqlNumber(
              SqlColumn(status_.replica_rows[0], {"Source_Server_Id", "Master_Server_Id"}));
          if (id && *id > 0)
            where = " WHERE server_id = " + std::to_string(static_cast<long long>(*id));
        }
        sql += ", (SELECT TIMESTAMPDIFF(MICROSECOND, MAX(ts), NOW(6)) FROM " +
               p_->spec_.heartbeat_sql_table + where + ") AS heartbeat_age_us";
      }
      // Semi-sync, in the same round trip: status and system variables from the server's
      // tables (MariaDB and MySQL 5.7: information_schema; MySQL 8: performance_schema),
      // tried in that order once per connection. GROUP_CONCAT gives NULL when there are
      // none (plugin not loaded).
      if (p_->semisync_table_ < 2) {
        std::string schema = p_->semisync_table_ == 0 ? "information_schema" : "performance_schema";
        auto from = [&](const char* table, const char* names) {
          return "SELECT VARIABLE_NAME AS n, VARIABLE_VALUE AS v FROM " + schema + "." + table +
                 " WHERE LOWER(VARIABLE_NAME) IN (" + names + ")";
        };
        sql += ", (SELECT GROUP_CONCAT(LOWER(n), '=', v SEPARATOR ',') FROM (" +
               from("GLOBAL_STATUS",
                    "'rpl_semi_sync_master_status', 'rpl_semi_sync_source_status', "
                    "'rpl_semi_sync_slave_status', 'rpl_semi_sync_replica_status', "
                    "'rpl_semi_sync_master_clients', 'rpl_semi_sync_source_clients', "
                    "'rpl_semi_sync_master_no_tx', 'rpl_semi_sync_source_no_tx'") +
               " UNION ALL " +
               from("GLOBAL_VARIABLES",
                    "'rpl_semi_sync_master_enabled', 'rpl_semi_sync_source_enabled', "
                    "'rpl_semi_sync_slave_enabled', 'rpl_semi_sync_replica_enabled'") +
               ") AS semisync_vars) AS semisync";
      }
      status_sql_ = sql;
      state_ = State::kStatus;
      return Started(p_->conn_.StartQuery(sql));
    }

    Outcome Started(SqlWait wait) {
      if (!wait.done) return wait;
      return Finished();
    }

    // The operation of the current state has finished.
    Outcome Finished() {
      MysqlAsyncConn& conn = p_->conn_;
      const std::optional<SqlFailure>& failure = conn.failure();
      switch (state_) {
        case State::kConnect:
          // A name with several addresses: the next one, as the blocking client would.
          if (failure && failure->unreachable() && failure->reason != "timeout" &&
              next_address_ < addresses_.size()) {
            return Connect(addresses_[next_address_++]);
          }
          if (failure) return ProbeResult::Failure(failure->reason, failure->detail);
          p_->replica_syntax_ = 0;
          p_->semisync_table_ = 0;
          p_->semisync_known_ = false;
          return ReadReplicaStatus();
        case State::kReplica:
          if (failure) {
            if (p_->replica_syntax_ == 0 && failure->code == ER_PARSE_ERROR) {
              p_->replica_syntax_ = 2;
              return ReadReplicaStatus();
            }
            return Failed(*failure);
          }
          if (p_->replica_syntax_ == 0) p_->replica_syntax_ = 1;
          status_.replica_rows = std::move(conn.rows());
          return ReadServerStatus();
        case State::kStatus: {
          if (failure && !failure->connection_broken && !p_->semisync_known_ &&
              p_->semisync_table_ < 2) {
            // Maybe the semi-sync tables (absent, or not readable by this user): the next
            // place, and at last none. If the error stays, it was not theirs: try them again
            // next run.
            ++p_->semisync_table_;
            return ReadServerStatus();
          }
          if (failure) {
            if (!p_->semisync_known_) p_->semisync_table_ = 0;
            return Failed(*failure);
          }
          p_->semisync_known_ = true;
          std::vector<SqlRow>& rows = conn.rows();
          if (rows.size() != 1) {
            return ProbeResult::Failure(
                "error", p_->spec_.target.address + ": unexpected answer to " + status_sql_);
          }
          const SqlRow& row = rows[0];
          auto ro = SqlNumber(SqlColumn(row, {"read_only"}));
          status_.read_only = ro && *ro != 0;
          if (p_->spec_.heartbeat) {
            if (auto us = SqlNumber(SqlColumn(row, {"heartbeat_age_us"}))) {
              status_.heartbeat_age_seconds = *us / 1e6;
            }
          }
          status_.semisync = ParseSemiSync(SqlText(SqlColumn(row, {"semisync"})));
          return MysqlProbeResult(status_, p_->spec_.heartbeat);
        }
        case State::kBegin:
        case State::kLookup:
          break;
      }
      return ProbeResult::Failure("error", "mysql probe: unknown state (internal error)");
    }

    Outcome Failed(const SqlFailure& failure) {
      if (ReconnectOnce(failure)) {
        p_->conn_.Close();
        status_ = MysqlStatus();
        return Resolve();
      }
      if (failure.connection_broken) p_->conn_.Close();
      return ProbeResult::Failure(failure.reason, failure.detail);
    }

    std::shared_ptr<MysqlProber> p_;
    State state_ = State::kBegin;
    std::shared_ptr<HostLookup> lookup_;
    std::vector<std::string> addresses_;  // of the configured host name
    size_t next_address_ = 0;
    MysqlStatus status_;
    std::string status_sql_;
  };

  MysqlSpec spec_;
  // Loop thread only: the connection kept between runs.
  MysqlAsyncConn conn_;
  int replica_syntax_ = 0;  // 0 unknown, 1 SHOW REPLICA STATUS, 2 SHOW SLAVE STATUS
  // Where semi-sync variables are read: 0 information_schema, 1 performance_schema,
  // 2 nowhere (neither could be read); known once a status query with it succeeded.
  int semisync_table_ = 0;
  bool semisync_known_ = false;
  std::shared_ptr<HostLookup> pending_lookup_;  // not yet used by a run
};

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
    std::string channel = SqlText(SqlColumn(row, {"Channel_Name", "Connection_name"}));
    if (!channel.empty()) base.push_back({"channel", channel});
    auto with = [&](std::vector<std::pair<std::string, std::string>> extra) {
      auto labels = base;
      for (auto& kv : extra) labels.push_back(std::move(kv));
      return labels;
    };
    // "Yes"; "No" (stopped) and "Connecting" (not connected to the source) are not running.
    bool io = SqlText(SqlColumn(row, {"Replica_IO_Running", "Slave_IO_Running"})) == "Yes";
    bool sql = SqlText(SqlColumn(row, {"Replica_SQL_Running", "Slave_SQL_Running"})) == "Yes";
    all_running = all_running && io && sql;
    result.samples.push_back(
        {&kReplicationRunningMetric, with({{"thread", "io"}}), io ? 1.0 : 0.0});
    result.samples.push_back(
        {&kReplicationRunningMetric, with({{"thread", "sql"}}), sql ? 1.0 : 0.0});
    for (auto [thread, column] : {std::pair{"io", "Last_IO_Error"}, {"sql", "Last_SQL_Error"}}) {
      std::string error = SqlText(SqlColumn(row, {column}));
      if (error.empty()) continue;
      result.samples.push_back({&kReplicationLastErrorMetric,
                                with({{"thread", thread}, {"error", ErrorLabelValue(error)}}), 1});
    }
    // Bytes received but not applied: both positions are in the source's binlog, comparable
    // while the receiver and the applier are in the same file. With the receiver stopped
    // the backlog says nothing about what is missing: no value rather than a false 0.
    if (io) {
      auto read_file = SqlColumn(row, {"Source_Log_File", "Master_Log_File"});
      auto exec_file = SqlColumn(row, {"Relay_Source_Log_File", "Relay_Master_Log_File"});
      auto read_pos = SqlNumber(SqlColumn(row, {"Read_Source_Log_Pos", "Read_Master_Log_Pos"}));
      auto exec_pos = SqlNumber(SqlColumn(row, {"Exec_Source_Log_Pos", "Exec_Master_Log_Pos"}));
      if (read_file && exec_file && *read_file == *exec_file && read_pos && exec_pos) {
        result.samples.push_back(
            {&kReplicationLagBytesMetric, base, std::max(0.0, *read_pos - *exec_pos)});
      }
    }
    // Seconds: the heartbeat when there is one (exact with parallel appliers), else the
    // server's Seconds_Behind (NULL while a thread is stopped: then no value, not 0).
    std::optional<double> seconds = status.heartbeat_age_seconds;
    if (!seconds) {
      seconds = SqlNumber(SqlColumn(row, {"Seconds_Behind_Source", "Seconds_Behind_Master"}));
    }
    if (seconds) {
      result.samples.push_back({&kReplicationLagSecondsMetric, base, std::max(0.0, *seconds)});
    }
  }
  // Semi-sync, for this server's side: a primary waits for acknowledgements (source), a
  // replica sends them (replica). Absent variables: no series (the server has no semi-sync).
  const auto& ss = status.semisync;
  const char* side = primary ? "source" : "replica";
  const std::string* enabled =
      primary ? SemiSyncVar(ss, {"rpl_semi_sync_source_enabled", "rpl_semi_sync_master_enabled"})
              : SemiSyncVar(ss, {"rpl_semi_sync_replica_enabled", "rpl_semi_sync_slave_enabled"});
  const std::string* active =
      primary ? SemiSyncVar(ss, {"rpl_semi_sync_source_status", "rpl_semi_sync_master_status"})
              : SemiSyncVar(ss, {"rpl_semi_sync_replica_status", "rpl_semi_sync_slave_status"});
  if (enabled) {
    result.samples.push_back(
        {&kSemiSyncEnabledMetric, {{"side", side}}, IsOn(*enabled) ? 1.0 : 0.0});
  }
  if (active) {
    result.samples.push_back({&kSemiSyncActiveMetric, {{"side", side}}, IsOn(*active) ? 1.0 : 0.0});
  }
  if (primary) {
    if (auto n =
            SemiSyncVar(ss, {"rpl_semi_sync_source_clients", "rpl_semi_sync_master_clients"})) {
      if (auto v = SqlNumber(*n)) result.samples.push_back({&kSemiSyncClientsMetric, {}, *v});
    }
    if (auto n = SemiSyncVar(ss, {"rpl_semi_sync_source_no_tx", "rpl_semi_sync_master_no_tx"})) {
      if (auto v = SqlNumber(*n)) result.samples.push_back({&kSemiSyncUnackedMetric, {}, *v});
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

namespace {

Result<MysqlSpec> ParseMysqlSpec(const YamlNode& node, const ProberContext& ctx) {
  MysqlSpec spec;
  spec.timeout = ctx.timeout;
  auto target = MysqlTargetFromYaml(node);
  if (!target) return target.error();
  spec.target = std::move(*target);
  if (auto hb = node.Get("heartbeat")) {
    if (auto s = hb->ExpectMap(); !s) return s.error();
    auto table = RequireField<std::string>(*hb, "table");
    if (!table) return table.error();
    const std::string& t = table->value;
    // `table` or `db.table`, unquoted identifiers only (they are put into SQL).
    auto ident_ok = [](const std::string& id) {
      return !id.empty() && id.find_first_not_of(
                                "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"
                                "WXYZ0123456789_$") == std::string::npos;
    };
    size_t dot = t.find('.');
    std::string db = dot == std::string::npos ? "" : t.substr(0, dot);
    std::string name = dot == std::string::npos ? t : t.substr(dot + 1);
    if (!ident_ok(name) || (dot != std::string::npos && !ident_ok(db))) {
      return table->node.Fail("\"" + t +
                              "\" is not a table name (db.table or table; letters, digits, _, $)");
    }
    MysqlHeartbeat h;
    h.table = t;
    spec.heartbeat_sql_table = db.empty() ? "`" + name + "`" : "`" + db + "`.`" + name + "`";
    if (auto s = ReadPositiveDuration(*hb, "max_age", h.max_age); !s) return s.error();
    if (auto s = hb->RejectUnreadKeys(); !s) return s.error();
    spec.heartbeat = h;
  }
  if (auto s = node.RejectUnreadKeys(); !s) return s.error();
  return spec;
}

}  // namespace

Result<std::shared_ptr<Prober>> NewMysqlProber(const YamlNode& node, const ProberContext& ctx) {
  return ProberFromSpec<MysqlProber>(ParseMysqlSpec(node, ctx));
}

}  // namespace failover
