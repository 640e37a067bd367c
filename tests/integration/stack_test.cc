// scripts/stack as the tests see it: each server answers what the contract promises.
// gtest_discover_tests runs every TEST in its own process, so each one starts (and at
// exit stops) only the components it asks for.
#include "tests/support/stack.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>

#include "tests/support/temp_dir.h"

namespace failover::testing {
namespace {

// Polls `cond` every 50 ms (each try runs processes) until it holds or `limit` passes.
bool Eventually(const std::function<bool()>& cond,
                std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return cond();
}

const char kMariaDb[] = "mariadb --no-defaults --connect-timeout=2 -h127.0.0.1 ";
const char kPsql[] =
    "\"$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)/psql\" -X -q -A -t -h 127.0.0.1 ";

TEST(StackTest, PowerDnsServesWwwFromUsEast) {
  auto& stack = Stack::Get({"powerdns"});
  EXPECT_EQ(stack.Env("PDNS_DNS_ADDR").rfind("127.0.0.1:", 0), 0u);
  std::string out;
  ASSERT_EQ(
      stack.Shell("dig @127.0.0.1 -p \"${PDNS_DNS_ADDR#*:}\" www.example.test A +short", &out), 0);
  EXPECT_EQ(out, "127.0.0.2\n");
  ASSERT_EQ(
      stack.Shell("dig @127.0.0.1 -p \"${PDNS_DNS_ADDR#*:}\" +tcp ns1.example.test A +short", &out),
      0);
  EXPECT_EQ(out, "127.0.0.1\n");
  // The API wants the key; the key file holds the same key.
  ASSERT_EQ(stack.Shell("curl -s -o /dev/null -w '%{http_code}' -H \"X-API-Key: $(cat "
                        "\"$PDNS_API_KEY_FILE\")\" \"$PDNS_API_URL/api/v1/servers/localhost/zones/"
                        "example.test.\"",
                        &out),
            0);
  EXPECT_EQ(out, "200");
  ASSERT_EQ(stack.Shell("curl -s -o /dev/null -w '%{http_code}' "
                        "\"$PDNS_API_URL/api/v1/servers/localhost/zones\"",
                        &out),
            0);
  EXPECT_EQ(out, "401");
}

TEST(StackTest, BindTakesSignedUpdatesAndKeepsThemAcrossARestart) {
  auto& stack = Stack::Get({"bind"});
  EXPECT_EQ(stack.Env("BIND_ADDR").rfind("127.0.0.1:", 0), 0u);
  EXPECT_EQ(stack.Env("BIND_ZONE"), "example.test.");
  EXPECT_EQ(stack.Env("BIND_KEY_NAME"), "failover-key");
  std::string out;
  ASSERT_EQ(stack.Shell("dig @127.0.0.1 -p \"${BIND_ADDR#*:}\" www.example.test A +short", &out),
            0);
  EXPECT_EQ(out, "127.0.0.2\n");
  ASSERT_EQ(
      stack.Shell("dig @127.0.0.1 -p \"${BIND_ADDR#*:}\" +tcp ns1.example.test A +short", &out), 0);
  EXPECT_EQ(out, "127.0.0.1\n");
  // The key file holds the bare base64 secret.
  ASSERT_EQ(stack.Shell("grep -Ec '^[A-Za-z0-9+/]+=*$' \"$BIND_KEY_FILE\"", &out), 0);
  EXPECT_EQ(out, "1\n");

  const std::string update =
      "printf 'server 127.0.0.1 %s\\nzone example.test\\nupdate delete www.example.test A\\n"
      "update add www.example.test 30 A 127.0.0.3\\nsend\\n' \"${BIND_ADDR#*:}\" | nsupdate ";
  // Unsigned: refused.
  EXPECT_NE(stack.Shell(update + "2>/dev/null"), 0);
  // Signed with the key from the secret file (hmac-sha256).
  ASSERT_EQ(stack.Shell(update + "-y \"hmac-sha256:$BIND_KEY_NAME:$(cat \"$BIND_KEY_FILE\")\""), 0);
  ASSERT_EQ(stack.Shell("dig @127.0.0.1 -p \"${BIND_ADDR#*:}\" www.example.test A +short", &out),
            0);
  EXPECT_EQ(out, "127.0.0.3\n");

  // Stop and start: same port, the update is still there.
  ASSERT_EQ(stack.Run({"stop", "bind"}), 0);
  ASSERT_NE(stack.Run({"status", "bind"}), 0);
  ASSERT_EQ(stack.Run({"start", "bind"}, &out), 0);
  EXPECT_EQ(Stack::ParseExports(out)["BIND_ADDR"], stack.Env("BIND_ADDR"));
  ASSERT_EQ(stack.Shell("dig @127.0.0.1 -p \"${BIND_ADDR#*:}\" www.example.test A +short", &out),
            0);
  EXPECT_EQ(out, "127.0.0.3\n");
}

TEST(StackTest, MariaDbRowWrittenOnPrimaryAppearsOnReplica) {
  auto& stack = Stack::Get({"mariadb"});
  const std::string app =
      std::string(kMariaDb) + "-uapp -p\"$(cat \"$MARIADB_APP_PASSWORD_FILE\")\" ";
  ASSERT_EQ(
      stack.Shell(app + "-P\"${MARIADB_PRIMARY_ADDR#*:}\" shop -e \"INSERT INTO orders (note) "
                        "VALUES ('from-primary')\""),
      0);
  std::string out;
  EXPECT_TRUE(Eventually([&] {
    return stack.Shell(
               app + "-P\"${MARIADB_REPLICA_ADDR#*:}\" -N shop -e \"SELECT note FROM orders\"",
               &out) == 0 &&
           out.find("from-primary") != std::string::npos;
  })) << out;
  // The replica is read-only for the non-privileged app user.
  EXPECT_NE(stack.Shell(app + "-P\"${MARIADB_REPLICA_ADDR#*:}\" shop -e \"INSERT INTO orders "
                              "(note) VALUES ('x')\" 2>/dev/null"),
            0);
  // The monitor user may read the replication status.
  ASSERT_EQ(stack.Shell(std::string(kMariaDb) +
                            "-umonitor -p\"$(cat \"$MARIADB_MONITOR_PASSWORD_FILE\")\" "
                            "-P\"${MARIADB_REPLICA_ADDR#*:}\" -E -e 'SHOW SLAVE STATUS'",
                        &out),
            0);
  EXPECT_NE(out.find("Slave_SQL_Running: Yes"), std::string::npos) << out;
  EXPECT_NE(out.find("Using_Gtid: Slave_Pos"), std::string::npos) << out;
}

TEST(StackTest, PostgresRowWrittenOnPrimaryAppearsOnStandby) {
  auto& stack = Stack::Get({"postgres"});
  const std::string psql = std::string(kPsql) + "-U postgres -d shop ";
  ASSERT_EQ(stack.Shell(psql + "-p \"${PG_PRIMARY_ADDR#*:}\" -c \"INSERT INTO orders (note) "
                               "VALUES ('from-primary')\""),
            0);
  std::string out;
  EXPECT_TRUE(Eventually([&] {
    return stack.Shell(psql + "-p \"${PG_STANDBY_ADDR#*:}\" -c 'SELECT note FROM orders'", &out) ==
               0 &&
           out.find("from-primary") != std::string::npos;
  })) << out;
  ASSERT_EQ(
      stack.Shell(psql + "-p \"${PG_STANDBY_ADDR#*:}\" -c 'SELECT pg_is_in_recovery()'", &out), 0);
  EXPECT_EQ(out, "t\n");
  // The monitor role logs in with its password and sees the standby streaming.
  ASSERT_EQ(
      stack.Shell("PGPASSWORD=\"$(cat \"$PG_MONITOR_PASSWORD_FILE\")\" " + std::string(kPsql) +
                      "-U monitor -d postgres -p \"${PG_PRIMARY_ADDR#*:}\" "
                      "-c 'SELECT state FROM pg_stat_replication'",
                  &out),
      0);
  EXPECT_EQ(out, "streaming\n");
}

TEST(StackTest, NginxRegionsAnswerHealthzAndGoDownOnFlag) {
  auto& stack = Stack::Get({"nginx"});
  auto healthz = [&](const std::string& addr_var) {
    std::string out;
    stack.Shell("curl -s -w ' %{http_code}' \"http://$" + addr_var + ":$NGINX_PORT/healthz\"",
                &out);
    return out;
  };
  EXPECT_EQ(stack.Env("REGION_US_EAST_ADDR"), "127.0.0.2");
  EXPECT_EQ(stack.Env("REGION_EU_WEST_ADDR"), "127.0.0.3");
  EXPECT_EQ(healthz("REGION_US_EAST_ADDR"), "ok\n 200");
  EXPECT_EQ(healthz("REGION_EU_WEST_ADDR"), "ok\n 200");
  ASSERT_EQ(stack.Run({"region-down", "127.0.0.2"}), 0);
  EXPECT_EQ(healthz("REGION_US_EAST_ADDR"), "maintenance\n 503");
  EXPECT_EQ(healthz("REGION_EU_WEST_ADDR"), "ok\n 200");
  ASSERT_EQ(stack.Run({"region-up", "127.0.0.2"}), 0);
  EXPECT_EQ(healthz("REGION_US_EAST_ADDR"), "ok\n 200");
}

TEST(StackTest, PrometheusAndAlertmanagerAreReadyAndConnected) {
  auto& stack = Stack::Get({"alertmanager", "prometheus"});
  std::string out;
  for (const char* var : {"PROMETHEUS_URL", "ALERTMANAGER_URL"}) {
    ASSERT_EQ(
        stack.Shell(std::string("curl -s -o /dev/null -w '%{http_code}' \"$") + var + "/-/ready\"",
                    &out),
        0);
    EXPECT_EQ(out, "200") << var;
  }
  // Prometheus discovers the stack's Alertmanager from its generated config.
  const std::string am = stack.Env("ALERTMANAGER_URL");
  EXPECT_TRUE(Eventually([&] {
    return stack.Shell("curl -s \"$PROMETHEUS_URL/api/v1/alertmanagers\"", &out) == 0 &&
           out.find(am + "/api/v2/alerts") != std::string::npos;
  })) << out;
  // Both reload their (rewritable) configuration files.
  EXPECT_EQ(stack.Shell("test -f \"$PROMETHEUS_CONFIG\" && test -f \"$ALERTMANAGER_CONFIG\""), 0);
  for (const char* var : {"PROMETHEUS_URL", "ALERTMANAGER_URL"}) {
    ASSERT_EQ(stack.Shell(std::string("curl -s -o /dev/null -w '%{http_code}' -X POST \"$") + var +
                              "/-/reload\"",
                          &out),
              0);
    EXPECT_EQ(out, "200") << var;
  }
}

TEST(StackTest, SecondStartKeepsServersAndPorts) {
  auto& stack = Stack::Get({"nginx"});
  std::string pid_before, pid_after, out;
  ASSERT_EQ(RunShell("cat " + stack.Dir() + "/nginx/nginx.pid", &pid_before), 0);
  ASSERT_EQ(stack.Run({"start", "nginx"}, &out), 0);
  auto again = Stack::ParseExports(out);
  EXPECT_EQ(again["NGINX_PORT"], stack.Env("NGINX_PORT"));
  EXPECT_EQ(again["FAILOVER_STACK_DIR"], stack.Dir());
  ASSERT_EQ(RunShell("cat " + stack.Dir() + "/nginx/nginx.pid", &pid_after), 0);
  EXPECT_EQ(pid_before, pid_after);
  ASSERT_EQ(stack.Run({"status", "nginx"}, &out), 0);
  EXPECT_EQ(out.rfind("nginx         running", 0), 0u) << out;
  ASSERT_EQ(stack.Run({"env", "nginx"}, &out), 0);
  EXPECT_EQ(Stack::ParseExports(out), stack.Exports());
}

TEST(StackTest, ParsesQuotedExports) {
  auto env = Stack::ParseExports(
      "noise\nexport A=plain\nexport B='with space'\nexport C='it'\\''s'\nexport D=a\\ b\n");
  EXPECT_EQ(env["A"], "plain");
  EXPECT_EQ(env["B"], "with space");
  EXPECT_EQ(env["C"], "it's");
  EXPECT_EQ(env["D"], "a b");
  EXPECT_EQ(env.size(), 4u);
}

// Two stacks started at once (parallel tests) must not pick the same port: a port is free
// when picked, but its server binds it only later. Here another stack (a directory that
// exists) holds every port of the range but ten, so the new stack can only have those.
TEST(StackTest, PortsAnotherStackHoldsAreNotPicked) {
  TempDir tmp;
  const std::string registry = tmp.path() + "/ports", mine = tmp.path() + "/mine";
  ASSERT_EQ(RunShell("mkdir " + tmp.path() + "/other && seq 10000 39999 | awk -v d=" + tmp.path() +
                     "/other '$1 < 20100 || $1 >= 20110 {print $1, d}' > " + registry),
            0);
  const std::string env = "FAILOVER_STACK_DIR=" + mine + " FAILOVER_STACK_PORTS=" + registry + " " +
                          std::string(FAILOVER_SOURCE_DIR) + "/scripts/stack ";
  struct Stop {
    std::string cmd;
    ~Stop() { RunShell(cmd + " >/dev/null 2>&1"); }
  } stop{env + "stop --clean"};
  std::string out;
  ASSERT_EQ(RunShell(env + "start etcd", &out), 0) << out;
  auto exports = Stack::ParseExports(out);
  ASSERT_EQ(RunShell(". " + mine + "/env && echo $ETCD_CLIENT_PORT $ETCD_PEER_PORT", &out), 0);
  int client = 0, peer = 0;
  ASSERT_EQ(std::sscanf(out.c_str(), "%d %d", &client, &peer), 2) << out;
  EXPECT_GE(client, 20100);
  EXPECT_LT(client, 20110);
  EXPECT_GE(peer, 20100);
  EXPECT_LT(peer, 20110);
  EXPECT_NE(client, peer);
  EXPECT_NE(exports["ETCD_ENDPOINTS"].find(":" + std::to_string(client)), std::string::npos)
      << exports["ETCD_ENDPOINTS"];
  // The registry now lists them as this stack's, next to the other stack's.
  ASSERT_EQ(RunShell("grep -c ' " + mine + "$' " + registry, &out), 0);
  EXPECT_EQ(out, "2\n");
  ASSERT_EQ(RunShell("wc -l < " + registry, &out), 0);
  EXPECT_EQ(std::stoi(out), 30000 - 10 + 2);
}

}  // namespace
}  // namespace failover::testing
