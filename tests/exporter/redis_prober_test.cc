// The redis prober: config validation, the INFO replication -> metrics mapping on canned
// answers, and the stack's real Redis pair: a replica and a primary up, the replica's link
// broken (REPLICAOF a dead port), AUTH with the ACL user and a wrong password, TLS.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "exporter/probers/redis.h"
#include "tests/exporter/probe_runner.h"
#include "tests/exporter/prober_checks.h"
#include "tests/support/stack.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_http_server.h"
#include "tests/support/wait.h"

namespace failover {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using namespace testing;  // the prober harness, tests/exporter/probe_runner.h

// INFO replication of a Redis 7.0 replica whose link is up (as the stack's replica says it).
std::string ReplicaUp() {
  return "# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\nmaster_port:6379\r\n"
         "master_link_status:up\r\nmaster_last_io_seconds_ago:1\r\nmaster_sync_in_progress:0\r\n"
         "slave_read_repl_offset:5000\r\nslave_repl_offset:4200\r\nslave_priority:100\r\n"
         "slave_read_only:1\r\nreplica_announced:1\r\nconnected_slaves:0\r\n"
         "master_repl_offset:4200\r\n";
}

// The same replica a while after its primary went away.
std::string ReplicaDown() {
  return "# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\nmaster_port:6379\r\n"
         "master_link_status:down\r\nmaster_last_io_seconds_ago:-1\r\n"
         "master_sync_in_progress:0\r\nslave_read_repl_offset:5000\r\nslave_repl_offset:5000\r\n"
         "master_link_down_since_seconds:42\r\nslave_read_only:1\r\nconnected_slaves:0\r\n"
         "master_repl_offset:5000\r\n";
}

std::string Render(const std::string& info) {
  return RenderSamples(RedisProbeResult(ParseRedisInfo(info)));
}

TEST(RedisMappingTest, ReplicaWithTheLinkUpReportsLastIoAndOffsetLag) {
  ProbeResult r = RedisProbeResult(ParseRedisInfo(ReplicaUp()));
  EXPECT_TRUE(r.success) << Describe(r);
  std::string text = RenderSamples(r);
  EXPECT_TRUE(HasRoleSamples(text, "replica", /*read_only=*/true));
  EXPECT_TRUE(HasLine(text, Line("failover_replication_running", ",thread=\"link\"", "1")));
  EXPECT_TRUE(HasLine(text, Line("failover_replication_lag_seconds", "", "1")));
  EXPECT_TRUE(HasLine(text, Line("failover_replication_lag_bytes", "", "800")));
  EXPECT_EQ(text.find("failover_replication_last_error_info"), std::string::npos);
}

TEST(RedisMappingTest, BrokenLinkIsNeverLagZero) {
  std::string text = Render(ReplicaDown());
  EXPECT_TRUE(HasLine(text, Line("failover_replication_running", ",thread=\"link\"", "0"))) << text;
  EXPECT_EQ(text.find("failover_replication_lag_seconds{"), std::string::npos) << text;
  EXPECT_EQ(text.find("failover_replication_lag_bytes{"), std::string::npos) << text;
  EXPECT_TRUE(HasLine(text, Line("failover_replication_last_error_info",
                                 ",thread=\"link\",error=\"master_link_status down\"", "1")))
      << text;
}

TEST(RedisMappingTest, FullSyncInProgressHasNoLag) {
  std::string info = ReplicaUp();
  info.replace(info.find("master_sync_in_progress:0"), 25, "master_sync_in_progress:1");
  std::string text = Render(info);
  EXPECT_TRUE(HasLine(text, Line("failover_replication_running", ",thread=\"link\"", "0")));
  EXPECT_EQ(text.find("failover_replication_lag_seconds{"), std::string::npos) << text;
}

TEST(RedisMappingTest, PrimaryReportsEachOnlineReplica) {
  std::string text = Render(
      "# Replication\r\nrole:master\r\nconnected_slaves:2\r\n"
      "slave0:ip=10.0.0.2,port=6379,state=online,offset=900,lag=0\r\n"
      "slave1:ip=10.0.0.3,port=6379,state=wait_bgsave,offset=0,lag=-1\r\n"
      "master_repl_offset:1000\r\n");
  EXPECT_TRUE(HasRoleSamples(text, "primary", /*read_only=*/false));
  EXPECT_TRUE(
      HasLine(text, Line("failover_replication_lag_bytes", ",replica=\"10.0.0.2:6379\"", "100")));
  EXPECT_TRUE(
      HasLine(text, Line("failover_replication_lag_seconds", ",replica=\"10.0.0.2:6379\"", "0")));
  EXPECT_EQ(text.find("10.0.0.3"), std::string::npos) << "a syncing replica has no lag yet";
  EXPECT_EQ(text.find("thread=\"link\""), std::string::npos);
}

TEST(RedisMappingTest, AnswerWithoutARoleIsAFailure) {
  ProbeResult r = RedisProbeResult(ParseRedisInfo("# Replication\r\n"));
  EXPECT_TRUE(FailedWith(r, "error"));
}

// ---- configuration -----------------------------------------------------------------------

Result<std::shared_ptr<Prober>> BuildRedis(const std::string& body, Duration timeout = seconds(5)) {
  return BuildProber("redis:\n" + body, &NewRedisProber, timeout);
}

TEST(RedisConfigTest, RefusesBadBlocksNamingTheKey) {
  struct Case {
    std::string body, error;
  } cases[] = {
      // An unknown key is named once the block's values parse (RejectUnreadKeys).
      {"  address: 127.0.0.1:6379\n  user: x\n", "probe.yml:3:3: redis.user: unknown key \"user\""},
      {"  address: 127.0.0.1\n", "probe.yml:2:12: redis.address:"},
      {"  address: 127.0.0.1:6379\n  username: failover\n",
       "probe.yml:3:13: redis.username: username needs a password"},
      {"  address: 127.0.0.1:6379\n  tls: maybe\n", "probe.yml:3:8: redis.tls: tls is true"},
      {"  address: 127.0.0.1:6379\n  tls: {ca_file: /nonexistent/ca.pem}\n",
       "redis.tls.ca_file: cannot read /nonexistent/ca.pem"},
  };
  for (const Case& c : cases) {
    auto p = BuildRedis(c.body);
    ASSERT_FALSE(p) << c.body;
    EXPECT_TRUE(HasSubstr(p.error().message, c.error));
  }
}

// The keys a redis block takes are the keys its parser reads (ParseRedisSpec): an unknown
// one is refused with all of them named.
TEST(RedisConfigTest, UnknownKeyNamesEveryKeyTheBlockTakes) {
  ExpectRefusedWith(BuildRedis("  address: 127.0.0.1:6379\n  db: 2\n"),
                    "probe.yml:3:3: redis.db: unknown key \"db\" (known keys: address, password, "
                    "password_file, password_env, username, tls)");
}

TEST(RedisProberRunTest, RefusedConnectionAndSilentServer) {
  ProbeRunner runner;
  auto refused = BuildRedis("  address: 127.0.0.1:" + std::to_string(testing::ClosedPort()) + "\n");
  ASSERT_TRUE(refused) << refused.error().message;
  ProbeResult r = runner.Run(**refused);
  EXPECT_EQ(r.reason, "connection_refused") << Describe(r);
  testing::BlackholeListener hung;
  auto hanging =
      BuildRedis("  address: localhost:" + std::to_string(hung.port()) + "\n", milliseconds(500));
  ASSERT_TRUE(hanging);
  r = runner.Run(**hanging, milliseconds(500));
  EXPECT_EQ(r.reason, "timeout") << Describe(r);
  EXPECT_EQ(runner.loop().watched_fds(), 0u);
}

// ---- the stack's real Redis pair ---------------------------------------------------------

ProbeResult RunRedis(const std::string& body) {
  auto p = BuildRedis(body);
  if (!p) {
    ADD_FAILURE() << p.error().message;
    return ProbeResult::Failure("config", p.error().message);
  }
  ProbeRunner runner;
  return runner.Run(**p);
}

TEST(RedisProberStackTest, ReplicaAndPrimaryUp) {
  auto& stack = testing::Stack::Get({"redis"});
  ProbeResult r = RunRedis("  address: " + stack.Env("REDIS_REPLICA_ADDR") + "\n");
  ASSERT_TRUE(r.success) << Describe(r);
  std::string text = RenderSamples(r);
  EXPECT_TRUE(HasLine(text, Line("failover_db_role", ",role=\"replica\"", "1"))) << text;
  EXPECT_TRUE(HasLine(text, Line("failover_replication_running", ",thread=\"link\"", "1")));
  EXPECT_TRUE(HasSubstr(text, "failover_replication_lag_seconds{probe=\"p\",kind=\"k\"} "));
  EXPECT_TRUE(HasLine(text, Line("failover_replication_lag_bytes", "", "0")));

  // The replica's link is up a moment before the primary lists it as online (a replica
  // still syncing has no lag to report): the primary's probe is repeated until it does.
  const std::string lag = "failover_replication_lag_bytes{probe=\"p\",kind=\"k\",replica=\"" +
                          stack.Env("REDIS_REPLICA_ADDR") + "\"} ";
  testing::WaitFor(
      [&] {
        r = RunRedis("  address: " + stack.Env("REDIS_PRIMARY_ADDR") + "\n");
        text = r.success ? RenderSamples(r) : "";
        return HasSubstr(text, lag);
      },
      std::chrono::seconds(10));
  ASSERT_TRUE(r.success) << Describe(r);
  EXPECT_TRUE(HasLine(text, Line("failover_db_role", ",role=\"primary\"", "1"))) << text;
  EXPECT_TRUE(HasSubstr(text, lag)) << text;
}

TEST(RedisProberStackTest, AclUserAndWrongPassword) {
  auto& stack = testing::Stack::Get({"redis"});
  std::string addr = "  address: " + stack.Env("REDIS_PRIMARY_ADDR") + "\n";
  ProbeResult r = RunRedis(addr + "  username: failover\n  password_file: " +
                           stack.Env("REDIS_FAILOVER_PASSWORD_FILE") + "\n");
  EXPECT_TRUE(r.success) << Describe(r);
  EXPECT_TRUE(HasLine(RenderSamples(r), Line("failover_db_role", ",role=\"primary\"", "1")));

  r = RunRedis(addr + "  username: failover\n  password: not-the-password-123\n");
  EXPECT_TRUE(FailedWith(r, "auth_failed", "WRONGPASS"));
  EXPECT_EQ(r.detail.find("not-the-password-123"), std::string::npos) << r.detail;
}

TEST(RedisProberStackTest, TlsVerifiedAgainstTheCaOnly) {
  auto& stack = testing::Stack::Get({"redis"});
  std::string addr = "  address: " + stack.Env("REDIS_PRIMARY_TLS_ADDR") + "\n";
  ProbeResult r = RunRedis(addr + "  tls: {ca_file: " + stack.Env("REDIS_TLS_CA_FILE") + "}\n");
  EXPECT_TRUE(r.success) << Describe(r);
  EXPECT_TRUE(HasLine(RenderSamples(r), Line("failover_db_role", ",role=\"primary\"", "1")));
  // The system's CAs do not know the stack's self-signed certificate.
  r = RunRedis(addr + "  tls: true\n");
  EXPECT_EQ(r.reason, "tls_verify") << Describe(r);
  // Nor is it valid for another name.
  r = RunRedis(addr + "  tls: {ca_file: " + stack.Env("REDIS_TLS_CA_FILE") +
               ", server_name: redis.example.com}\n");
  EXPECT_EQ(r.reason, "tls_verify") << Describe(r);
  // Plain text to the TLS port is no answer.
  r = RunRedis(addr);
  EXPECT_FALSE(r.success) << Describe(r);
}

TEST(RedisProberStackTest, ReplicaPointedAtADeadPrimaryHasNoLag) {
  auto& stack = testing::Stack::Get({"redis"});
  std::string replica = stack.Env("REDIS_REPLICA_ADDR");
  std::string cli = "redis-cli -h 127.0.0.1 -p ${REDIS_REPLICA_ADDR#*:} ";
  int dead = testing::ClosedPort();
  ASSERT_EQ(stack.Shell(cli + "REPLICAOF 127.0.0.1 " + std::to_string(dead) + " >/dev/null"), 0);
  std::string text;
  bool down = testing::WaitFor([&] {
    ProbeResult r = RunRedis("  address: " + replica + "\n");
    text = RenderSamples(r);
    return r.success &&
           HasLine(text, Line("failover_replication_running", ",thread=\"link\"", "0"));
  });
  // Back to the primary before asserting, for the other tests of this process.
  EXPECT_EQ(stack.Shell(cli + "REPLICAOF 127.0.0.1 ${REDIS_PRIMARY_ADDR#*:} >/dev/null"), 0);
  EXPECT_TRUE(down) << text;
  EXPECT_EQ(text.find("failover_replication_lag_seconds{"), std::string::npos) << text;
  EXPECT_EQ(text.find("failover_replication_lag_bytes{"), std::string::npos) << text;
  EXPECT_TRUE(HasLine(text, Line("failover_db_role", ",role=\"replica\"", "1")));
  EXPECT_TRUE(testing::WaitFor([&] {
    return HasLine(RenderSamples(RunRedis("  address: " + replica + "\n")),
                   Line("failover_replication_running", ",thread=\"link\"", "1"));
  }));
}

}  // namespace
}  // namespace failover
