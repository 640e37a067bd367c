// The postgres prober: config validation, the status -> metrics mapping on canned rows
// (standby streaming, paused, idle, receiver down; primary with standbys), and
// unreachable servers on the real worker pool.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>

#include "exporter/probers/postgres.h"
#include "tests/exporter/probe_runner.h"
#include "tests/exporter/prober_checks.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_http_server.h"

namespace failover {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using namespace testing;  // the prober harness, tests/exporter/probe_runner.h

// A streaming standby that has replayed everything it received.
SqlRow Standby() {
  return {{"in_recovery", "t"},          {"read_only", "on"},
          {"receive_replay_bytes", "0"}, {"replay_age_seconds", "3600.5"},
          {"receiver_pid", "4242"},      {"receiver_status", "streaming"},
          {"replay_paused", "f"}};
}

SqlRow Primary() {
  return {{"in_recovery", "f"},
          {"read_only", "off"},
          {"receive_replay_bytes", std::nullopt},
          {"replay_age_seconds", std::nullopt},
          {"receiver_pid", std::nullopt},
          {"receiver_status", std::nullopt},
          {"replay_paused", std::nullopt}};
}

SqlRow StandbyRow(const char* app, const char* addr, const char* port) {
  return {{"application_name", app},   {"client_addr", addr},
          {"client_port", port},       {"pid", "99"},
          {"state", "streaming"},      {"write_lag", std::nullopt},
          {"flush_lag", std::nullopt}, {"replay_lag", std::nullopt},
          {"write_bytes", "0"},        {"flush_bytes", "0"},
          {"replay_bytes", "0"}};
}

TEST(PostgresMappingTest, CaughtUpStandbyOnAnIdlePrimaryHasNoLag) {
  // The last replayed transaction is an hour old (nothing happened on the primary): that
  // is not lag.
  std::string text = RenderSamples(PostgresProbeResult(Standby(), {}));
  EXPECT_TRUE(HasLine(text, Line("failover_replication_lag_seconds", "", "0"))) << text;
  EXPECT_TRUE(HasLine(text, Line("failover_replication_lag_bytes", "", "0")));
  EXPECT_TRUE(HasLine(text, Line("failover_replication_running", ",thread=\"receiver\"", "1")));
  EXPECT_TRUE(HasLine(text, Line("failover_replication_running", ",thread=\"replay\"", "1")));
  EXPECT_TRUE(HasRoleSamples(text, "replica", /*read_only=*/true));
}

TEST(PostgresMappingTest, PausedReplayLagsByTheLastReplayAge) {
  SqlRow s = Standby();
  s["replay_paused"] = "t";
  s["receive_replay_bytes"] = "16384";
  s["replay_age_seconds"] = "12.25";
  std::string text = RenderSamples(PostgresProbeResult(s, {}));
  EXPECT_TRUE(HasLine(text, Line("failover_replication_lag_seconds", "", "12.25"))) << text;
  EXPECT_TRUE(HasLine(text, Line("failover_replication_lag_bytes", "", "16384")));
  EXPECT_TRUE(HasLine(text, Line("failover_replication_running", ",thread=\"replay\"", "0")));
  EXPECT_TRUE(HasLine(text, Line("failover_replication_running", ",thread=\"receiver\"", "1")));
}

// WAL that arrived on an idle primary (a checkpoint, a standby snapshot) and is not yet
// replayed when a run looks: the lag is at most the time since a run last found the
// standby caught up, not the age of the last transaction (an hour here).
TEST(PostgresMappingTest, WalNotYetReplayedOnAnIdlePrimaryIsNotTheLastTransactionsAge) {
  std::optional<double> caught_up_at;
  SqlRow s = Standby();
  s["server_time"] = "1000.0";
  std::string text = RenderSamples(PostgresProbeResult(s, {}, &caught_up_at));
  EXPECT_TRUE(HasLine(text, Line("failover_replication_lag_seconds", "", "0"))) << text;
  ASSERT_TRUE(caught_up_at.has_value());
  EXPECT_EQ(*caught_up_at, 1000.0);

  s["receive_replay_bytes"] = "120";
  s["server_time"] = "1000.25";
  text = RenderSamples(PostgresProbeResult(s, {}, &caught_up_at));
  EXPECT_TRUE(HasLine(text, Line("failover_replication_lag_seconds", "", "0.25"))) << text;
  EXPECT_TRUE(HasLine(text, Line("failover_replication_lag_bytes", "", "120")));
  EXPECT_EQ(*caught_up_at, 1000.0);  // only a caught-up run moves it

  // Still behind ten seconds later: the lag grows with the time.
  s["server_time"] = "1010.0";
  text = RenderSamples(PostgresProbeResult(s, {}, &caught_up_at));
  EXPECT_TRUE(HasLine(text, Line("failover_replication_lag_seconds", "", "10"))) << text;

  // A transaction replayed 4 s ago is the smaller bound.
  s["replay_age_seconds"] = "4";
  text = RenderSamples(PostgresProbeResult(s, {}, &caught_up_at));
  EXPECT_TRUE(HasLine(text, Line("failover_replication_lag_seconds", "", "4"))) << text;

  // Without a caught-up run to go by (the first run of a connection), the age stands.
  std::optional<double> none;
  s["replay_age_seconds"] = "3600.5";
  text = RenderSamples(PostgresProbeResult(s, {}, &none));
  EXPECT_TRUE(HasLine(text, Line("failover_replication_lag_seconds", "", "3600.5"))) << text;

  // The receiver stops: what it last saw says nothing any more.
  s["receiver_pid"] = std::nullopt;
  s["receiver_status"] = std::nullopt;
  text = RenderSamples(PostgresProbeResult(s, {}, &caught_up_at));
  EXPECT_TRUE(HasLine(text, Line("failover_replication_lag_seconds", "", "3600.5"))) << text;
  EXPECT_FALSE(caught_up_at.has_value());
}

TEST(PostgresMappingTest, ReceiverDownIsNotLagZero) {
  SqlRow s = Standby();
  s["receiver_pid"] = std::nullopt;
  s["receiver_status"] = std::nullopt;
  s["replay_age_seconds"] = "75";
  std::string text = RenderSamples(PostgresProbeResult(s, {}));
  EXPECT_TRUE(HasLine(text, Line("failover_replication_running", ",thread=\"receiver\"", "0")));
  // Everything received is replayed, but nothing arrives: the age of the last replay.
  EXPECT_TRUE(HasLine(text, Line("failover_replication_lag_seconds", "", "75"))) << text;

  // Never replayed anything: no seconds at all rather than a made-up value.
  s["replay_age_seconds"] = std::nullopt;
  s["receive_replay_bytes"] = std::nullopt;
  text = RenderSamples(PostgresProbeResult(s, {}));
  EXPECT_EQ(text.find("failover_replication_lag_"), std::string::npos) << text;
}

TEST(PostgresMappingTest, HiddenReceiverStatusAsksForPgMonitor) {
  SqlRow s = Standby();
  s["receiver_status"] = std::nullopt;
  ProbeResult r = PostgresProbeResult(s, {});
  EXPECT_TRUE(FailedWith(r, "query_failed", "GRANT pg_monitor"));
}

TEST(PostgresMappingTest, PrimaryReportsEveryStandbyByStage) {
  SqlRow a = StandbyRow("walreceiver", "127.0.0.1", "50766");
  a["write_lag"] = "0.001";
  a["flush_lag"] = "0.002";
  a["replay_lag"] = "0.5";
  a["write_bytes"] = "0";
  a["flush_bytes"] = "0";
  a["replay_bytes"] = "8192";
  SqlRow b = StandbyRow("dr-eu-west", "127.0.0.3", "40000");
  SqlRow c = StandbyRow("walreceiver", "127.0.0.1", "50800");
  c["replay_bytes"] = "100";  // behind, and the lag interval is NULL: no seconds for it
  ProbeResult r = PostgresProbeResult(Primary(), {a, b, c});
  EXPECT_TRUE(r.success);
  std::string text = RenderSamples(r);
  EXPECT_TRUE(HasRoleSamples(text, "primary", /*read_only=*/false));
  EXPECT_TRUE(HasLine(text, Line("failover_replication_lag_seconds",
                                 ",standby=\"127.0.0.1\",stage=\"replay\"", "0.5")))
      << text;
  EXPECT_TRUE(HasLine(text, Line("failover_replication_lag_bytes",
                                 ",standby=\"127.0.0.1\",stage=\"replay\"", "8192")));
  EXPECT_TRUE(HasLine(text, Line("failover_replication_lag_seconds",
                                 ",standby=\"127.0.0.1\",stage=\"write\"", "0.001")));
  // Caught up for a while: the intervals are NULL, the lag is 0.
  for (const char* stage : {"write", "flush", "replay"}) {
    EXPECT_TRUE(
        HasLine(text, Line("failover_replication_lag_seconds",
                           std::string(",standby=\"dr-eu-west\",stage=\"") + stage + "\"", "0")));
  }
  // Two "walreceiver"s from one address stay two series.
  EXPECT_TRUE(
      HasLine(text, Line("failover_replication_lag_bytes",
                         ",standby=\"127.0.0.1@127.0.0.1:50800\",stage=\"replay\"", "100")));
  EXPECT_EQ(text.find("standby=\"127.0.0.1@127.0.0.1:50800\",stage=\"replay\"} 0"),
            std::string::npos);
  EXPECT_EQ(text.find("failover_replication_running"), std::string::npos);
}

// ---- configuration ----------------------------------------------------------------------

Result<std::shared_ptr<Prober>> BuildPg(const std::string& body, Duration timeout = seconds(5)) {
  return BuildProber("postgres:\n" + body, &NewPostgresProber, timeout);
}

class PostgresConfigErrorTest : public ::testing::TestWithParam<ConfigErrorCase> {};

TEST_P(PostgresConfigErrorTest, ErrorNamesLocationAndKey) {
  testing::ExpectRefused(BuildPg(GetParam().body), GetParam());
}

INSTANTIATE_TEST_SUITE_P(
    Postgres, PostgresConfigErrorTest,
    ::testing::Values(
        ConfigErrorCase{"NoConninfo", "  password_file: /x\n",
                        "probe.yml:2:3: postgres: missing required key \"conninfo\""},
        ConfigErrorCase{"BadConninfo", "  conninfo: \"host=127.0.0.1 port\"\n",
                        "probe.yml:2:13: postgres.conninfo: invalid conninfo: missing \"=\" after "
                        "\"port\" in connection info string"},
        ConfigErrorCase{"UnknownParameter", "  conninfo: \"hots=127.0.0.1\"\n",
                        "probe.yml:2:13: postgres.conninfo: invalid conninfo: invalid connection "
                        "option \"hots\""},
        ConfigErrorCase{"PasswordInConninfo",
                        "  conninfo: \"host=127.0.0.1 user=monitor password=hunter2\"\n",
                        "probe.yml:2:13: postgres.conninfo: conninfo contains a password: use "
                        "password_file"},
        ConfigErrorCase{"MissingPasswordFile",
                        "  conninfo: \"host=127.0.0.1\"\n  password_file: /nonexistent/pw\n",
                        "probe.yml:3:18: postgres.password_file:"},
        ConfigErrorCase{"UnknownKey", "  conninfo: \"host=127.0.0.1\"\n  dbname: x\n",
                        "probe.yml:3:3: postgres.dbname: unknown key \"dbname\""}),
    testing::ConfigErrorCaseName);

// The keys a postgres block takes are the keys its parser reads (ParsePostgresSpec): an
// unknown one is refused with all of them named.
TEST(PostgresConfigTest, UnknownKeyNamesEveryKeyTheBlockTakes) {
  ExpectRefusedWith(BuildPg("  conninfo: \"host=127.0.0.1\"\n  dbname: x\n"),
                    "probe.yml:3:3: postgres.dbname: unknown key \"dbname\" (known keys: conninfo, "
                    "password, password_file, password_env)");
}

TEST(PostgresConfigTest, AcceptsTheDocumentedShapes) {
  testing::TempDir dir;
  std::string pw = dir.Write("pw", "secret\n");
  EXPECT_TRUE(
      Accepted(BuildPg("  conninfo: \"host=127.0.0.1 port=5433 user=monitor dbname=postgres\"\n"
                       "  password_file: " +
                       pw + "\n")));
  EXPECT_TRUE(Accepted(BuildPg("  conninfo: \"postgresql://monitor@127.0.0.1:5433/postgres\"\n")));
}

// ---- unreachable servers ------------------------------------------------------------------

TEST(PostgresProberRunTest, RefusedConnectionFailsAtOnce) {
  ProbeRunner runner;
  ProbeResult r = runner.Run(
      BuildPg("  conninfo: \"host=127.0.0.1 port=" + std::to_string(testing::ClosedPort()) +
              " user=monitor sslmode=disable\"\n"));
  EXPECT_TRUE(FailedWith(r, "connection_refused", "Connection refused"));
}

TEST(PostgresProberRunTest, SilentServerTimesOutByTheDeadline) {
  testing::BlackholeListener hung;
  ProbeRunner runner;
  auto p = BuildPg("  conninfo: \"host=127.0.0.1 port=" + std::to_string(hung.port()) +
                       " user=monitor sslmode=disable\"\n",
                   milliseconds(400));
  ASSERT_TRUE(p) << p.error().message;
  auto start = std::chrono::steady_clock::now();
  ProbeResult r = runner.Run(**p, milliseconds(400));
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.reason, "timeout") << Describe(r);
  EXPECT_GE(took, milliseconds(350));
  EXPECT_LT(took, milliseconds(1500));
  // The run is over at the deadline: nothing of it is left on the loop.
  EXPECT_EQ(runner.loop().watched_fds(), 0u);
}

// The conninfo's host name is looked up off the loop and handed to libpq as hostaddr.
TEST(PostgresProberRunTest, HostNameIsLookedUpAndConnectedTo) {
  ProbeRunner runner;
  auto refused =
      BuildPg("  conninfo: \"host=localhost port=" + std::to_string(testing::ClosedPort()) +
              " user=monitor sslmode=disable\"\n");
  ASSERT_TRUE(refused) << refused.error().message;
  ProbeResult r = runner.Run(**refused, seconds(5));
  EXPECT_EQ(r.reason, "connection_refused") << Describe(r);
  EXPECT_TRUE(HasSubstr(r.detail, "127.0.0.1")) << "libpq connected to the looked-up address";
  testing::BlackholeListener hung;
  auto hanging = BuildPg("  conninfo: \"host=localhost port=" + std::to_string(hung.port()) +
                             " user=monitor sslmode=disable\"\n",
                         milliseconds(400));
  ASSERT_TRUE(hanging);
  r = runner.Run(**hanging, milliseconds(400));
  EXPECT_EQ(r.reason, "timeout") << Describe(r);
  EXPECT_EQ(runner.loop().watched_fds(), 0u);
}

}  // namespace
}  // namespace failover
