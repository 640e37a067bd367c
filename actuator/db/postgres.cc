#include "actuator/db/postgres.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <thread>

#include "actuator/db/pg_wayback.h"
#include "common/pg_conn.h"

namespace failover {
namespace {

// How long db_promote watches a standby whose lag reads above max_lag before it refuses:
// WAL in flight on a streaming standby is replayed in milliseconds; a standby still behind
// after this is behind.
constexpr auto kCatchUpWindow = std::chrono::seconds(2);

bool IsTrue(const std::optional<std::string>& v) { return v && (*v == "t" || *v == "on"); }

const char kStateSql[] =
    "SELECT pg_is_in_recovery() AS in_recovery,"
    " current_setting('default_transaction_read_only') AS read_only,"
    " pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) AS backlog_bytes,"
    " EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()) AS replay_age,"
    " (SELECT status FROM pg_stat_wal_receiver LIMIT 1) AS receiver_status,"
    " CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() END AS replay_paused,"
    " (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
    "  AND pid <> pg_backend_pid() AND xact_start < pg_conf_load_time()) AS old_xacts";

struct PgState {
  bool in_recovery = false;
  bool read_only = false;  // default_transaction_read_only
  std::optional<double> backlog_bytes;
  std::optional<double> replay_age;
  std::string receiver_status;
  bool replay_paused = false;
  double old_xacts = 0;  // other sessions in a transaction older than the last reload

  // The standby's lag (docs/contracts/databases.md): 0 when everything received is replayed
  // and the receiver streams; the age of the last replayed transaction when there is
  // something left to replay; unknown when the receiver is not streaming (the primary is
  // unreachable) and nothing is left.
  std::optional<double> Lag() const {
    bool streaming = receiver_status == "streaming";
    bool backlog = (backlog_bytes && *backlog_bytes > 0) || replay_paused;
    if (!backlog) return streaming ? std::optional<double>(0.0) : std::nullopt;
    return replay_age ? std::optional<double>(std::max(0.0, *replay_age)) : std::nullopt;
  }

  nlohmann::json Json() const {
    nlohmann::json j = {{"in_recovery", in_recovery}, {"default_transaction_read_only", read_only}};
    if (in_recovery) {
      j["receiver_status"] =
          receiver_status.empty() ? nlohmann::json() : nlohmann::json(receiver_status);
      j["replay_paused"] = replay_paused;
      j["backlog_bytes"] = backlog_bytes ? nlohmann::json(*backlog_bytes) : nlohmann::json();
    }
    return j;
  }
};

// What a postgres: database block says.
struct PostgresSpec {
  PgTarget target;  // conninfo:, password(_file/_env):
  PgLocal local;    // data_directory:, bin_dir:, log_file: (absolute paths; empty: unset)
};

Result<PostgresSpec> ParsePostgresSpec(const YamlNode& body) {
  PostgresSpec spec;
  auto target = PgTargetFromYaml(body);
  if (!target) return target.error();
  spec.target = std::move(*target);
  for (auto [key, field] :
       {std::pair<const char*, std::string*>{"data_directory", &spec.local.data_directory},
        {"bin_dir", &spec.local.bin_dir},
        {"log_file", &spec.local.log_file}}) {
    auto node = body.Get(key);
    if (!node) continue;
    auto v = node->AsString();
    if (!v) return v.error();
    if (v->empty() || (*v)[0] != '/')
      return node->Fail(std::string(key) + " must be an absolute path");
    *field = *v;
  }
  return spec;
}

class PostgresDatabase final : public Database {
 public:
  explicit PostgresDatabase(PostgresSpec spec) : spec_(std::move(spec)) {}

  const std::string& kind() const override { return kind_; }
  const std::string& where() const override { return spec_.target.where; }
  nlohmann::json Describe() const override {
    nlohmann::json j = {
        {"kind", kind_}, {"address", spec_.target.where}, {"conninfo", spec_.target.conninfo}};
    if (!spec_.local.data_directory.empty()) j["data_directory"] = spec_.local.data_directory;
    return j;
  }

  PromoteResult Promote(const PromoteOptions& options, MonoTime deadline) override {
    PromoteResult result;
    PgConn conn;
    auto state = ConnectAndRead([&] { return Connect(conn, deadline); },
                                [&] { return Read(conn, deadline); }, result.outcome);
    if (!state) return result;
    nlohmann::json details = {{"before", state->Json()}};
    if (!state->in_recovery) {
      if (!state->read_only) {
        details["changed"] = false;
        result.outcome =
            StepOutcome::Ok(where() + " is already a primary and writable, nothing to do", details);
        return result;
      }
      // A primary fenced earlier (failback) or promoted by an interrupted run.
      if (auto s = MakeWritable(conn, deadline); !s) {
        result.outcome = StepOutcome::Fail(s.error().message);
        return result;
      }
      details["changed"] = true;
      result.outcome = StepOutcome::Ok(
          where() + " was a primary with default_transaction_read_only on: made it writable",
          details);
      return result;
    }
    std::string limit = "max_lag " + FormatDuration(options.max_lag);
    auto lag = state->Lag();
    if (lag && *lag > ToSeconds(options.max_lag) && state->receiver_status == "streaming" &&
        !state->replay_paused) {
      // The age of the last replayed transaction is only an upper bound: after a quiet
      // spell, WAL that has just arrived (a new order, a checkpoint) shows as that whole
      // age until it is replayed, a few milliseconds later. Watch briefly; only a reading
      // that finds the receiver streaming and everything replayed lowers the lag.
      auto first = *lag;
      auto caught_up = WaitCaughtUp(conn, deadline);
      if (!caught_up) {
        result.outcome = OutcomeOf(caught_up.error());
        return result;
      }
      if (caught_up->first) {
        lag = 0.0;
        details["lag_first_reading_seconds"] = first;
        details["lag_note"] = "the first reading (" + FormatLag(first) +
                              ", the last replayed transaction's age) was WAL in flight: all "
                              "of it was replayed " +
                              std::to_string(caught_up->second) + " ms later, while streaming";
      }
    }
    bool backlog = (state->backlog_bytes && *state->backlog_bytes > 0) || state->replay_paused;
    if (lag) {
      details["lag_seconds"] = *lag;
      if (*lag > ToSeconds(options.max_lag)) {
        result.outcome = StepOutcome::Fail("refusing to promote " + where() + ": replication lag " +
                                           FormatLag(*lag) + " exceeds " + limit +
                                           (state->replay_paused ? " (WAL replay is paused)" : ""));
        result.outcome.details = details;
        return result;
      }
    } else if (backlog) {
      result.outcome =
          StepOutcome::Fail("refusing to promote " + where() +
                            ": replication lag unknown with WAL left to replay (" + limit + ")");
      result.outcome.details = details;
      return result;
    } else {
      details["lag_seconds"] = nullptr;
      details["lag_note"] = "unknown: the WAL receiver is not streaming (primary unreachable)";
    }
    // pg_promote replays what was received, then ends recovery; bounded by
    // catch_up_timeout and the step's deadline.
    long long wait_s = static_cast<long long>(
        std::floor(std::min(ToSeconds(options.catch_up_timeout), SecondsLeft(deadline) - 1)));
    wait_s = std::max(1LL, wait_s);
    auto r = conn.Exec("SELECT pg_promote(wait => true, wait_seconds => " + std::to_string(wait_s) +
                           ") AS promoted",
                       deadline);
    if (!r) {
      result.outcome = OutcomeOf(r.error());
      return result;
    }
    auto after = Read(conn, deadline);
    if (!after) {
      result.outcome = OutcomeOf(after.error());
      return result;
    }
    if (after->in_recovery) {
      result.outcome =
          StepOutcome::Retry(where() + ": still in recovery " + std::to_string(wait_s) +
                             "s after pg_promote (it may still finish)");
      return result;
    }
    if (after->read_only) {
      if (auto s = MakeWritable(conn, deadline); !s) {
        result.outcome = StepOutcome::Fail(s.error().message);
        return result;
      }
    }
    details["after"] = after->Json();
    details["changed"] = true;
    result.lag_seconds = lag;
    result.outcome = StepOutcome::Ok(
        where() + " promoted: out of recovery, writable; " +
            (lag ? "lag at promotion " + FormatLag(*lag) : "lag unknown (primary unreachable)"),
        details);
    return result;
  }

  FenceResult Fence(MonoTime deadline) override {
    FenceResult result;
    PgConn conn;
    auto state =
        ConnectAndRead([&] { return Connect(conn, deadline); },
                       [&] { return Read(conn, deadline); }, result.outcome, &result.unreachable);
    if (!state) return result;
    nlohmann::json details = {{"before", state->Json()}};
    if (state->in_recovery) {
      details["changed"] = false;
      result.outcome = StepOutcome::Ok(
          where() + " is a standby (in recovery), it takes no writes: nothing to do", details);
      return result;
    }
    if (state->read_only && state->old_xacts == 0) {
      details["changed"] = false;
      result.outcome = StepOutcome::Ok(
          where() + " is already read-only (default_transaction_read_only on), nothing to do",
          details);
      return result;
    }
    std::string done;
    if (!state->read_only) {
      for (const char* sql :
           {"ALTER SYSTEM SET default_transaction_read_only = on", "SELECT pg_reload_conf()"}) {
        if (auto r = conn.Exec(sql, deadline); !r) {
          result.outcome = OutcomeOf(r.error());
          return result;
        }
      }
      if (auto s = WaitSetting(conn, "on", deadline); !s) {
        result.outcome = StepOutcome::Retry(s.error().message);
        return result;
      }
      done = "default_transaction_read_only on";
    }
    // Sessions opened before the change may be inside a transaction that writes: end them.
    // With the setting already on, only those whose transaction began before the last
    // reload (an interrupted earlier run).
    std::string which = state->read_only ? " AND xact_start < pg_conf_load_time()" : "";
    auto t = conn.Exec(
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS terminated"
        " FROM pg_stat_activity WHERE backend_type = 'client backend'"
        " AND pid <> pg_backend_pid()" +
            which,
        deadline);
    if (!t) {
      result.outcome = OutcomeOf(t.error());
      return result;
    }
    std::string n = (t->size() == 1 && (*t)[0].size() == 1)
                        ? SqlText(SqlColumn((*t)[0][0], {"terminated"}))
                        : std::string("0");
    details["terminated_sessions"] = SqlNumber(n).value_or(0);
    details["changed"] = true;
    result.outcome =
        StepOutcome::Ok("fenced " + where() + ": " + (done.empty() ? std::string() : done + ", ") +
                            n + " other session(s) terminated",
                        details);
    return result;
  }

  Result<WriteState> ReadWriteState(MonoTime deadline) override {
    PgConn conn;
    if (auto c = Connect(conn, deadline); !c) {
      return Error::Unavailable("cannot connect to " + c.error().detail);
    }
    auto st = Read(conn, deadline);
    if (!st) return Error::Unavailable(st.error().detail);
    WriteState ws;
    ws.read_only = st->read_only;
    ws.replica = st->in_recovery;
    ws.details = st->Json();
    return ws;
  }

  // Fence() already ends the other client sessions.
  FenceResult FenceAndEvict(MonoTime deadline) override { return Fence(deadline); }

  StepOutcome Unfence(MonoTime deadline) override {
    PgConn conn;
    if (auto c = Connect(conn, deadline); !c) {
      return StepOutcome::Retry("cannot connect to " + c.error().detail);
    }
    auto state = Read(conn, deadline);
    if (!state) return OutcomeOf(state.error());
    nlohmann::json details = {{"before", state->Json()}};
    if (state->in_recovery) {
      return StepOutcome::Fail(where() +
                               " is a standby: making it writable is db_promote's job, not done");
    }
    if (!state->read_only) {
      details["changed"] = false;
      return StepOutcome::Ok(where() + " is writable, nothing to do", details);
    }
    if (auto s = MakeWritable(conn, deadline); !s) return StepOutcome::Retry(s.error().message);
    details["changed"] = true;
    return StepOutcome::Ok("made " + where() + " writable", details);
  }

  // The way back (issue 17): db/pg_wayback.cc.
  StepOutcome Divergence(Database& new_primary, MonoTime deadline) override {
    auto* peer = dynamic_cast<PostgresDatabase*>(&new_primary);
    if (peer == nullptr) return StepOutcome::Fail("db_divergence: both databases must be postgres");
    return PgDivergence(spec_.target, spec_.local, peer->spec_.target, deadline);
  }
  StepOutcome Rejoin(Database& source, const RejoinOptions& options, MonoTime deadline) override {
    auto* peer = dynamic_cast<PostgresDatabase*>(&source);
    if (peer == nullptr) return StepOutcome::Fail("db_rejoin: both databases must be postgres");
    return PgRejoin(spec_.target, spec_.local, peer->spec_.target, options, deadline);
  }
  // Refuses before fencing when the server could not be re-pointed afterwards (pg_rewind
  // needs its data directory); then Fence() and the position written.
  StepOutcome FenceForSwitchover(MonoTime deadline) override {
    if (spec_.local.data_directory.empty()) {
      return StepOutcome::Fail(
          where() +
          " has no data_directory in its postgres: config: after the switchover it must be "
          "rewound (pg_rewind) to follow the new primary, which needs local access; not fenced, "
          "nothing changed");
    }
    FenceResult fence = Fence(deadline);
    if (fence.outcome.status != StepStatus::kOk) return fence.outcome;
    StepOutcome pos = PgSwitchoverPosition(spec_.target, deadline);
    if (pos.status != StepStatus::kOk) return pos;
    nlohmann::json details = fence.outcome.details;
    details["position"] = pos.details["position"];
    return StepOutcome::Ok(fence.outcome.message + "; " + pos.message, details);
  }
  StepOutcome WaitApplied(const std::string& position, Duration timeout,
                          MonoTime deadline) override {
    return PgWaitApplied(spec_.target, position, timeout, deadline);
  }

 private:
  SqlOutcome<bool> Connect(PgConn& conn, MonoTime deadline) {
    double left = SecondsLeft(deadline);
    if (left <= 0) return SqlFailure{"timeout", where() + ": the step's deadline has passed"};
    return conn.Connect(spec_.target, "failover_actuator", deadline,
                        std::chrono::duration_cast<Duration>(std::chrono::duration<double>(left)));
  }

  SqlOutcome<PgState> Read(PgConn& conn, MonoTime deadline) {
    auto r = conn.Exec(kStateSql, deadline);
    if (!r) return r.error();
    if (r->size() != 1 || (*r)[0].size() != 1) {
      return SqlFailure{"error", where() + ": unexpected answer to the state query", false};
    }
    const SqlRow& row = (*r)[0][0];
    PgState st;
    st.in_recovery = IsTrue(SqlColumn(row, {"in_recovery"}));
    st.read_only = IsTrue(SqlColumn(row, {"read_only"}));
    st.backlog_bytes = SqlNumber(SqlColumn(row, {"backlog_bytes"}));
    st.replay_age = SqlNumber(SqlColumn(row, {"replay_age"}));
    st.receiver_status = SqlText(SqlColumn(row, {"receiver_status"}));
    st.replay_paused = IsTrue(SqlColumn(row, {"replay_paused"}));
    st.old_xacts = SqlNumber(SqlColumn(row, {"old_xacts"})).value_or(0);
    return st;
  }

  // Polls the state for up to kCatchUpWindow (and the deadline) while the standby streams
  // and replays; {true, ms waited} at the first reading with nothing left to replay.
  SqlOutcome<std::pair<bool, long long>> WaitCaughtUp(PgConn& conn, MonoTime deadline) {
    auto start = SystemClock::Get().Now();
    auto until = std::min(start + kCatchUpWindow, deadline - std::chrono::milliseconds(500));
    while (SystemClock::Get().Now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
      auto st = Read(conn, deadline);
      if (!st) return st.error();
      if (!st->in_recovery || st->replay_paused || st->receiver_status != "streaming")
        break;  // changed meanwhile
      if (auto lag = st->Lag(); lag && *lag == 0.0) {
        auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(SystemClock::Get().Now() - start);
        return std::pair<bool, long long>{true, ms.count()};
      }
    }
    return std::pair<bool, long long>{false, 0};
  }

  // After pg_reload_conf() the server signals every backend; ours applies the new value
  // before its next statement. Polls until it does, up to the deadline.
  Status WaitSetting(PgConn& conn, const std::string& want, MonoTime deadline) {
    std::string seen;
    while (true) {
      auto r = conn.Exec("SELECT current_setting('default_transaction_read_only') AS v", deadline);
      if (!r) return Error::Unavailable(r.error().detail);
      if (r->size() == 1 && (*r)[0].size() == 1) seen = SqlText(SqlColumn((*r)[0][0], {"v"}));
      if (seen == want) return {};
      if (SecondsLeft(deadline) < 0.1) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return Error::Unavailable(where() + ": default_transaction_read_only is still " + seen +
                              " after pg_reload_conf()");
  }

  Status MakeWritable(PgConn& conn, MonoTime deadline) {
    for (const char* sql :
         {"ALTER SYSTEM RESET default_transaction_read_only", "SELECT pg_reload_conf()"}) {
      if (auto r = conn.Exec(sql, deadline); !r) return Error::Unavailable(r.error().detail);
    }
    if (auto s = WaitSetting(conn, "off", deadline); !s) {
      return Error::Invalid(s.error().message +
                            " (ALTER SYSTEM RESET done: is it set in postgresql.conf?)");
    }
    return {};
  }

  PostgresSpec spec_;
  std::string kind_ = "postgres";
};

}  // namespace

Result<std::shared_ptr<Database>> NewPostgresDatabase(const YamlNode& body) {
  if (auto s = body.ExpectMap(); !s) return s.error();
  auto spec = ParsePostgresSpec(body);
  if (!spec) return spec.error();
  if (auto s = body.RejectUnreadKeys(); !s) return s.error();
  return std::shared_ptr<Database>(std::make_shared<PostgresDatabase>(std::move(*spec)));
}

}  // namespace failover
