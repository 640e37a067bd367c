// The mysql prober: config validation, the row -> metrics mapping on canned SHOW SLAVE
// STATUS (MariaDB, MySQL < 8.0.22) and SHOW REPLICA STATUS (MySQL 8.0.22+/8.4) rows,
// unreachable servers on the real event loop, and semi-sync on the stack's real MariaDB pair.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "exporter/probers/mysql.h"
#include "tests/exporter/probe_runner.h"
#include "tests/exporter/prober_checks.h"
#include "tests/support/stack.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_http_server.h"

namespace failover {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using namespace testing;  // the prober harness, tests/exporter/probe_runner.h

// A healthy MariaDB 10.11 replica, as SHOW SLAVE STATUS returns it (abridged).
SqlRow MariaDbRow() {
  return {{"Slave_IO_State", "Waiting for master to send event"},
          {"Master_Host", "127.0.0.1"},
          {"Master_Port", "3306"},
          {"Master_Log_File", "mysql-bin.000001"},
          {"Read_Master_Log_Pos", "3690"},
          {"Relay_Log_File", "relay-bin.000002"},
          {"Relay_Master_Log_File", "mysql-bin.000001"},
          {"Slave_IO_Running", "Yes"},
          {"Slave_SQL_Running", "Yes"},
          {"Last_Errno", "0"},
          {"Last_Error", ""},
          {"Exec_Master_Log_Pos", "3690"},
          {"Seconds_Behind_Master", "0"},
          {"Last_IO_Errno", "0"},
          {"Last_IO_Error", ""},
          {"Last_SQL_Errno", "0"},
          {"Last_SQL_Error", ""},
          {"Master_Server_Id", "1"},
          {"Using_Gtid", "Slave_Pos"},
          {"Gtid_IO_Pos", "0-1-18"},
          {"SQL_Remaining_Delay", std::nullopt}};
}

// The same state from MySQL 8.4's SHOW REPLICA STATUS (abridged).
SqlRow MySql84Row() {
  return {{"Replica_IO_State", "Waiting for source to send event"},
          {"Source_Host", "127.0.0.1"},
          {"Source_Port", "3306"},
          {"Source_Log_File", "binlog.000003"},
          {"Read_Source_Log_Pos", "157"},
          {"Relay_Log_File", "relay.000002"},
          {"Relay_Source_Log_File", "binlog.000003"},
          {"Replica_IO_Running", "Yes"},
          {"Replica_SQL_Running", "Yes"},
          {"Exec_Source_Log_Pos", "157"},
          {"Seconds_Behind_Source", "0"},
          {"Last_IO_Errno", "0"},
          {"Last_IO_Error", ""},
          {"Last_SQL_Errno", "0"},
          {"Last_SQL_Error", ""},
          {"Source_Server_Id", "1"},
          {"Channel_Name", ""},
          {"Retrieved_Gtid_Set", ""},
          {"Executed_Gtid_Set", ""},
          {"Auto_Position", "1"}};
}

std::string Render(const MysqlStatus& s, std::optional<MysqlHeartbeat> hb = std::nullopt) {
  return RenderSamples(MysqlProbeResult(s, hb));
}

TEST(MysqlMappingTest, HealthyReplicaSameMetricsFromBothColumnSets) {
  for (const SqlRow& row : {MariaDbRow(), MySql84Row()}) {
    MysqlStatus s;
    s.replica_rows = {row};
    s.read_only = true;
    ProbeResult r = MysqlProbeResult(s, std::nullopt);
    EXPECT_TRUE(r.success) << Describe(r);
    std::string text = RenderSamples(r);
    EXPECT_TRUE(HasRoleSamples(text, "replica", /*read_only=*/true));
    EXPECT_TRUE(HasLine(text, Line("failover_replication_running", ",thread=\"io\"", "1")));
    EXPECT_TRUE(HasLine(text, Line("failover_replication_running", ",thread=\"sql\"", "1")));
    EXPECT_TRUE(HasLine(text, Line("failover_replication_lag_seconds", "", "0")));
    EXPECT_TRUE(HasLine(text, Line("failover_replication_lag_bytes", "", "0")));
    EXPECT_EQ(text.find("failover_replication_last_error_info"), std::string::npos);
  }
}

TEST(MysqlMappingTest, NoReplicaStatusIsAPrimary) {
  MysqlStatus s;
  std::string text = Render(s);
  EXPECT_TRUE(HasRoleSamples(text, "primary", /*read_only=*/false));
  EXPECT_EQ(text.find("failover_replication_"), std::string::npos) << text;
}

TEST(MysqlMappingTest, StoppedSqlThreadIsNotLagZero) {
  // STOP SLAVE SQL_THREAD, then writes on the primary: Seconds_Behind is NULL, the
  // receiver keeps reading.
  SqlRow row = MariaDbRow();
  row["Slave_SQL_Running"] = "No";
  row["Seconds_Behind_Master"] = std::nullopt;
  row["Read_Master_Log_Pos"] = "9000";
  row["Exec_Master_Log_Pos"] = "3690";
  MysqlStatus s;
  s.replica_rows = {row};
  std::string text = Render(s);
  EXPECT_TRUE(HasLine(text, Line("failover_replication_running", ",thread=\"io\"", "1")));
  EXPECT_TRUE(HasLine(text, Line("failover_replication_running", ",thread=\"sql\"", "0")));
  EXPECT_TRUE(HasLine(text, Line("failover_replication_lag_bytes", "", "5310")));
  EXPECT_EQ(text.find("failover_replication_lag_seconds"), std::string::npos)
      << "a NULL Seconds_Behind became a number:\n"
      << text;

  // Same in MySQL 8.4's names.
  SqlRow r84 = MySql84Row();
  r84["Replica_SQL_Running"] = "No";
  r84["Seconds_Behind_Source"] = std::nullopt;
  r84["Read_Source_Log_Pos"] = "1157";
  s.replica_rows = {r84};
  text = Render(s);
  EXPECT_TRUE(HasLine(text, Line("failover_replication_running", ",thread=\"sql\"", "0")));
  EXPECT_TRUE(HasLine(text, Line("failover_replication_lag_bytes", "", "1000")));
  EXPECT_EQ(text.find("failover_replication_lag_seconds"), std::string::npos);
}

TEST(MysqlMappingTest, BrokenReceiverReportsErrorAndNoLag) {
  SqlRow row = MySql84Row();
  row["Replica_IO_Running"] = "Connecting";
  row["Seconds_Behind_Source"] = std::nullopt;
  row["Last_IO_Errno"] = "2003";
  row["Last_IO_Error"] =
      "error connecting to source 'repl@127.0.0.1:3306' - retry-time: 60 retries: 1 message: "
      "Can't connect to MySQL server on '127.0.0.1:3306' (111)";
  MysqlStatus s;
  s.replica_rows = {row};
  std::string text = Render(s);
  EXPECT_TRUE(HasLine(text, Line("failover_replication_running", ",thread=\"io\"", "0")));
  EXPECT_TRUE(HasLine(text, Line("failover_replication_running", ",thread=\"sql\"", "1")));
  EXPECT_TRUE(HasSubstr(text,
                        "failover_replication_last_error_info{probe=\"p\",kind=\"k\",thread="
                        "\"io\",error=\"error connecting to source 'repl@127.0.0.1:3306'"));
  // Positions match, but with the receiver down that proves nothing: no lag series at all.
  EXPECT_EQ(text.find("failover_replication_lag_"), std::string::npos) << text;
}

TEST(MysqlMappingTest, SqlErrorIsTruncatedAndSanitised) {
  SqlRow row = MariaDbRow();
  row["Slave_SQL_Running"] = "No";
  row["Seconds_Behind_Master"] = std::nullopt;
  row["Last_SQL_Errno"] = "1062";
  row["Last_SQL_Error"] =
      "Could not execute Write_rows_v1 event on table shop.orders;\n"
      "Duplicate entry '\xff\xfe' for key 'PRIMARY' " +
      std::string(400, 'x');
  MysqlStatus s;
  s.replica_rows = {row};
  ProbeResult r = MysqlProbeResult(s, std::nullopt);
  EXPECT_TRUE(r.success) << "replication is broken, the probe is not";
  std::string error;
  for (const Sample& sample : r.samples) {
    for (const auto& [k, v] : sample.labels) {
      if (k == "error") error = v;
    }
  }
  EXPECT_EQ(error.size(), kMaxErrorLabelBytes);
  EXPECT_EQ(error.rfind("Could not execute Write_rows_v1 event on table shop.orders; Duplicate "
                        "entry '?\?' for key 'PRIMARY' xxx",
                        0),
            0u)
      << error;
  EXPECT_EQ(error.substr(error.size() - 3), "...");
}

TEST(MysqlMappingTest, HeartbeatGivesTheSecondsAndFlagsAStaleWriter) {
  MysqlHeartbeat hb{"percona.heartbeat", seconds(10)};
  SqlRow row = MariaDbRow();
  row["Seconds_Behind_Master"] = "0";  // parallel apply can hide lag; the heartbeat cannot
  MysqlStatus s;
  s.replica_rows = {row};
  s.heartbeat_age_seconds = 2.5;
  ProbeResult r = MysqlProbeResult(s, hb);
  EXPECT_TRUE(r.success);
  EXPECT_TRUE(HasLine(RenderSamples(r), Line("failover_replication_lag_seconds", "", "2.5")));

  // With the applier stopped the heartbeat still measures the lag (and is not "stale").
  row["Slave_SQL_Running"] = "No";
  row["Seconds_Behind_Master"] = std::nullopt;
  s.replica_rows = {row};
  s.heartbeat_age_seconds = 42;
  r = MysqlProbeResult(s, hb);
  EXPECT_TRUE(r.success) << Describe(r);
  EXPECT_TRUE(HasLine(RenderSamples(r), Line("failover_replication_lag_seconds", "", "42")));

  // Replication runs but the newest heartbeat is old: its writer stopped.
  row["Slave_SQL_Running"] = "Yes";
  row["Seconds_Behind_Master"] = "0";
  s.replica_rows = {row};
  r = MysqlProbeResult(s, hb);
  EXPECT_TRUE(FailedWith(r, "heartbeat_stale", "percona.heartbeat is 42.0s old (max_age 10s)"));

  s.heartbeat_age_seconds.reset();
  r = MysqlProbeResult(s, hb);
  EXPECT_EQ(r.reason, "heartbeat_stale");
  EXPECT_EQ(r.detail, "no heartbeat row in percona.heartbeat");
  // Without max_age nothing is judged.
  EXPECT_TRUE(MysqlProbeResult(s, MysqlHeartbeat{"percona.heartbeat", Duration(0)}).success);
}

TEST(MysqlMappingTest, ChannelsGetAChannelLabel) {
  SqlRow a = MySql84Row();
  a["Channel_Name"] = "eu";
  SqlRow b = MySql84Row();
  b["Channel_Name"] = "us";
  b["Replica_SQL_Running"] = "No";
  MysqlStatus s;
  s.replica_rows = {a, b};
  std::string text = Render(s);
  EXPECT_TRUE(
      HasLine(text, Line("failover_replication_running", ",channel=\"eu\",thread=\"sql\"", "1")));
  EXPECT_TRUE(
      HasLine(text, Line("failover_replication_running", ",channel=\"us\",thread=\"sql\"", "0")));
}

TEST(MysqlMappingTest, BytesOnlyWithinOneBinlogFile) {
  SqlRow row = MariaDbRow();
  row["Master_Log_File"] = "mysql-bin.000002";
  row["Read_Master_Log_Pos"] = "100";
  MysqlStatus s;
  s.replica_rows = {row};
  EXPECT_EQ(Render(s).find("failover_replication_lag_bytes"), std::string::npos);
}

TEST(MysqlMappingTest, SemiSyncOnTheSideOfTheServersRole) {
  // MariaDB (master/slave names) on a primary that fell back to asynchronous commits.
  MysqlStatus primary;
  primary.semisync = {
      {"rpl_semi_sync_master_enabled", "ON"}, {"rpl_semi_sync_master_status", "OFF"},
      {"rpl_semi_sync_master_clients", "0"},  {"rpl_semi_sync_master_no_tx", "7"},
      {"rpl_semi_sync_slave_enabled", "OFF"}, {"rpl_semi_sync_slave_status", "OFF"}};
  std::string text = Render(primary);
  EXPECT_TRUE(HasLine(text, Line("failover_replication_semisync_enabled", ",side=\"source\"", "1")))
      << text;
  EXPECT_TRUE(HasLine(text, Line("failover_replication_semisync_active", ",side=\"source\"", "0")));
  EXPECT_TRUE(HasLine(text, Line("failover_replication_semisync_clients", "", "0")));
  EXPECT_TRUE(HasLine(text, Line("failover_replication_semisync_unacked_transactions", "", "7")));
  EXPECT_EQ(text.find("side=\"replica\""), std::string::npos)
      << "a primary reports its source side";

  // MySQL 8.0.26+ (source/replica names) on a replica that acknowledges.
  MysqlStatus replica;
  replica.replica_rows = {MySql84Row()};
  replica.semisync = {{"rpl_semi_sync_replica_enabled", "ON"},
                      {"rpl_semi_sync_replica_status", "ON"}};
  text = Render(replica);
  EXPECT_TRUE(
      HasLine(text, Line("failover_replication_semisync_enabled", ",side=\"replica\"", "1")))
      << text;
  EXPECT_TRUE(
      HasLine(text, Line("failover_replication_semisync_active", ",side=\"replica\"", "1")));
  EXPECT_EQ(text.find("semisync_clients"), std::string::npos);

  // No semi-sync plugin: no series at all, not 0.
  MysqlStatus none;
  text = Render(none);
  EXPECT_EQ(text.find("semisync"), std::string::npos) << text;
}

// ---- configuration ----------------------------------------------------------------------

Result<std::shared_ptr<Prober>> BuildMysql(const std::string& body, Duration timeout = seconds(5)) {
  return BuildProber("mysql:\n" + body, &NewMysqlProber, timeout);
}

class MysqlConfigErrorTest : public ::testing::TestWithParam<ConfigErrorCase> {};

TEST_P(MysqlConfigErrorTest, ErrorNamesLocationAndKey) {
  testing::ExpectRefused(BuildMysql(GetParam().body), GetParam());
}

INSTANTIATE_TEST_SUITE_P(
    Mysql, MysqlConfigErrorTest,
    ::testing::Values(
        ConfigErrorCase{"NoAddress", "  user: monitor\n",
                        "probe.yml:2:3: mysql: missing required key \"address\""},
        ConfigErrorCase{"AddressWithoutPort", "  address: 127.0.0.1\n  user: monitor\n",
                        "probe.yml:2:12: mysql.address: \"127.0.0.1\" is not host:port"},
        ConfigErrorCase{"NoUser", "  address: 127.0.0.1:3306\n",
                        "probe.yml:2:3: mysql: missing required key \"user\""},
        ConfigErrorCase{"MissingPasswordFile",
                        "  address: 127.0.0.1:3306\n  user: monitor\n  password_file: "
                        "/nonexistent/pw\n",
                        "probe.yml:4:18: mysql.password_file:"},
        ConfigErrorCase{"TwoPasswords",
                        "  address: 127.0.0.1:3306\n  user: monitor\n  password: a\n  "
                        "password_env: B\n",
                        "mysql"},
        ConfigErrorCase{"HeartbeatWithoutTable",
                        "  address: 127.0.0.1:3306\n  user: m\n  heartbeat: {max_age: 10s}\n",
                        "probe.yml:4:14: mysql.heartbeat: missing required key \"table\""},
        ConfigErrorCase{"HeartbeatBadTable",
                        "  address: 127.0.0.1:3306\n  user: m\n  heartbeat: {table: \"hb; DROP "
                        "TABLE x\"}\n",
                        "probe.yml:4:22: mysql.heartbeat.table: \"hb; DROP TABLE x\" is not a "
                        "table name"},
        ConfigErrorCase{"HeartbeatBadMaxAge",
                        "  address: 127.0.0.1:3306\n  user: m\n  heartbeat: {table: t, max_age: "
                        "ten}\n",
                        "probe.yml:4:34: mysql.heartbeat.max_age: invalid duration"},
        ConfigErrorCase{"UnknownKey", "  address: 127.0.0.1:3306\n  user: m\n  database: shop\n",
                        "probe.yml:4:3: mysql.database: unknown key \"database\""}),
    testing::ConfigErrorCaseName);

// The keys a mysql block takes are the keys its parser reads (ParseMysqlSpec): an unknown
// one is refused with all of them named, in the heartbeat block too.
TEST(MysqlConfigTest, UnknownKeyNamesEveryKeyTheBlockTakes) {
  ExpectRefusedWith(BuildMysql("  address: 127.0.0.1:3306\n  user: m\n  database: shop\n"),
                    "probe.yml:4:3: mysql.database: unknown key \"database\" (known keys: address, "
                    "user, password, password_file, password_env, heartbeat)");
  ExpectRefusedWith(
      BuildMysql("  address: 127.0.0.1:3306\n  user: m\n  heartbeat: {table: t, every: 1s}\n"),
      "probe.yml:4:25: mysql.heartbeat.every: unknown key \"every\" (known keys: table, "
      "max_age)");
}

TEST(MysqlConfigTest, AcceptsTheDocumentedShapes) {
  testing::TempDir dir;
  std::string pw = dir.Write("pw", "secret\n");
  EXPECT_TRUE(
      Accepted(BuildMysql("  address: 127.0.0.1:3307\n  user: monitor\n  password_file: " + pw +
                          "\n  heartbeat: {table: percona.heartbeat, max_age: 10s}\n")));
  EXPECT_TRUE(Accepted(BuildMysql("  address: /run/mysqld/mysqld.sock\n  user: monitor\n")));
}

// ---- unreachable servers ------------------------------------------------------------------

TEST(MysqlProberRunTest, RefusedConnectionFailsAtOnce) {
  ProbeRunner runner;
  ProbeResult r = runner.Run(BuildMysql(
      "  address: 127.0.0.1:" + std::to_string(testing::ClosedPort()) + "\n  user: monitor\n"));
  EXPECT_TRUE(FailedWith(r, "connection_refused"));
}

TEST(MysqlProberRunTest, SilentServerTimesOutByTheDeadlineAndOthersGoOn) {
  testing::BlackholeListener hung;  // accepts connections, never greets
  ProbeRunner runner;
  auto hanging =
      BuildMysql("  address: " + hung.address() + "\n  user: monitor\n", milliseconds(500));
  ASSERT_TRUE(hanging);
  auto refused = BuildMysql("  address: 127.0.0.1:" + std::to_string(testing::ClosedPort()) +
                            "\n  user: monitor\n");
  ASSERT_TRUE(refused);
  auto start = std::chrono::steady_clock::now();
  std::optional<ProbeResult> hang_result;
  runner.Start(**hanging, start + milliseconds(500),
               [&](ProbeResult r) { hang_result = std::move(r); });
  // Another database probe is answered while the first one hangs.
  ProbeResult other = runner.Run(**refused, seconds(5));
  EXPECT_EQ(other.reason, "connection_refused");
  EXPECT_FALSE(hang_result.has_value());
  ASSERT_TRUE(runner.Pump([&] { return hang_result.has_value(); }));
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(hang_result->reason, "timeout") << Describe(*hang_result);
  EXPECT_EQ(hang_result->detail, "no answer from the database within 500ms");
  EXPECT_GE(took, milliseconds(450));
  EXPECT_LT(took, milliseconds(1500)) << "done came long after the deadline";
  // The hung connection was closed at the deadline: nothing of the run is left on the loop,
  // and the next run starts afresh (and hangs again until its own deadline).
  EXPECT_EQ(runner.loop().watched_fds(), 0u);
  ProbeResult again = runner.Run(**hanging, milliseconds(500));
  EXPECT_EQ(again.reason, "timeout");
}

// A host name is looked up off the loop, then connected to like an address.
TEST(MysqlProberRunTest, HostNameIsLookedUpAndConnectedTo) {
  ProbeRunner runner;
  auto refused = BuildMysql("  address: localhost:" + std::to_string(testing::ClosedPort()) +
                            "\n  user: monitor\n");
  ASSERT_TRUE(refused);
  ProbeResult r = runner.Run(**refused, seconds(5));
  EXPECT_EQ(r.reason, "connection_refused") << Describe(r);
  testing::BlackholeListener hung;
  auto hanging =
      BuildMysql("  address: localhost:" + std::to_string(hung.port()) + "\n  user: monitor\n",
                 milliseconds(500));
  ASSERT_TRUE(hanging);
  r = runner.Run(**hanging, milliseconds(500));
  EXPECT_EQ(r.reason, "timeout") << Describe(r);
  EXPECT_EQ(runner.loop().watched_fds(), 0u);
}

// ---- semi-synchronous replication on the real MariaDB pair ----------------------------

// Runs `sql` as root on the stack's MariaDB server whose address is in `addr_var`.
int RootSql(const testing::Stack& stack, const std::string& addr_var, const std::string& sql) {
  return stack.Shell("mariadb --no-defaults --connect-timeout=5 -uroot -h127.0.0.1 -P\"${" +
                     addr_var + "#*:}\" -e \"" + sql + "\"");
}

TEST(MysqlProberSemiSyncTest, ActiveOnBothSidesThenFallbackThenDisabled) {
  auto& stack = testing::Stack::Get({"mariadb"});
  // Whatever happens, the pair goes back to asynchronous replication.
  struct Restore {
    const testing::Stack& stack;
    ~Restore() {
      RootSql(stack, "MARIADB_PRIMARY_ADDR", "SET GLOBAL rpl_semi_sync_master_enabled = OFF");
      RootSql(stack, "MARIADB_REPLICA_ADDR",
              "SET GLOBAL rpl_semi_sync_slave_enabled = OFF; STOP SLAVE IO_THREAD; "
              "START SLAVE IO_THREAD");
    }
  } restore{stack};
  auto build = [&](const char* addr_var) {
    return BuildMysql("  address: " + stack.Env(addr_var) + "\n  user: monitor\n  password_file: " +
                      stack.Env("MARIADB_MONITOR_PASSWORD_FILE") + "\n");
  };
  auto primary = build("MARIADB_PRIMARY_ADDR");
  ASSERT_TRUE(primary) << primary.error().message;
  auto replica = build("MARIADB_REPLICA_ADDR");
  ASSERT_TRUE(replica) << replica.error().message;
  ProbeRunner runner;
  std::string p_text, r_text;
  auto scrape = [&] {
    ProbeResult pr = runner.Run(**primary);
    ProbeResult rr = runner.Run(**replica);
    EXPECT_TRUE(pr.success) << Describe(pr);
    EXPECT_TRUE(rr.success) << Describe(rr);
    p_text = RenderSamples(pr);
    r_text = RenderSamples(rr);
  };
  auto source_is = [&](const char* metric, const char* value) {
    return HasLine(p_text, Line(metric, ",side=\"source\"", value));
  };
  auto replica_is = [&](const char* metric, const char* value) {
    return HasLine(r_text, Line(metric, ",side=\"replica\"", value));
  };
  const char* kActive = "failover_replication_semisync_active";
  const char* kEnabled = "failover_replication_semisync_enabled";

  // Off: MariaDB has semi-sync built in, so the series are there, at 0.
  scrape();
  EXPECT_TRUE(source_is(kEnabled, "0") && source_is(kActive, "0")) << p_text;
  EXPECT_TRUE(replica_is(kEnabled, "0") && replica_is(kActive, "0")) << r_text;

  // On: the primary waits for the replica's acknowledgement (1 s at most); the replica's
  // receiver is restarted to start acknowledging.
  ASSERT_EQ(RootSql(stack, "MARIADB_PRIMARY_ADDR",
                    "SET GLOBAL rpl_semi_sync_master_timeout = 1000; "
                    "SET GLOBAL rpl_semi_sync_master_enabled = ON"),
            0);
  ASSERT_EQ(RootSql(stack, "MARIADB_REPLICA_ADDR",
                    "SET GLOBAL rpl_semi_sync_slave_enabled = ON; STOP SLAVE IO_THREAD; "
                    "START SLAVE IO_THREAD"),
            0);
  ASSERT_TRUE(testing::WaitFor([&] {
    scrape();
    return source_is(kActive, "1") && replica_is(kActive, "1") &&
           HasLine(p_text, Line("failover_replication_semisync_clients", "", "1"));
  })) << p_text
      << r_text;
  EXPECT_TRUE(source_is(kEnabled, "1")) << p_text;
  EXPECT_TRUE(replica_is(kEnabled, "1")) << r_text;
  EXPECT_FALSE(HasSubstr(p_text, "side=\"replica\"")) << "a primary reports its source side";
  EXPECT_FALSE(HasSubstr(r_text, "side=\"source\"")) << "a replica reports its replica side";
  EXPECT_TRUE(HasSubstr(p_text, "failover_replication_semisync_unacked_transactions{")) << p_text;

  // The replica stops acknowledging: the next commit on the primary waits 1 s, is committed
  // unacknowledged (counted), and the primary falls back to asynchronous.
  ASSERT_EQ(RootSql(stack, "MARIADB_REPLICA_ADDR", "STOP SLAVE IO_THREAD"), 0);
  ASSERT_EQ(RootSql(stack, "MARIADB_PRIMARY_ADDR",
                    "INSERT INTO shop.orders (note) VALUES ('unacknowledged')"),
            0);
  ASSERT_TRUE(testing::WaitFor([&] {
    scrape();
    return source_is(kActive, "0") &&
           !HasLine(p_text, Line("failover_replication_semisync_unacked_transactions", "", "0"));
  })) << p_text;
  EXPECT_TRUE(source_is(kEnabled, "1")) << "enabled but not working: the alert's case\n" << p_text;
  EXPECT_TRUE(replica_is(kActive, "0")) << r_text;

  // Off on both sides: 0 on both.
  ASSERT_EQ(RootSql(stack, "MARIADB_PRIMARY_ADDR", "SET GLOBAL rpl_semi_sync_master_enabled = OFF"),
            0);
  ASSERT_EQ(RootSql(stack, "MARIADB_REPLICA_ADDR",
                    "SET GLOBAL rpl_semi_sync_slave_enabled = OFF; START SLAVE IO_THREAD"),
            0);
  ASSERT_TRUE(testing::WaitFor([&] {
    scrape();
    return source_is(kEnabled, "0") && source_is(kActive, "0") && replica_is(kEnabled, "0") &&
           replica_is(kActive, "0") &&
           HasLine(r_text, Line("failover_replication_running", ",thread=\"io\"", "1"));
  })) << p_text
      << r_text;
}

}  // namespace
}  // namespace failover
