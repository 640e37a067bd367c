// db_promote against the real MariaDB and PostgreSQL pairs of scripts/stack, plus the
// `databases:` configuration. Every case that needs a lagging replica restores it; the
// promotion itself comes last in each suite (it cannot be undone), so the file is also
// correct when all cases run in one process.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <thread>

#include "actuator/config.h"
#include "actuator/db/database.h"
#include "actuator/metrics.h"
#include "actuator/steps/db_promote.h"
#include "common/mysql_conn.h"
#include "common/pg_conn.h"
#include "tests/actuator/step_test_util.h"
#include "tests/support/stack.h"
#include "tests/support/wait.h"

namespace failover {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::Stack;

std::string MetricsText(ActuatorMetrics& m) {
  return prometheus::TextSerializer().Serialize(m.registry()->Collect());
}

// A root connection to one server of the stack's MariaDB pair (root has no password).
class Root {
 public:
  explicit Root(const std::string& address) {
    auto node = YamlNode::LoadString("{address: \"" + address + "\", user: root}", "test");
    target_ = *MysqlTargetFromYaml(*node);
    auto c = conn_.Connect(target_, std::chrono::seconds(30));
    EXPECT_TRUE(c) << c.error().detail;
  }
  std::vector<SqlRow> Q(const std::string& sql) {
    auto r = conn_.Query(sql);
    EXPECT_TRUE(r) << sql << ": " << r.error().detail;
    return r ? *r : std::vector<SqlRow>{};
  }
  std::string One(const std::string& sql, const char* column) {
    auto rows = Q(sql);
    if (rows.size() != 1) return "<" + std::to_string(rows.size()) + " rows>";
    auto v = SqlColumn(rows[0], {column});
    return v ? *v : "NULL";
  }

 private:
  MysqlTarget target_;
  MysqlConn conn_;
};

// Inserts a row as `app` (stopped by read_only, unlike root and failover).
int AppInsert(const Stack& stack, const std::string& addr_var, const std::string& note,
              std::string* out = nullptr) {
  return stack.Shell("mariadb --no-defaults -h127.0.0.1 -P\"${" + addr_var +
                         "#*:}\" -uapp -p\"$(cat \"$MARIADB_APP_PASSWORD_FILE\")\" shop -e "
                         "\"INSERT INTO orders (note) VALUES ('" +
                         note + "')\" 2>&1",
                     out);
}

class DbStepTestBase : public ::testing::Test {
 protected:
  void AddDatabase(const std::string& id, const std::string& yaml) {
    auto node = YamlNode::LoadString(yaml, "actuator.yml");
    ASSERT_TRUE(node) << node.error().message;
    auto dbs = LoadDatabases(*node);
    ASSERT_TRUE(dbs) << dbs.error().message;
    databases_[id] = dbs->begin()->second;
    fctx_.databases = &databases_;
  }
  Result<std::unique_ptr<Step>> Make(const std::string& yaml) {
    return testing::BuildStep(yaml, &NewDbPromoteStep, fctx_);
  }
  StepOutcome Run(Step& step) {
    return testing::RunStep(step, SystemClock::Get(), nullptr, nullptr,
                            [&](StepContext& c) { c.metrics = &metrics_; });
  }

  DatabaseMap databases_;
  StepFactoryContext fctx_;
  ActuatorMetrics metrics_;
};

// ---- MariaDB -----------------------------------------------------------------------

class MariaDbPromoteTest : public DbStepTestBase {
 protected:
  void SetUp() override {
    stack_ = &Stack::Get({"mariadb"});
    AddDatabase("eu-west-db", "{eu-west-db: {mysql: {address: \"" +
                                  stack_->Env("MARIADB_REPLICA_ADDR") +
                                  "\", user: failover, password_file: \"" +
                                  stack_->Env("MARIADB_FAILOVER_PASSWORD_FILE") + "\"}}}");
  }
  // Waits until the replica applied everything and reports no lag.
  void WaitCaughtUp() {
    Root primary(stack_->Env("MARIADB_PRIMARY_ADDR"));
    Root replica(stack_->Env("MARIADB_REPLICA_ADDR"));
    std::string want = primary.One("SELECT @@global.gtid_binlog_pos AS p", "p");
    ASSERT_TRUE(testing::WaitFor([&] {
      auto rows = replica.Q("SHOW SLAVE STATUS");
      return rows.size() == 1 && replica.One("SELECT @@global.gtid_slave_pos AS p", "p") == want &&
             SqlColumn(rows[0], {"Seconds_Behind_Master"}) == std::optional<std::string>("0");
    })) << "the replica did not catch up with "
        << want;
  }
  void ExpectStillReplica() {
    Root replica(stack_->Env("MARIADB_REPLICA_ADDR"));
    EXPECT_EQ(replica.Q("SHOW SLAVE STATUS").size(), 1u);
    EXPECT_EQ(replica.One("SELECT @@global.read_only AS r", "r"), "1");
  }
  Stack* stack_ = nullptr;
};

TEST_F(MariaDbPromoteTest, RefusesWhileTheSqlThreadIsStoppedAndChangesNothing) {
  Root replica(stack_->Env("MARIADB_REPLICA_ADDR"));
  replica.Q("STOP SLAVE SQL_THREAD");
  ASSERT_EQ(AppInsert(*stack_, "MARIADB_PRIMARY_ADDR", "while-stopped"), 0);
  auto step = Make("{database: eu-west-db, max_lag: 5s}");
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome out = Run(**step);
  EXPECT_EQ(out.status, StepStatus::kFailed) << out.message;
  EXPECT_THAT(out.message, HasSubstr("refusing to promote"));
  EXPECT_THAT(out.message, HasSubstr("lag unknown"));
  EXPECT_THAT(out.message, HasSubstr("max_lag 5s"));
  ExpectStillReplica();
  EXPECT_THAT(MetricsText(metrics_), Not(HasSubstr("failover_actuator_promotion_lag_seconds{")));
  replica.Q("START SLAVE SQL_THREAD");
  WaitCaughtUp();
}

TEST_F(MariaDbPromoteTest, RefusesWhenTheLagExceedsMaxLag) {
  // The replica applies a transaction written "an hour ago" and is held up by a table
  // lock: it is 3600 s behind its primary.
  Root replica(stack_->Env("MARIADB_REPLICA_ADDR"));
  replica.Q("LOCK TABLES shop.orders WRITE");
  {
    Root primary(stack_->Env("MARIADB_PRIMARY_ADDR"));
    primary.Q("SET SESSION timestamp = UNIX_TIMESTAMP() - 3600");
    primary.Q("INSERT INTO shop.orders (note) VALUES ('an hour ago')");
  }
  Root observer(stack_->Env("MARIADB_REPLICA_ADDR"));
  ASSERT_TRUE(testing::WaitFor([&] {
    auto rows = observer.Q("SHOW SLAVE STATUS");
    auto lag =
        rows.size() == 1 ? SqlNumber(SqlColumn(rows[0], {"Seconds_Behind_Master"})) : std::nullopt;
    return lag && *lag > 3000;
  })) << "the replica never reported the lag";
  auto step = Make("{database: eu-west-db, max_lag: 5s, catch_up_timeout: 10s}");
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome out = Run(**step);
  EXPECT_EQ(out.status, StepStatus::kFailed) << out.message;
  // An hour back, read at whole seconds: 3599 s when the second turns between the two.
  EXPECT_THAT(out.message, ::testing::ContainsRegex("replication lag (3599|36[0-9][0-9])s"));
  EXPECT_THAT(out.message, HasSubstr("exceeds max_lag 5s"));
  EXPECT_GT(out.details.value("lag_seconds", 0.0), 3000);
  replica.Q("UNLOCK TABLES");
  ExpectStillReplica();
  WaitCaughtUp();
}

TEST_F(MariaDbPromoteTest, RequireSemiSyncRefusesAReplicaWithoutItAndChangesNothing) {
  WaitCaughtUp();
  auto step = Make("{database: eu-west-db, max_lag: 5s, require_semisync: true}");
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome out = Run(**step);
  EXPECT_EQ(out.status, StepStatus::kFailed) << out.message;
  EXPECT_THAT(out.message, HasSubstr("refusing to promote"));
  EXPECT_THAT(out.message, HasSubstr("require_semisync"));
  EXPECT_THAT(out.message, HasSubstr("rpl_semi_sync_slave_enabled is OFF"));
  ExpectStillReplica();
  Root replica(stack_->Env("MARIADB_REPLICA_ADDR"));
  EXPECT_EQ(SqlColumn(replica.Q("SHOW SLAVE STATUS")[0], {"Slave_IO_Running"}),
            std::optional<std::string>("Yes"))
      << "refused before anything changed";
}

// Last in the suite: the pair stays split afterwards. With require_semisync, on a pair
// that replicates semi-synchronously: an order the primary acknowledged (the replica has
// it in its relay log) but the replica has not applied yet (a table lock holds its
// applier) is applied before the replica becomes writable.
TEST_F(MariaDbPromoteTest, PromotesTheReplicaThenASecondRunDoesNothing) {
  WaitCaughtUp();
  Root primary(stack_->Env("MARIADB_PRIMARY_ADDR"));
  Root semisync_replica(stack_->Env("MARIADB_REPLICA_ADDR"));
  // The primary stays (asynchronous) for the suites that run after this one.
  struct Restore {
    Root& primary;
    ~Restore() { primary.Q("SET GLOBAL rpl_semi_sync_master_enabled = OFF"); }
  } restore{primary};
  primary.Q("SET GLOBAL rpl_semi_sync_master_timeout = 10000");
  primary.Q("SET GLOBAL rpl_semi_sync_master_enabled = ON");
  semisync_replica.Q("SET GLOBAL rpl_semi_sync_slave_enabled = ON");
  semisync_replica.Q("STOP SLAVE IO_THREAD");
  semisync_replica.Q("START SLAVE IO_THREAD");
  ASSERT_TRUE(testing::WaitFor([&] {
    return primary.One("SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_clients'", "Value") == "1";
  })) << "the replica never connected as a semi-sync client";
  auto yes_tx = [&] {
    return SqlNumber(primary.One("SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_yes_tx'", "Value"))
        .value_or(-1);
  };
  double acked_before = yes_tx();
  semisync_replica.Q("LOCK TABLES shop.orders WRITE");
  ASSERT_EQ(AppInsert(*stack_, "MARIADB_PRIMARY_ADDR", "acknowledged-by-semisync"), 0);
  EXPECT_EQ(yes_tx(), acked_before + 1) << "the replica acknowledged the order";
  std::thread unlock([&] {
    std::this_thread::sleep_for(std::chrono::seconds(2));
    semisync_replica.Q("UNLOCK TABLES");
  });

  auto step = Make(
      "{database: eu-west-db, max_lag: 3600s, catch_up_timeout: 20s, timeout: 40s, "
      "require_semisync: true}");
  ASSERT_TRUE(step) << step.error().message;
  auto rendered = (*step)->Render({});
  ASSERT_TRUE(rendered);
  EXPECT_EQ((*rendered)["database"], "eu-west-db");
  EXPECT_EQ((*rendered)["kind"], "mysql");
  EXPECT_EQ((*rendered)["max_lag"], "1h");
  EXPECT_EQ((*rendered)["require_semisync"], true);
  std::string password;
  ASSERT_EQ(stack_->Shell("cat \"$MARIADB_FAILOVER_PASSWORD_FILE\"", &password), 0);
  ASSERT_FALSE(password.empty());
  EXPECT_THAT(rendered->dump(), Not(HasSubstr(password)));

  StepOutcome out = Run(**step);
  unlock.join();
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_THAT(out.message, HasSubstr("promoted"));
  EXPECT_TRUE(out.details["promotion_lag_seconds"].is_number()) << out.details.dump();
  EXPECT_EQ(out.details["changed"], true);
  EXPECT_EQ(out.details["semisync_enabled"], true);
  EXPECT_THAT(out.details.dump() + out.message, Not(HasSubstr(password)));
  // The lag seen before the catch-up: the SQL thread has been held by the lock since the
  // insert, so it is the seconds since then (0 or 1 s on a quick machine, more on a slow
  // one); the metric carries the same figure.
  double lag = out.details["promotion_lag_seconds"].is_number()
                   ? out.details["promotion_lag_seconds"].get<double>()
                   : -1;
  EXPECT_GE(lag, 0);
  EXPECT_LT(lag, 30);
  EXPECT_THAT(MetricsText(metrics_),
              HasSubstr("failover_actuator_promotion_lag_seconds{database=\"eu-west-db\"} " +
                        std::to_string(static_cast<int>(lag)) + "\n"));

  Root replica(stack_->Env("MARIADB_REPLICA_ADDR"));
  EXPECT_EQ(replica.Q("SHOW SLAVE STATUS").size(), 0u);
  EXPECT_EQ(replica.One("SELECT @@global.read_only AS r", "r"), "0");
  EXPECT_EQ(replica.One("SELECT count(*) AS n FROM shop.orders WHERE note = "
                        "'acknowledged-by-semisync'",
                        "n"),
            "1")
      << "the acknowledged order was applied before the replica became writable";
  std::string err;
  EXPECT_EQ(AppInsert(*stack_, "MARIADB_REPLICA_ADDR", "written-after-promotion", &err), 0) << err;
  EXPECT_EQ(replica.One("SELECT count(*) AS n FROM shop.orders WHERE note = "
                        "'written-after-promotion'",
                        "n"),
            "1");

  StepOutcome again = Run(**step);
  ASSERT_EQ(again.status, StepStatus::kOk) << again.message;
  EXPECT_THAT(again.message, HasSubstr("nothing to do"));
  EXPECT_EQ(again.details["changed"], false);
}

// ---- PostgreSQL --------------------------------------------------------------------

class Pg {
 public:
  explicit Pg(const std::string& address) {
    auto colon = address.rfind(':');
    auto node =
        YamlNode::LoadString("{conninfo: \"host=127.0.0.1 port=" + address.substr(colon + 1) +
                                 " user=postgres dbname=shop\"}",
                             "test");
    target_ = *PgTargetFromYaml(*node);
    auto c = conn_.Connect(target_, "test", Deadline(), std::chrono::seconds(30));
    EXPECT_TRUE(c) << c.error().detail;
  }
  SqlOutcome<std::vector<std::vector<SqlRow>>> Exec(const std::string& sql) {
    return conn_.Exec(sql, Deadline());
  }
  std::string One(const std::string& sql) {
    auto r = Exec(sql);
    EXPECT_TRUE(r) << sql << ": " << r.error().detail;
    if (!r || r->size() != 1 || (*r)[0].size() != 1 || (*r)[0][0].size() != 1) return "<?>";
    auto v = (*r)[0][0].begin()->second;
    return v ? *v : "NULL";
  }
  static MonoTime Deadline() { return SystemClock::Get().Now() + std::chrono::seconds(30); }

 private:
  PgTarget target_;
  PgConn conn_;
};

class PostgresPromoteTest : public DbStepTestBase {
 protected:
  void SetUp() override {
    stack_ = &Stack::Get({"postgres"});
    std::string addr = stack_->Env("PG_STANDBY_ADDR");
    AddDatabase("eu-west-pg", "{eu-west-pg: {postgres: {conninfo: \"host=127.0.0.1 port=" +
                                  addr.substr(addr.rfind(':') + 1) +
                                  " user=failover dbname=postgres\", password_file: \"" +
                                  stack_->Env("PG_FAILOVER_PASSWORD_FILE") + "\"}}}");
  }
  // Inserts on the primary and waits until the standby has replayed it.
  void InsertAndWaitReplayed(const std::string& note) {
    Pg primary(stack_->Env("PG_PRIMARY_ADDR"));
    ASSERT_TRUE(primary.Exec("INSERT INTO orders (note) VALUES ('" + note + "')"));
    Pg standby(stack_->Env("PG_STANDBY_ADDR"));
    ASSERT_TRUE(testing::WaitFor([&] {
      return standby.One("SELECT count(*) FROM orders WHERE note = '" + note + "'") == "1";
    }));
  }
  // After a quiet spell of 2.5 s with commits applied only after `delay_ms`, writes the
  // order `note`, waits until the standby has received it, and runs db_promote with
  // max_lag 2s.
  StepOutcome PromoteWithAnOrderInFlight(int delay_ms, const std::string& note);
  Stack* stack_ = nullptr;
};

TEST_F(PostgresPromoteTest, RefusesWhenTheLagExceedsMaxLagAndChangesNothing) {
  InsertAndWaitReplayed("before-pause");
  Pg standby(stack_->Env("PG_STANDBY_ADDR"));
  ASSERT_TRUE(standby.Exec("SELECT pg_wal_replay_pause()"));
  Pg primary(stack_->Env("PG_PRIMARY_ADDR"));
  // Writes continue on the primary while the standby does not replay them: its last
  // replayed transaction grows older than max_lag.
  ASSERT_TRUE(testing::WaitFor([&] {
    primary.Exec("INSERT INTO orders (note) VALUES ('while-paused')");
    return standby.One(
               "SELECT EXTRACT(EPOCH FROM clock_timestamp() - "
               "pg_last_xact_replay_timestamp()) > 1.5") == "t";
  }));
  auto step = Make("{database: eu-west-pg, max_lag: 1s, catch_up_timeout: 5s}");
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome out = Run(**step);
  EXPECT_EQ(out.status, StepStatus::kFailed) << out.message;
  EXPECT_THAT(out.message, HasSubstr("refusing to promote"));
  EXPECT_THAT(out.message, HasSubstr("exceeds max_lag 1s"));
  EXPECT_GT(out.details.value("lag_seconds", 0.0), 1.0);
  EXPECT_EQ(standby.One("SELECT pg_is_in_recovery()"), "t");
  ASSERT_TRUE(standby.Exec("SELECT pg_wal_replay_resume()"));
  InsertAndWaitReplayed("after-resume");
}

// The standby applies commits only after `delay` (recovery_min_apply_delay, reloaded),
// after the primary has been quiet for longer than `quiet`: the last replayed
// transaction is then older than `quiet`, whatever arrives next.
void DelayReplayAfterAQuietSpell(Stack& stack, int delay_ms, double quiet) {
  std::string delay = std::to_string(delay_ms);
  Pg standby(stack.Env("PG_STANDBY_ADDR"));
  ASSERT_TRUE(standby.Exec("ALTER SYSTEM SET recovery_min_apply_delay = " + delay));
  ASSERT_TRUE(standby.Exec("SELECT pg_reload_conf()"));
  ASSERT_TRUE(testing::WaitFor([&] {
    Pg fresh(stack.Env("PG_STANDBY_ADDR"));
    return fresh.One("SELECT setting FROM pg_settings WHERE name = 'recovery_min_apply_delay'") ==
           delay;
  }));
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        return standby.One(
                   "SELECT EXTRACT(EPOCH FROM clock_timestamp() - "
                   "pg_last_xact_replay_timestamp()) > " +
                   std::to_string(quiet)) == "t";
      },
      std::chrono::seconds(30)));
}

// Writes an order on the primary and waits until the standby has received (not
// replayed) it.
void WriteAndWaitReceived(Stack& stack, const std::string& note) {
  Pg primary(stack.Env("PG_PRIMARY_ADDR"));
  ASSERT_TRUE(primary.Exec("INSERT INTO orders (note) VALUES ('" + note + "')"));
  std::string lsn = primary.One("SELECT pg_current_wal_lsn()");
  Pg standby(stack.Env("PG_STANDBY_ADDR"));
  ASSERT_TRUE(testing::WaitFor([&] {
    return standby.One("SELECT pg_last_wal_receive_lsn() >= '" + lsn + "'::pg_lsn") == "t";
  }));
}

StepOutcome PostgresPromoteTest::PromoteWithAnOrderInFlight(int delay_ms, const std::string& note) {
  InsertAndWaitReplayed("before-quiet");
  DelayReplayAfterAQuietSpell(*stack_, delay_ms, 2.5);
  WriteAndWaitReceived(*stack_, note);
  auto step = Make("{database: eu-west-pg, max_lag: 2s, catch_up_timeout: 5s}");
  if (!step) return StepOutcome::Fail("bad step: " + step.error().message);
  return Run(**step);
}

// After a quiet spell, one new order is in flight when the step reads: the last replayed
// transaction's age (above max_lag) is not the lag. The step watches, sees it replayed,
// and promotes.
TEST_F(PostgresPromoteTest, AnOrderInFlightAfterAQuietSpellIsNotLag) {
  StepOutcome out = PromoteWithAnOrderInFlight(1200, "after-quiet");
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_THAT(out.message, HasSubstr("promoted"));
  EXPECT_THAT(out.message, HasSubstr("lag at promotion 0"));
  // The premise: the first reading found the order received, not replayed, and the old
  // transaction's age above max_lag.
  EXPECT_GT(out.details["before"].value("backlog_bytes", 0.0), 0.0) << out.details.dump();
  EXPECT_GT(out.details.value("lag_first_reading_seconds", 0.0), 2.0) << out.details.dump();
  EXPECT_EQ(out.details.value("lag_seconds", -1.0), 0.0);
  EXPECT_THAT(out.details.value("lag_note", ""), HasSubstr("WAL in flight"));
  Pg standby(stack_->Env("PG_STANDBY_ADDR"));
  EXPECT_EQ(standby.One("SELECT pg_is_in_recovery()"), "f");
  EXPECT_EQ(standby.One("SELECT count(*) FROM orders WHERE note = 'after-quiet'"), "1");
}

// The same, but the standby stays behind for longer than the step watches: refused, and
// nothing changed.
TEST_F(PostgresPromoteTest, AStandbyStillBehindAfterTheWatchIsRefused) {
  StepOutcome out = PromoteWithAnOrderInFlight(60000, "delayed");
  EXPECT_EQ(out.status, StepStatus::kFailed) << out.message;
  EXPECT_THAT(out.message, HasSubstr("refusing to promote"));
  EXPECT_THAT(out.message, HasSubstr("exceeds max_lag 2s"));
  EXPECT_FALSE(out.details.contains("lag_note")) << out.details.dump();
  Pg standby(stack_->Env("PG_STANDBY_ADDR"));
  EXPECT_EQ(standby.One("SELECT pg_is_in_recovery()"), "t");
  EXPECT_EQ(standby.One("SELECT count(*) FROM orders WHERE note = 'delayed'"), "0");
  ASSERT_TRUE(standby.Exec("ALTER SYSTEM RESET recovery_min_apply_delay"));
  ASSERT_TRUE(standby.Exec("SELECT pg_reload_conf()"));
  InsertAndWaitReplayed("after-reset");
}

// Last in the suite: the pair stays split afterwards. The region outage itself: the
// primary is gone, the standby cannot know its lag, and is promoted all the same (the
// runbook's guard judged the lag before the outage).
TEST_F(PostgresPromoteTest, PromotesTheStandbyWhenThePrimaryIsGoneThenASecondRunDoesNothing) {
  InsertAndWaitReplayed("before-outage");
  // Fast shutdown of the primary (SIGINT to its postmaster).
  ASSERT_EQ(stack_->Shell("kill -INT \"$(head -1 \"$PG_SOCKET_DIR/primary/postmaster.pid\")\""), 0);
  Pg standby(stack_->Env("PG_STANDBY_ADDR"));
  ASSERT_TRUE(testing::WaitFor([&] {
    return standby.One("SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'") ==
           "0";
  })) << "the standby still streams from a stopped primary";

  auto step = Make("{database: eu-west-pg, max_lag: 5s, catch_up_timeout: 20s, timeout: 40s}");
  ASSERT_TRUE(step) << step.error().message;
  auto rendered = (*step)->Render({});
  ASSERT_TRUE(rendered);
  EXPECT_EQ((*rendered)["kind"], "postgres");
  EXPECT_THAT((*rendered)["conninfo"].get<std::string>(), HasSubstr("user=failover"));

  StepOutcome out = Run(**step);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_THAT(out.message, HasSubstr("promoted"));
  EXPECT_THAT(out.message, HasSubstr("lag unknown (primary unreachable)"));
  EXPECT_EQ(out.details["changed"], true);
  EXPECT_TRUE(out.details["promotion_lag_seconds"].is_null());
  // Nothing it cannot know: no gauge for this promotion.
  EXPECT_THAT(MetricsText(metrics_), Not(HasSubstr("database=\"eu-west-pg\"")));

  EXPECT_EQ(standby.One("SELECT pg_is_in_recovery()"), "f");
  auto w = standby.Exec("INSERT INTO orders (note) VALUES ('written-after-promotion')");
  EXPECT_TRUE(w) << w.error().detail;
  EXPECT_EQ(standby.One("SELECT count(*) FROM orders WHERE note IN "
                        "('before-outage', 'written-after-promotion')"),
            "2");

  StepOutcome again = Run(**step);
  ASSERT_EQ(again.status, StepStatus::kOk) << again.message;
  EXPECT_THAT(again.message, HasSubstr("nothing to do"));
  EXPECT_EQ(again.details["changed"], false);
}

// ---- configuration -----------------------------------------------------------------

class DbConfigTest : public ::testing::Test {
 protected:
  DbConfigTest() {
    RegisterBuiltinSteps(steps_);
    deps_.steps = &steps_;
  }
  Result<ActuatorConfig> Load(const std::string& yaml) {
    auto root = YamlNode::LoadString(yaml, "actuator.yml");
    if (!root) return root.error();
    return LoadActuatorConfig(*root, deps_);
  }
  StepRegistry steps_;
  ConfigDeps deps_;
};

const char kDatabases[] =
    "databases:\n"
    "  eu-west-db: {mysql: {address: 127.0.0.1:3307, user: failover, password: pw}}\n"
    "  eu-west-pg: {postgres: {conninfo: \"host=127.0.0.1 port=5433 user=failover "
    "dbname=postgres\"}}\n";

std::string Runbook(const std::string& step) {
  return std::string(kDatabases) +
         "runbooks:\n"
         "  - name: rb\n"
         "    match: {alertname: RegionDown}\n"
         "    steps:\n"
         "      - " +
         step + "\n";
}

TEST_F(DbConfigTest, LoadsDatabasesAndBothSteps) {
  auto cfg = Load(std::string(kDatabases) +
                  "runbooks:\n"
                  "  - name: rb\n"
                  "    match: {alertname: RegionDown}\n"
                  "    steps:\n"
                  "      - db_fence: {database: eu-west-pg, on_unreachable: fail}\n"
                  "      - db_promote: {database: eu-west-db, max_lag: 5s, catch_up_timeout: "
                  "30s}\n");
  ASSERT_TRUE(cfg) << cfg.error().message;
  ASSERT_EQ(cfg->databases.size(), 2u);
  EXPECT_EQ(cfg->databases.at("eu-west-db")->kind(), "mysql");
  EXPECT_EQ(cfg->databases.at("eu-west-pg")->kind(), "postgres");
  EXPECT_EQ(cfg->databases.at("eu-west-pg")->where(), "127.0.0.1:5433");
  const auto& steps = cfg->runbooks[0].steps;
  ASSERT_EQ(steps.size(), 2u);
  auto fence = steps[0].step->Render({});
  ASSERT_TRUE(fence);
  EXPECT_EQ((*fence)["on_unreachable"], "fail");
  auto promote = steps[1].step->Render({});
  ASSERT_TRUE(promote);
  EXPECT_EQ((*promote)["catch_up_timeout"], "30s");
  EXPECT_EQ((*promote)["user"], "failover");
  EXPECT_THAT(promote->dump(), Not(HasSubstr("\"pw\"")));
}

// Every db_promote key set: the step renders each value, and takes its timeout.
TEST_F(DbConfigTest, DbPromoteRendersEveryKey) {
  auto cfg = Load(std::string(kDatabases) +
                  "writer_lease: {etcd: {endpoints: [\"http://127.0.0.1:2379\"]}}\n"
                  "runbooks:\n"
                  "  - name: rb\n"
                  "    match: {alertname: RegionDown}\n"
                  "    steps:\n"
                  "      - db_promote: {database: eu-west-db, region: eu-west, max_lag: 7s, "
                  "catch_up_timeout: 20s, require_semisync: true, timeout: 45s}\n");
  ASSERT_TRUE(cfg) << cfg.error().message;
  const auto& step = *cfg->runbooks[0].steps[0].step;
  EXPECT_EQ(step.common().timeout, std::chrono::seconds(45));
  auto j = step.Render({});
  ASSERT_TRUE(j) << j.error().message;
  EXPECT_EQ((*j)["database"], "eu-west-db");
  EXPECT_EQ((*j)["region"], "eu-west");
  EXPECT_EQ((*j)["max_lag"], "7s");
  EXPECT_EQ((*j)["catch_up_timeout"], "20s");
  EXPECT_EQ((*j)["require_semisync"], true);
  EXPECT_EQ((*j)["kind"], "mysql");
}

struct BadCase {
  const char* name;
  std::string yaml;
  const char* message;
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class DbConfigErrorTest : public DbConfigTest, public ::testing::WithParamInterface<BadCase> {};

TEST_P(DbConfigErrorTest, FailsWithALocatedMessage) {
  auto cfg = Load(GetParam().yaml);
  ASSERT_FALSE(cfg) << "accepted " << GetParam().yaml;
  EXPECT_THAT(cfg.error().message, HasSubstr("actuator.yml:"));
  EXPECT_THAT(cfg.error().message, HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Db, DbConfigErrorTest,
    ::testing::Values(
        BadCase{"UnknownDatabase", Runbook("db_promote: {database: nope, max_lag: 5s}"),
                "unknown database \"nope\" (known: eu-west-db, eu-west-pg)"},
        BadCase{"NoDatabasesSection",
                "runbooks:\n  - name: rb\n    match: {alertname: X}\n    steps:\n"
                "      - db_fence: {database: us-east-db}\n",
                "there is no databases: section"},
        BadCase{"MissingMaxLag", Runbook("db_promote: {database: eu-west-db}"), "max_lag"},
        BadCase{"CatchUpNotShorterThanTimeout",
                Runbook("db_promote: {database: eu-west-db, max_lag: 5s, catch_up_timeout: 2m}"),
                "catch_up_timeout (2m) must be shorter than the step's timeout (1m)"},
        BadCase{"RequireSemiSyncOnPostgres",
                Runbook("db_promote: {database: eu-west-pg, max_lag: 5s, require_semisync: true}"),
                "require_semisync is for mysql databases; eu-west-pg is postgres"},
        BadCase{
            "RequireSemiSyncNotABool",
            Runbook(
                "db_promote: {database: eu-west-db, max_lag: 5s, require_semisync: yes please}"),
            "require_semisync"},
        BadCase{"CatchUpUnderOneSecond",
                Runbook("db_promote: {database: eu-west-db, max_lag: 5s, catch_up_timeout: "
                        "500ms}"),
                "catch_up_timeout must be at least 1s"},
        BadCase{"RegionWithoutWriterLease",
                Runbook("db_promote: {database: eu-west-db, max_lag: 5s, region: eu-west}"),
                "region: is checked against the writer lease: configure writer_lease: first"},
        BadCase{"UnknownStepKey",
                Runbook("db_promote: {database: eu-west-db, max_lag: 5s, engine: mysql}"),
                "engine"},
        BadCase{"BadOnUnreachable",
                Runbook("db_fence: {database: eu-west-db, on_unreachable: ignore}"),
                "on_unreachable must be continue or fail"},
        BadCase{"UnknownKind", "databases:\n  x: {oracle: {address: 127.0.0.1:1521}}\n",
                "unknown database kind \"oracle\" (known: mysql, postgres)"},
        BadCase{"MysqlWithoutUser", "databases:\n  x: {mysql: {address: 127.0.0.1:3306}}\n",
                "user"},
        BadCase{"MysqlBadAddress",
                "databases:\n  x: {mysql: {address: 127.0.0.1, user: failover}}\n",
                "not host:port"},
        BadCase{
            "PostgresBinDirNotAbsolute",
            "databases:\n  x: {postgres: {conninfo: \"host=127.0.0.1\", bin_dir: bin}}\n",
            "actuator.yml:2:55: databases.x.postgres.bin_dir: bin_dir must be an absolute path"},
        BadCase{"MysqlUnknownKey",
                "databases:\n  x: {mysql: {address: 127.0.0.1:3306, user: a, dbname: b}}\n",
                "unknown key \"dbname\""},
        BadCase{"PasswordInConninfo",
                "databases:\n  x: {postgres: {conninfo: \"host=127.0.0.1 password=hunter2\"}}\n",
                "conninfo contains a password"},
        BadCase{"TwoKinds",
                "databases:\n  x: {mysql: {address: 127.0.0.1:3306, user: a}, postgres: "
                "{conninfo: \"host=127.0.0.1\"}}\n",
                "exactly one key"}),
    [](const auto& info) { return std::string(info.param.name); });

// Every key of both database kinds: each shows where a user sees the database (its
// Describe, which db_* steps render), and no password does.
TEST(DatabasesConfig, EveryKeyIsReadAndNoPasswordIsShown) {
  auto node = YamlNode::LoadString(
      "pg: {postgres: {conninfo: \"host=127.0.0.1 port=5433 user=failover dbname=postgres\",\n"
      "                password: hunter2, data_directory: /var/lib/postgresql/15/main,\n"
      "                bin_dir: /usr/lib/postgresql/15/bin, log_file: /var/log/pg.log}}\n"
      "my: {mysql: {address: /run/mysqld/mysqld.sock, user: failover, password: swordfish}}\n",
      "actuator.yml");
  ASSERT_TRUE(node) << node.error().message;
  auto dbs = LoadDatabases(*node);
  ASSERT_TRUE(dbs) << dbs.error().message;
  const Database& pg = *dbs->at("pg");
  EXPECT_EQ(pg.kind(), "postgres");
  EXPECT_EQ(pg.where(), "127.0.0.1:5433");
  EXPECT_EQ(pg.Describe(),
            (nlohmann::json{{"kind", "postgres"},
                            {"address", "127.0.0.1:5433"},
                            {"conninfo", "host=127.0.0.1 port=5433 user=failover dbname=postgres"},
                            {"data_directory", "/var/lib/postgresql/15/main"}}));
  const Database& my = *dbs->at("my");
  EXPECT_EQ(my.kind(), "mysql");
  EXPECT_EQ(my.where(), "/run/mysqld/mysqld.sock");
  EXPECT_EQ(my.Describe(),
            (nlohmann::json{
                {"kind", "mysql"}, {"address", "/run/mysqld/mysqld.sock"}, {"user", "failover"}}));
  for (const auto& [id, db] : *dbs) {
    EXPECT_THAT(db->Describe().dump(), Not(HasSubstr("hunter2"))) << id;
    EXPECT_THAT(db->Describe().dump(), Not(HasSubstr("swordfish"))) << id;
  }
}

}  // namespace
}  // namespace failover
