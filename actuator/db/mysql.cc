#include "actuator/db/mysql.h"

#include <mysqld_error.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "actuator/db/mysql_wayback.h"
#include "common/mysql_conn.h"

namespace failover {
namespace {

// What one look at the server shows.
struct MysqlState {
  bool mariadb = false;
  bool replica_syntax = false;  // STOP/RESET/SHOW REPLICA (MySQL 8.0.22+) instead of SLAVE
  std::string version;
  bool read_only = false;
  bool super_read_only = false;  // MySQL only
  std::vector<SqlRow> replica_rows;

  nlohmann::json Json() const {
    nlohmann::json j = {
        {"version", version}, {"read_only", read_only}, {"replica", !replica_rows.empty()}};
    if (!mariadb) j["super_read_only"] = super_read_only;
    if (replica_rows.size() == 1) {
      const SqlRow& r = replica_rows[0];
      j["io_running"] = SqlText(SqlColumn(r, {"Replica_IO_Running", "Slave_IO_Running"}));
      j["sql_running"] = SqlText(SqlColumn(r, {"Replica_SQL_Running", "Slave_SQL_Running"}));
      auto sb = SqlColumn(r, {"Seconds_Behind_Source", "Seconds_Behind_Master"});
      j["seconds_behind"] = sb ? nlohmann::json(SqlNumber(sb).value_or(0)) : nlohmann::json();
      j["source"] = SqlText(SqlColumn(r, {"Source_Host", "Master_Host"})) + ":" +
                    SqlText(SqlColumn(r, {"Source_Port", "Master_Port"}));
    }
    return j;
  }
};

// require_semisync: the replica must have been acknowledging transactions, i.e. have
// semi-sync enabled (MariaDB and the old MySQL plugin: rpl_semi_sync_slave_enabled; MySQL
// 8.0.26+: rpl_semi_sync_replica_enabled). The setting, not the status variable: that one
// goes OFF as soon as the source is gone, which is when a replica gets promoted. nullopt:
// enabled, go on.
std::optional<StepOutcome> SemiSyncRefusal(MysqlConn& conn, const std::string& where) {
  auto rows = conn.Query(
      "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('rpl_semi_sync_slave_enabled', "
      "'rpl_semi_sync_replica_enabled')");
  if (!rows) return OutcomeOf(rows.error());
  for (const SqlRow& r : *rows) {
    if (SqlText(SqlColumn(r, {"Value"})) == "ON") return std::nullopt;
  }
  return StepOutcome::Fail(
      "refusing to promote " + where + ": require_semisync is set but " +
      (rows->empty() ? "the server has no semi-synchronous replication (plugin not loaded)"
                     : "semi-synchronous replication is not enabled on this replica "
                       "(rpl_semi_sync_slave_enabled is OFF)") +
      ", so the old primary may have acknowledged transactions it never received");
}

// What a mysql: database block says.
struct MysqlSpec {
  MysqlTarget target;  // address: (host:port or a socket path), user:, password(_file/_env):
};

Result<MysqlSpec> ParseMysqlSpec(const YamlNode& body) {
  MysqlSpec spec;
  auto target = MysqlTargetFromYaml(body);
  if (!target) return target.error();
  spec.target = std::move(*target);
  return spec;
}

class MysqlDatabase final : public Database {
 public:
  explicit MysqlDatabase(MysqlSpec spec) : spec_(std::move(spec)) {}

  const std::string& kind() const override { return kind_; }
  const std::string& where() const override { return spec_.target.address; }
  nlohmann::json Describe() const override {
    return {{"kind", kind_}, {"address", spec_.target.address}, {"user", spec_.target.user}};
  }

  PromoteResult Promote(const PromoteOptions& options, MonoTime deadline) override {
    PromoteResult result;
    MysqlConn conn;
    auto state = ConnectAndRead([&] { return Connect(conn, deadline); }, [&] { return Read(conn); },
                                result.outcome);
    if (!state) return result;
    nlohmann::json details = {{"before", state->Json()}};
    if (state->replica_rows.size() > 1) {
      result.outcome = StepOutcome::Fail(where() + " replicates from " +
                                         std::to_string(state->replica_rows.size()) +
                                         " sources (multi-source): promote it by hand");
      return result;
    }
    if (state->replica_rows.empty()) {
      // Not a replica: already promoted, possibly by an earlier run that stopped before
      // making it writable.
      if (!state->read_only && !state->super_read_only) {
        details["changed"] = false;
        result.outcome =
            StepOutcome::Ok(where() + " is already a primary and writable, nothing to do", details);
        return result;
      }
      if (auto f = MakeWritable(conn, *state)) {
        result.outcome = OutcomeOf(*f);
        return result;
      }
      return Verified(conn, details, "was not replicating but read-only: made it writable",
                      std::nullopt);
    }
    if (options.require_semisync) {
      if (auto refused = SemiSyncRefusal(conn, where())) {
        result.outcome = std::move(*refused);
        result.outcome.details = details;
        return result;
      }
      details["semisync_enabled"] = true;  // what it acknowledged is applied below (catch-up)
    }
    const SqlRow& row = state->replica_rows[0];
    bool io = SqlText(SqlColumn(row, {"Replica_IO_Running", "Slave_IO_Running"})) == "Yes";
    bool sql = SqlText(SqlColumn(row, {"Replica_SQL_Running", "Slave_SQL_Running"})) == "Yes";
    auto behind = SqlNumber(SqlColumn(row, {"Seconds_Behind_Source", "Seconds_Behind_Master"}));
    std::string limit = "max_lag " + FormatDuration(options.max_lag);
    // The RPO guard, before anything changes.
    if (!sql) {
      std::string err = SqlText(SqlColumn(row, {"Last_SQL_Error"}));
      result.outcome = StepOutcome::Fail(
          "refusing to promote " + where() +
          ": replication lag unknown, the SQL thread is stopped so received transactions are "
          "not applied (" +
          limit + ")" + (err.empty() ? "" : "; Last_SQL_Error: " + err));
      result.outcome.details = details;
      return result;
    }
    if (behind) {
      details["lag_seconds"] = *behind;
      if (*behind > ToSeconds(options.max_lag)) {
        result.outcome = StepOutcome::Fail("refusing to promote " + where() + ": replication lag " +
                                           FormatLag(*behind) + " exceeds " + limit);
        result.outcome.details = details;
        return result;
      }
    } else {
      // The receiver is not connected (the source is unreachable: the outage itself). The
      // server cannot tell how far behind it is; what it received is applied below.
      details["lag_seconds"] = nullptr;
      details["lag_note"] = "unknown: the replica is not connected to its source (" +
                            SqlText(SqlColumn(row, {"Last_IO_Error"})) + ")";
    }
    // Catch up: stop receiving, then wait until everything received is applied.
    std::string thread_kw = state->replica_syntax ? "REPLICA" : "SLAVE";
    if (io) {
      if (auto r = conn.Query("STOP " + thread_kw + " IO_THREAD"); !r) {
        result.outcome = OutcomeOf(r.error());
        return result;
      }
      auto again = Read(conn);
      if (!again) {
        result.outcome = OutcomeOf(again.error());
        return result;
      }
      if (again->replica_rows.size() == 1) state = std::move(*again);
    }
    double wait_s = std::min(ToSeconds(options.catch_up_timeout), SecondsLeft(deadline) - 1);
    if (auto s = CatchUp(conn, *state, std::max(1.0, std::floor(wait_s))); !s) {
      // Leave replication as it was found.
      if (io) (void)conn.Query("START " + thread_kw + " IO_THREAD");
      result.outcome = StepOutcome::Fail(s.error().message);
      result.outcome.details = details;
      return result;
    }
    for (const std::string& sql_text : {"STOP " + thread_kw, "RESET " + thread_kw + " ALL"}) {
      if (auto r = conn.Query(sql_text); !r) {
        result.outcome = OutcomeOf(r.error());
        return result;
      }
    }
    if (auto f = MakeWritable(conn, *state)) {
      result.outcome = OutcomeOf(*f);
      return result;
    }
    std::string lag_text =
        behind ? "lag at promotion " + FormatLag(*behind) : "lag unknown (source unreachable)";
    return Verified(conn, details, "promoted: replication stopped and reset, writable; " + lag_text,
                    behind);
  }

  FenceResult Fence(MonoTime deadline) override {
    FenceResult result;
    MysqlConn conn;
    auto state = ConnectAndRead([&] { return Connect(conn, deadline); }, [&] { return Read(conn); },
                                result.outcome, &result.unreachable);
    if (!state) return result;
    nlohmann::json details = {{"before", state->Json()}};
    bool fenced = state->read_only && (state->mariadb || state->super_read_only);
    if (fenced) {
      details["changed"] = false;
      result.outcome = StepOutcome::Ok(where() + " is already read-only, nothing to do", details);
      return result;
    }
    // super_read_only turns read_only on as well and also stops users with SUPER.
    std::string sql =
        state->mariadb ? "SET GLOBAL read_only = ON" : "SET GLOBAL super_read_only = ON";
    if (auto r = conn.Query(sql); !r) {
      result.outcome = OutcomeOf(r.error());
      return result;
    }
    auto after = ReadAfter(conn, details, result.outcome);
    if (!after) return result;
    if (!after->read_only) {
      result.outcome = StepOutcome::Retry(where() + ": read_only is still off after " + sql);
      return result;
    }
    result.outcome = StepOutcome::Ok(
        "fenced " + where() + ": " + (state->mariadb ? "read_only" : "super_read_only") + " on",
        details);
    return result;
  }

  Result<WriteState> ReadWriteState(MonoTime deadline) override {
    MysqlConn conn;
    if (auto c = Connect(conn, deadline); !c) {
      return Error::Unavailable("cannot connect to " + c.error().detail);
    }
    auto st = Read(conn);
    if (!st) return Error::Unavailable(st.error().detail);
    WriteState ws;
    ws.read_only = st->read_only && (st->mariadb || st->super_read_only);
    ws.replica = !st->replica_rows.empty();
    ws.details = st->Json();
    return ws;
  }

  FenceResult FenceAndEvict(MonoTime deadline) override {
    FenceResult result = Fence(deadline);
    if (result.unreachable) return result;
    // Sessions are ended even when read_only could not be set (a statement that waits
    // for a lock held by one of them): the next attempt then finds them gone.
    MysqlConn conn;
    if (auto c = Connect(conn, deadline); !c) {
      if (result.outcome.status == StepStatus::kOk) {
        result.outcome = StepOutcome::Retry("cannot connect to " + c.error().detail);
      }
      return result;
    }
    auto killed = EvictClients(conn);
    if (!result.outcome.details.is_object()) result.outcome.details = nlohmann::json::object();
    if (!killed) {
      if (result.outcome.status == StepStatus::kOk) result.outcome = OutcomeOf(killed.error());
      return result;
    }
    result.outcome.details["terminated_sessions"] = *killed;
    if (result.outcome.status == StepStatus::kOk) {
      result.outcome.message += ", " + std::to_string(*killed) + " client session(s) killed";
    }
    return result;
  }

  StepOutcome Unfence(MonoTime deadline) override {
    MysqlConn conn;
    if (auto c = Connect(conn, deadline); !c) {
      return StepOutcome::Retry("cannot connect to " + c.error().detail);
    }
    auto state = Read(conn);
    if (!state) return OutcomeOf(state.error());
    nlohmann::json details = {{"before", state->Json()}};
    if (!state->replica_rows.empty()) {
      return StepOutcome::Fail(where() +
                               " is a replica: making it writable is db_promote's job, not done");
    }
    if (!state->read_only && !state->super_read_only) {
      details["changed"] = false;
      return StepOutcome::Ok(where() + " is writable, nothing to do", details);
    }
    if (auto f = MakeWritable(conn, *state)) return OutcomeOf(*f);
    StepOutcome failed;
    auto after = ReadAfter(conn, details, failed);
    if (!after) return failed;
    if (after->read_only) return StepOutcome::Retry(where() + ": still read-only after SET GLOBAL");
    return StepOutcome::Ok("made " + where() + " writable", details);
  }

  // The way back (issue 17): db/mysql_wayback.cc.
  StepOutcome Divergence(Database& new_primary, MonoTime deadline) override {
    auto* peer = dynamic_cast<MysqlDatabase*>(&new_primary);
    if (peer == nullptr) return StepOutcome::Fail("db_divergence: both databases must be mysql");
    return MysqlDivergence(spec_.target, peer->spec_.target, deadline);
  }
  StepOutcome Rejoin(Database& source, const RejoinOptions& options, MonoTime deadline) override {
    auto* peer = dynamic_cast<MysqlDatabase*>(&source);
    if (peer == nullptr) return StepOutcome::Fail("db_rejoin: both databases must be mysql");
    return MysqlRejoin(spec_.target, peer->spec_.target, options, deadline);
  }
  StepOutcome FenceForSwitchover(MonoTime deadline) override {
    return MysqlFenceForSwitchover(spec_.target, deadline);
  }
  StepOutcome WaitApplied(const std::string& position, Duration timeout,
                          MonoTime deadline) override {
    return MysqlWaitApplied(spec_.target, position, timeout, deadline);
  }

 private:
  // Kills every session but ours, the replication threads (replicas' binlog dumps, this
  // server's own I/O and SQL threads) and the server's system threads.
  SqlOutcome<int> EvictClients(MysqlConn& conn) {
    auto rows = conn.Query(
        "SELECT ID AS id, USER AS user, COMMAND AS command FROM information_schema.PROCESSLIST"
        " WHERE ID <> CONNECTION_ID()");
    if (!rows) return rows.error();
    int killed = 0;
    for (const SqlRow& row : *rows) {
      std::string user = SqlText(SqlColumn(row, {"user"}));
      std::string command = SqlText(SqlColumn(row, {"command"}));
      if (user == "system user" || user == "event_scheduler" || command == "Daemon" ||
          command == "Killed" || command.rfind("Binlog Dump", 0) == 0 ||
          command.rfind("Slave_", 0) == 0 || command.rfind("Replica_", 0) == 0) {
        continue;
      }
      auto id = SqlNumber(SqlColumn(row, {"id"}));
      if (!id) continue;
      auto k = conn.Query("KILL CONNECTION " + std::to_string(static_cast<long long>(*id)));
      if (k) {
        ++killed;
      } else if (k.error().code != ER_NO_SUCH_THREAD) {
        return k.error();  // the session may have ended by itself: that one is fine
      }
    }
    return killed;
  }

  SqlOutcome<bool> Connect(MysqlConn& conn, MonoTime deadline) {
    // The client library's read timeout bounds every statement, MASTER_GTID_WAIT included.
    double left = SecondsLeft(deadline);
    if (left <= 0) return SqlFailure{"timeout", where() + ": the step's deadline has passed"};
    return conn.Connect(spec_.target,
                        std::chrono::duration_cast<Duration>(std::chrono::duration<double>(left)));
  }

  SqlOutcome<MysqlState> Read(MysqlConn& conn) {
    MysqlState st;
    auto v = conn.Query("SELECT VERSION() AS version, @@global.read_only AS read_only");
    if (!v) return v.error();
    if (v->size() != 1)
      return SqlFailure{"error", where() + ": unexpected answer to SELECT VERSION()"};
    st.version = SqlText(SqlColumn((*v)[0], {"version"}));
    st.read_only = SqlNumber(SqlColumn((*v)[0], {"read_only"})).value_or(0) != 0;
    st.mariadb = st.version.find("MariaDB") != std::string::npos;
    if (!st.mariadb) {
      int major = 0, minor = 0, patch = 0;
      std::sscanf(st.version.c_str(), "%d.%d.%d", &major, &minor, &patch);
      st.replica_syntax = major > 8 || (major == 8 && (minor > 0 || patch >= 22));
      auto s = conn.Query("SELECT @@global.super_read_only AS super_read_only");
      if (!s) return s.error();
      if (s->size() == 1) {
        st.super_read_only = SqlNumber(SqlColumn((*s)[0], {"super_read_only"})).value_or(0) != 0;
      }
    }
    auto rows = conn.Query(st.replica_syntax ? "SHOW REPLICA STATUS" : "SHOW SLAVE STATUS");
    if (!rows) return rows.error();
    st.replica_rows = std::move(*rows);
    return st;
  }

  // Waits (at most `seconds`) until everything the replica received is applied.
  Status CatchUp(MysqlConn& conn, const MysqlState& st, double seconds) {
    const SqlRow& row = st.replica_rows[0];
    std::string secs = std::to_string(static_cast<long long>(seconds));
    std::string sql;
    if (st.mariadb) {
      std::string pos = SqlText(SqlColumn(row, {"Gtid_IO_Pos"}));
      if (!pos.empty())
        sql = "SELECT MASTER_GTID_WAIT(" + BackslashQuote(pos) + ", " + secs + ") AS r";
    } else {
      std::string set = SqlText(SqlColumn(row, {"Retrieved_Gtid_Set"}));
      if (!set.empty()) {
        sql = "SELECT WAIT_FOR_EXECUTED_GTID_SET(" + BackslashQuote(set) + ", " + secs + ") AS r";
      }
    }
    if (sql.empty()) {
      // No GTIDs: the position in the source's binlog that was received.
      std::string file = SqlText(SqlColumn(row, {"Source_Log_File", "Master_Log_File"}));
      std::string pos = SqlText(SqlColumn(row, {"Read_Source_Log_Pos", "Read_Master_Log_Pos"}));
      if (file.empty() || pos.empty()) return {};  // nothing received yet
      std::string fn = st.replica_syntax ? "SOURCE_POS_WAIT" : "MASTER_POS_WAIT";
      sql = "SELECT " + fn + "(" + BackslashQuote(file) + ", " + pos + ", " + secs + ") AS r";
    }
    auto r = conn.Query(sql);
    if (!r) return Error::Unavailable("catch-up: " + r.error().detail);
    auto v = r->size() == 1 ? SqlNumber(SqlColumn((*r)[0], {"r"})) : std::nullopt;
    // MASTER_GTID_WAIT / WAIT_FOR_EXECUTED_GTID_SET: 0 done, -1 / 1 timeout;
    // *_POS_WAIT: the number of events waited for (>= 0), -1 timeout, NULL error.
    bool done = v && (st.mariadb || sql.find("POS_WAIT") != std::string::npos ? *v >= 0 : *v == 0);
    if (!done) {
      return Error::Invalid("refusing to promote " + where() +
                            ": received transactions were not applied within " + secs +
                            "s (catch_up_timeout); replication is left running");
    }
    return {};
  }

  // Turns super_read_only (MySQL) and read_only off; the failure of the first statement
  // that did not work.
  std::optional<SqlFailure> MakeWritable(MysqlConn& conn, const MysqlState& st) {
    std::vector<std::string> sqls;
    if (!st.mariadb) sqls.push_back("SET GLOBAL super_read_only = OFF");
    sqls.push_back("SET GLOBAL read_only = OFF");
    for (const std::string& sql : sqls) {
      if (auto r = conn.Query(sql); !r) return r.error();
    }
    return std::nullopt;
  }

  // The state after a change, recorded in `details` ("after"; "changed": true); nullopt,
  // with `outcome` saying why, when it cannot be read.
  std::optional<MysqlState> ReadAfter(MysqlConn& conn, nlohmann::json& details,
                                      StepOutcome& outcome) {
    auto after = Read(conn);
    if (!after) {
      outcome = OutcomeOf(after.error());
      return std::nullopt;
    }
    details["after"] = after->Json();
    details["changed"] = true;
    return std::move(*after);
  }

  PromoteResult Verified(MysqlConn& conn, nlohmann::json details, const std::string& what,
                         std::optional<double> lag) {
    PromoteResult result;
    auto after = ReadAfter(conn, details, result.outcome);
    if (!after) return result;
    if (!after->replica_rows.empty() || after->read_only) {
      result.outcome = StepOutcome::Retry(where() + ": still " +
                                          (after->read_only ? "read-only" : "replicating") +
                                          " after the promotion statements");
      return result;
    }
    result.lag_seconds = lag;
    result.outcome = StepOutcome::Ok(where() + " " + what, details);
    return result;
  }

  MysqlSpec spec_;
  std::string kind_ = "mysql";
};

}  // namespace

Result<std::shared_ptr<Database>> NewMysqlDatabase(const YamlNode& body) {
  if (auto s = body.ExpectMap(); !s) return s.error();
  auto spec = ParseMysqlSpec(body);
  if (!spec) return spec.error();
  if (auto s = body.RejectUnreadKeys(); !s) return s.error();
  return std::shared_ptr<Database>(std::make_shared<MysqlDatabase>(std::move(*spec)));
}

}  // namespace failover
