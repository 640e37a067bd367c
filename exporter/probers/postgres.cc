#include "exporter/probers/postgres.h"

#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "common/pg_conn.h"
#include "exporter/probers/spec_prober.h"

namespace failover {

const char kPostgresStatusSql[] =
    "SELECT pg_is_in_recovery() AS in_recovery,"
    " current_setting('transaction_read_only') AS read_only,"
    " pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())"
    " AS receive_replay_bytes,"
    " EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp())"
    " AS replay_age_seconds,"
    " EXTRACT(EPOCH FROM clock_timestamp()) AS server_time,"
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

bool IsTrue(const std::optional<std::string>& v) { return v && (*v == "t" || *v == "on"); }

// A postgres probe's block as parsed (ParsePostgresSpec); the keys read there are the keys
// a postgres probe accepts.
struct PostgresSpec {
  PgTarget target;      // conninfo, password*
  Duration timeout{0};  // the probe's timeout
  // The conninfo's hosts (one entry each): the name to look up, or "" for one that needs
  // no lookup (an IP address, a socket directory). Empty: nothing to look up (no host
  // names, or the conninfo sets hostaddr itself).
  std::vector<std::string> lookups;
  std::vector<std::string> hosts;
  std::vector<std::string> ports;  // the conninfo's port list, split
};

class PostgresProber final : public DbProber, public std::enable_shared_from_this<PostgresProber> {
 public:
  explicit PostgresProber(PostgresSpec spec) : spec_(std::move(spec)) {}

  void Start(ProbeEnv& env, MonoTime deadline, ProbeDone done) override {
    StartRun(
        env, deadline, spec_.timeout, spec_.target.where,
        [this] { return std::make_shared<Run>(shared_from_this()); }, std::move(done));
  }

 private:
  // One run: (look up the hosts,) connect unless the kept connection is there, then the
  // status query. Every step is non-blocking.
  class Run final : public DbRun {
   public:
    explicit Run(std::shared_ptr<PostgresProber> p)
        : DbRun(p, p->spec_.timeout), p_(std::move(p)) {}

    Outcome Step(bool, bool) override {
      switch (state_) {
        case State::kBegin:
          reused_ = p_->conn_.connected();
          return reused_ ? Query() : Resolve();
        case State::kLookup: {
          for (auto& lookup : lookups_) {
            if (lookup && !lookup->finished()) return SqlWait::On(lookup->fd(), true, false);
          }
          // Every address of a name becomes an entry of its own (libpq tries them in
          // order, as it would have tried the name's addresses).
          const PostgresSpec& spec = p_->spec_;
          std::string hosts, hostaddrs, ports;
          bool first = true;
          for (size_t i = 0; i < lookups_.size(); ++i) {
            std::vector<std::string> addresses = {""};
            if (lookups_[i] != nullptr) {
              auto found = lookups_[i]->addresses();
              if (!found) {
                return ProbeResult::Failure("resolve",
                                            spec.target.where + ": " + found.error().message);
              }
              addresses = std::move(*found);
            }
            for (const std::string& address : addresses) {
              if (!first) {
                hosts += ",";
                hostaddrs += ",";
                ports += ",";
              }
              first = false;
              // An IP address or a socket directory stays as it is, without a hostaddr.
              hosts += lookups_[i] != nullptr ? spec.lookups[i] : spec.hosts[i];
              hostaddrs += address;
              if (spec.ports.size() == lookups_.size()) ports += spec.ports[i];
            }
          }
          lookups_.clear();
          p_->pending_lookups_.clear();
          std::vector<std::pair<std::string, std::string>> overrides = {{"host", hosts},
                                                                        {"hostaddr", hostaddrs}};
          if (spec.ports.size() == spec.lookups.size() && spec.ports.size() > 1) {
            overrides.push_back({"port", ports});
          }
          return Connect(overrides);
        }
        case State::kConnect:
        case State::kExec: {
          SqlWait wait = p_->conn_.Continue();
          if (!wait.done) return wait;
          return Finished();
        }
      }
      return ProbeResult::Failure("error", "postgres probe: unknown state (internal error)");
    }

    void Abandon() override {
      lookups_.clear();
      p_->conn_.Close();
    }

   private:
    enum class State { kBegin, kLookup, kConnect, kExec };

    Outcome Resolve() {
      const PostgresSpec& spec = p_->spec_;
      if (spec.lookups.empty()) return Connect({});
      state_ = State::kLookup;
      // Lookups an earlier run gave up on are still the ones to wait for: one thread per
      // name however long the name server hangs.
      if (p_->pending_lookups_.empty()) {
        for (const std::string& name : spec.lookups) {
          p_->pending_lookups_.push_back(name.empty() ? nullptr : HostLookup::Start(name));
        }
      }
      lookups_ = p_->pending_lookups_;
      return Step(false, false);
    }

    Outcome Connect(const std::vector<std::pair<std::string, std::string>>& overrides) {
      state_ = State::kConnect;
      SqlWait wait = p_->conn_.StartConnect(p_->spec_.target, "failover_exporter", overrides);
      if (!wait.done) return wait;
      return Finished();
    }

    Outcome Query() {
      std::string sql = kPostgresStatusSql;
      if (p_->fresh_) {
        // Server side too, a status query never runs longer than the probe waits for it.
        long long ms = std::max<long long>(
            1, std::chrono::duration_cast<std::chrono::milliseconds>(p_->spec_.timeout).count());
        sql = "SET statement_timeout = " + std::to_string(ms) + "; " + sql;
      }
      p_->fresh_ = false;
      state_ = State::kExec;
      SqlWait wait = p_->conn_.StartExec(sql);
      if (!wait.done) return wait;
      return Finished();
    }

    Outcome Finished() {
      PgAsyncConn& conn = p_->conn_;
      const std::optional<SqlFailure>& failure = conn.failure();
      if (state_ == State::kConnect) {
        if (failure) return ProbeResult::Failure(failure->reason, failure->detail);
        p_->fresh_ = true;
        p_->caught_up_at_.reset();  // a new session: nothing seen on this one yet
        return Query();
      }
      if (failure) {
        if (ReconnectOnce(*failure)) {
          conn.Close();
          return Resolve();
        }
        if (failure->connection_broken) conn.Close();
        return ProbeResult::Failure(failure->reason, failure->detail);
      }
      std::vector<std::vector<SqlRow>>& results = conn.results();
      // A fresh connection's first answer starts with the SET's (empty) result.
      if (results.size() == 3) results.erase(results.begin());
      if (results.size() != 2 || results[0].size() != 1) {
        return ProbeResult::Failure(
            "error", p_->spec_.target.where + ": unexpected answer to the status query");
      }
      return PostgresProbeResult(results[0][0], results[1], &p_->caught_up_at_);
    }

    std::shared_ptr<PostgresProber> p_;
    State state_ = State::kBegin;
    std::vector<std::shared_ptr<HostLookup>> lookups_;
  };

  PostgresSpec spec_;
  // Loop thread only: the connection kept between runs.
  PgAsyncConn conn_;
  bool fresh_ = false;  // connected, statement_timeout not yet set
  // Server time (epoch seconds) of the last run on this connection that found the standby
  // streaming with everything received replayed; see PostgresProbeResult.
  std::optional<double> caught_up_at_;
  std::vector<std::shared_ptr<HostLookup>> pending_lookups_;  // not yet used by a run
};

// Which of the conninfo's hosts need a lookup before libpq connects (libpq would look
// them up itself, blocking). Fills spec.hosts and spec.lookups (see PostgresSpec).
void PlanLookups(PostgresSpec& spec) {
  PQconninfoOption* opts = PQconninfoParse(spec.target.conninfo.c_str(), nullptr);
  if (opts == nullptr) return;  // checked at load: does not happen
  std::string host, hostaddr, port;
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    if (std::string(o->keyword) == "host") host = o->val;
    if (std::string(o->keyword) == "hostaddr") hostaddr = o->val;
    if (std::string(o->keyword) == "port") port = o->val;
  }
  PQconninfoFree(opts);
  if (!hostaddr.empty() || host.empty()) return;
  std::vector<std::string> hosts, lookups;
  bool any = false;
  size_t start = 0;
  while (true) {
    size_t comma = host.find(',', start);
    std::string h =
        host.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    bool name = !h.empty() && h[0] != '/' && h[0] != '@' && !IsIpLiteral(h);
    hosts.push_back(name ? "" : h);
    lookups.push_back(name ? h : "");
    any = any || name;
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (!any) return;
  spec.hosts = std::move(hosts);
  spec.lookups = std::move(lookups);
  for (size_t start = 0; !port.empty();) {
    size_t comma = port.find(',', start);
    spec.ports.push_back(port.substr(start, comma == std::string::npos ? comma : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
}

}  // namespace

ProbeResult PostgresProbeResult(const SqlRow& server, const std::vector<SqlRow>& standbys,
                                std::optional<double>* caught_up_at) {
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
    bool streaming = SqlText(receiver_status) == "streaming";
    bool replaying = !IsTrue(Get(server, "replay_paused"));
    result.samples.push_back(
        {&kReplicationRunningMetric, {{"thread", "receiver"}}, streaming ? 1.0 : 0.0});
    result.samples.push_back(
        {&kReplicationRunningMetric, {{"thread", "replay"}}, replaying ? 1.0 : 0.0});
    auto bytes = SqlNumber(Get(server, "receive_replay_bytes"));
    if (bytes) result.samples.push_back({&kReplicationLagBytesMetric, {}, std::max(0.0, *bytes)});
    // Everything received is replayed and more is streaming in: no lag, however long ago
    // the last transaction was (an idle primary). Otherwise: the age of the last replayed
    // transaction, but, while streaming, no more than the time since a run last saw the
    // standby caught up: WAL that arrived on an idle primary (a checkpoint, a standby
    // snapshot) and is not yet replayed when the run looks is not hours of lag.
    std::optional<double> seconds;
    auto server_time = SqlNumber(Get(server, "server_time"));
    if (streaming && bytes && *bytes <= 0) {
      seconds = 0;
      if (caught_up_at != nullptr && server_time) *caught_up_at = *server_time;
    } else if (auto age = SqlNumber(Get(server, "replay_age_seconds"))) {
      seconds = std::max(0.0, *age);
      if (streaming && caught_up_at != nullptr && *caught_up_at && server_time) {
        seconds = std::min(*seconds, std::max(0.0, *server_time - **caught_up_at));
      }
    }
    if (!streaming && caught_up_at != nullptr) caught_up_at->reset();
    if (seconds) result.samples.push_back({&kReplicationLagSecondsMetric, {}, *seconds});
  }
  std::set<std::string> used;
  for (const SqlRow& row : standbys) {
    if (Get(row, "pid") && !Get(row, "state")) {
      return ProbeResult::Failure("query_failed",
                                  "pg_stat_replication hides the standbys' details from this user: "
                                  "GRANT pg_monitor");
    }
    std::string app = SqlText(Get(row, "application_name"));
    std::string addr = SqlText(Get(row, "client_addr"));
    if (addr.empty()) addr = "local";
    // "walreceiver" is the default name of every standby: say where it connects from.
    std::string name = app.empty() || app == "walreceiver" ? addr : app;
    if (!used.insert(name).second) {
      name += "@" + addr + ":" + SqlText(Get(row, "client_port"));
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

namespace {

Result<PostgresSpec> ParsePostgresSpec(const YamlNode& node, const ProberContext& ctx) {
  PostgresSpec spec;
  spec.timeout = ctx.timeout;
  auto target = PgTargetFromYaml(node);
  if (!target) return target.error();
  spec.target = std::move(*target);
  if (auto s = node.RejectUnreadKeys(); !s) return s.error();
  PlanLookups(spec);
  return spec;
}

}  // namespace

Result<std::shared_ptr<Prober>> NewPostgresProber(const YamlNode& node, const ProberContext& ctx) {
  return ProberFromSpec<PostgresProber>(ParsePostgresSpec(node, ctx));
}

}  // namespace failover
