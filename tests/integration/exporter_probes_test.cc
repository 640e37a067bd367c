// failover_exporter's dns, mysql and postgres probes against the real servers of
// scripts/stack (PowerDNS, MariaDB primary + replica, PostgreSQL primary + standby), as an
// operator runs it: the binary with a config file, read through /metrics.
//
// gtest_discover_tests runs every TEST in its own process, so each starts only the stack
// components it asks for.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/http_client.h"
#include "tests/support/metrics_text.h"
#include "tests/support/stack.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_dns_server.h"
#include "tests/support/test_http_server.h"
#include "tests/support/wait.h"

namespace failover::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// The exporter binary on a config file, scraped over HTTP.
class RunningExporter {
 public:
  explicit RunningExporter(const std::string& config)
      : config_path_(dir_.Write("exporter.yml", config)),
        process_({Binary("failover_exporter"), "--config.file=" + config_path_,
                  "--web.listen-address=127.0.0.1:0", "--log.level=debug"},
                 dir_.path()) {
    port_ = testing::WaitForListeningPort(process_);
    EXPECT_NE(port_, 0) << "the exporter did not start:\n" << process_.Stderr();
  }

  std::vector<SeriesValue> Scrape() const {
    HttpRequest req;
    req.url = "http://127.0.0.1:" + std::to_string(port_) + "/metrics";
    req.timeout = seconds(5);
    auto resp = CurlHttpClient().Send(req);
    if (!resp || resp->status != 200) return {};
    return ParseMetrics(resp->body);
  }

  // The value of the one series of `name` whose labels include `want`.
  std::optional<double> Value(const std::string& name, const Labels& want) const {
    return Find(Scrape(), name, want);
  }

  static std::optional<double> Find(const std::vector<SeriesValue>& all, const std::string& name,
                                    const Labels& want) {
    for (const SeriesValue& s : all) {
      if (s.name != name) continue;
      bool match = true;
      for (const auto& [k, v] : want) {
        auto it = s.labels.find(k);
        match = match && it != s.labels.end() && it->second == v;
      }
      if (match) return s.value;
    }
    return std::nullopt;
  }

  static std::vector<SeriesValue> All(const std::vector<SeriesValue>& all, const std::string& name,
                                      const Labels& want) {
    std::vector<SeriesValue> out;
    for (const SeriesValue& s : all) {
      if (s.name != name) continue;
      bool match = true;
      for (const auto& [k, v] : want) {
        auto it = s.labels.find(k);
        match = match && it != s.labels.end() && it->second == v;
      }
      if (match) out.push_back(s);
    }
    return out;
  }

  double Runs(const std::string& probe, const std::string& result) const {
    return Value("failover_probe_runs_total", {{"probe", probe}, {"result", result}}).value_or(0);
  }

  std::string Log() const { return process_.Stderr(); }
  int port() const { return port_; }
  // Sockets the exporter has open now (from /proc/<pid>/fd).
  int OpenSockets() const {
    int n = 0;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(
             "/proc/" + std::to_string(process_.pid()) + "/fd", ec)) {
      std::error_code ec2;
      auto target = std::filesystem::read_symlink(e.path(), ec2);
      if (!ec2 && target.string().rfind("socket:", 0) == 0) ++n;
    }
    return n;
  }

 private:
  TempDir dir_;
  std::string config_path_;
  Subprocess process_;
  int port_ = 0;
};

std::string Describe(const std::vector<SeriesValue>& all, const std::string& probe) {
  std::string out;
  for (const SeriesValue& s : all) {
    auto it = s.labels.find("probe");
    if (it == s.labels.end() || it->second != probe) continue;
    out += s.name + "{";
    for (const auto& [k, v] : s.labels) out += k + "=\"" + v + "\",";
    out += "} " + std::to_string(s.value) + "\n";
  }
  return out;
}

// A UDP port nothing listens on (bound for a moment, then closed): ICMP port unreachable.
int ClosedUdpPort() {
  SilentUdp p;
  return p.port();
}

// ---- DNS against PowerDNS ---------------------------------------------------------------

int SetWwwRecord(const Stack& stack, const std::string& address) {
  HttpRequest req;
  req.method = "PATCH";
  req.url = stack.Env("PDNS_API_URL") + "/api/v1/servers/localhost/zones/example.test.";
  req.headers = {{"X-API-Key", stack.Env("PDNS_API_KEY")},
                 {"Accept", "application/json"},
                 {"Content-Type", "application/json"}};
  req.body = R"({"rrsets":[{"name":"www.example.test.","type":"A","ttl":60,"changetype":"REPLACE",)"
             R"("records":[{"content":")" +
             address + R"(","disabled":false}]}]})";
  auto resp = CurlHttpClient().Send(req);
  if (!resp) {
    ADD_FAILURE() << "PowerDNS API: " << resp.error().message;
    return 0;
  }
  return resp->status;
}

TEST(ExporterDnsIntegrationTest, TargetFollowsTheRecordChangedThroughThePowerDnsApi) {
  auto& stack = Stack::Get({"powerdns"});
  const std::string ns = stack.Env("PDNS_DNS_ADDR");
  ASSERT_EQ(SetWwwRecord(stack, "127.0.0.2"), 204);
  RunningExporter exporter(
      "defaults: {interval: 300ms, timeout: 250ms}\n"
      "regions:\n  us-east: {addresses: [127.0.0.2]}\n  eu-west: {addresses: [127.0.0.3]}\n"
      "probes:\n"
      "  - name: www-dns\n    dns:\n      name: www.example.test\n      type: A\n"
      "      nameservers: [" +
      ns +
      "]\n      expect_region: us-east\n"
      "  - name: www-dns-tcp\n    dns:\n      name: www.example.test\n"
      "      nameservers: [" +
      ns +
      "]\n      transport: tcp\n"
      "  - name: missing-dns\n    dns:\n      name: nope.example.test\n"
      "      nameservers: [" +
      ns + "]\n");

  const Labels us_east = {
      {"probe", "www-dns"},    {"name", "www.example.test"}, {"type", "A"},
      {"target", "127.0.0.2"}, {"target_region", "us-east"}, {"nameserver", ns}};
  std::vector<SeriesValue> m;
  ASSERT_TRUE(WaitFor([&] {
    m = exporter.Scrape();
    return RunningExporter::Find(m, "failover_dns_record_target", us_east) == 1.0 &&
           RunningExporter::Find(m, "failover_probe_success", {{"probe", "www-dns-tcp"}}) == 1.0 &&
           RunningExporter::Find(m, "failover_probe_success", {{"probe", "missing-dns"}});
  })) << Describe(m, "www-dns")
      << exporter.Log();
  EXPECT_EQ(RunningExporter::Find(m, "failover_probe_success", {{"probe", "www-dns"}}), 1.0);
  EXPECT_EQ(
      RunningExporter::Find(m, "failover_dns_record_matches_expected", {{"probe", "www-dns"}}),
      1.0);
  EXPECT_EQ(RunningExporter::Find(m, "failover_dns_nameservers_agree", {{"probe", "www-dns"}}),
            1.0);
  EXPECT_EQ(RunningExporter::Find(m, "failover_dns_record_ttl_seconds",
                                  {{"probe", "www-dns"}, {"nameserver", ns}}),
            60.0);
  EXPECT_TRUE(RunningExporter::Find(m, "failover_dns_lookup_seconds",
                                    {{"probe", "www-dns"}, {"nameserver", ns}}));
  EXPECT_EQ(RunningExporter::Find(m, "failover_dns_record_target",
                                  {{"probe", "www-dns-tcp"}, {"target", "127.0.0.2"}}),
            1.0);
  EXPECT_FALSE(
      RunningExporter::Find(m, "failover_dns_record_matches_expected", {{"probe", "www-dns-tcp"}}))
      << "no expect_region, no matches_expected";
  // NXDOMAIN is a failure with its rcode as the reason.
  EXPECT_EQ(RunningExporter::Find(m, "failover_probe_success", {{"probe", "missing-dns"}}), 0.0);
  EXPECT_EQ(RunningExporter::Find(m, "failover_probe_failure_info",
                                  {{"probe", "missing-dns"}, {"reason", "dns_nxdomain"}}),
            1.0);

  // Fail over: www moves to eu-west through the PowerDNS API.
  ASSERT_EQ(SetWwwRecord(stack, "127.0.0.3"), 204);
  const Labels eu_west = {{"probe", "www-dns"},
                          {"target", "127.0.0.3"},
                          {"target_region", "eu-west"},
                          {"nameserver", ns}};
  ASSERT_TRUE(WaitFor([&] {
    m = exporter.Scrape();
    return RunningExporter::Find(m, "failover_dns_record_target", eu_west) == 1.0;
  })) << Describe(m, "www-dns");
  EXPECT_TRUE(RunningExporter::All(m, "failover_dns_record_target",
                                   {{"probe", "www-dns"}, {"target", "127.0.0.2"}})
                  .empty())
      << "the old target is still exported:\n"
      << Describe(m, "www-dns");
  EXPECT_EQ(RunningExporter::All(m, "failover_dns_record_target", {{"probe", "www-dns"}}).size(),
            1u);
  EXPECT_EQ(
      RunningExporter::Find(m, "failover_dns_record_matches_expected", {{"probe", "www-dns"}}),
      0.0);
  EXPECT_EQ(RunningExporter::Find(m, "failover_probe_success", {{"probe", "www-dns"}}), 1.0)
      << "an answer elsewhere is an observation, not a failed probe";

  // And back.
  ASSERT_EQ(SetWwwRecord(stack, "127.0.0.2"), 204);
  EXPECT_TRUE(WaitFor([&] {
    m = exporter.Scrape();
    return RunningExporter::Find(m, "failover_dns_record_matches_expected",
                                 {{"probe", "www-dns"}}) == 1.0;
  }));
}

TEST(ExporterDnsIntegrationTest,
     UnreachableNameserverFailsWithinItsTimeoutOthersKeepTheirSchedule) {
  auto& stack = Stack::Get({"powerdns"});
  const std::string ns = stack.Env("PDNS_DNS_ADDR");
  SilentUdp silent;
  int closed = ClosedUdpPort();
  RunningExporter exporter(
      "probes:\n"
      "  - name: www-dns\n    interval: 200ms\n    timeout: 150ms\n    dns:\n"
      "      name: www.example.test\n      nameservers: [" +
      ns +
      "]\n"
      "  - name: hanging-ns\n    interval: 2s\n    timeout: 1500ms\n    dns:\n"
      "      name: www.example.test\n      nameservers: [127.0.0.1:" +
      std::to_string(silent.port()) +
      "]\n"
      "  - name: closed-ns\n    interval: 2s\n    timeout: 1500ms\n    dns:\n"
      "      name: www.example.test\n      nameservers: [127.0.0.1:" +
      std::to_string(closed) + "]\n");

  // The hanging nameserver's first failure, then its second: one whole run in between.
  ASSERT_TRUE(WaitFor([&] { return exporter.Runs("hanging-ns", "failure") >= 1; }, seconds(30)))
      << exporter.Log();
  double healthy_before = exporter.Runs("www-dns", "success");
  ASSERT_TRUE(WaitFor([&] { return exporter.Runs("hanging-ns", "failure") >= 2; }, seconds(30)));
  double healthy_after = exporter.Runs("www-dns", "success");
  // 2 s at 200 ms: ~10 runs; well over half of them despite the hanging probe.
  EXPECT_GE(healthy_after - healthy_before, 6) << exporter.Log();
  auto m = exporter.Scrape();
  EXPECT_EQ(RunningExporter::Find(m, "failover_probe_runs_total",
                                  {{"probe", "www-dns"}, {"result", "failure"}}),
            0.0);
  EXPECT_EQ(RunningExporter::Find(m, "failover_exporter_probe_runs_skipped_total", {}), 0.0);
  EXPECT_EQ(RunningExporter::Find(m, "failover_probe_failure_info",
                                  {{"probe", "hanging-ns"}, {"reason", "timeout"}}),
            1.0)
      << Describe(m, "hanging-ns");
  auto took =
      RunningExporter::Find(m, "failover_probe_duration_seconds", {{"probe", "hanging-ns"}});
  ASSERT_TRUE(took);
  EXPECT_GE(*took, 1.4);
  EXPECT_LE(*took, 2.0) << "the timeout is 1.5s";
  EXPECT_EQ(RunningExporter::Find(m, "failover_probe_failure_info",
                                  {{"probe", "closed-ns"}, {"reason", "connection_refused"}}),
            1.0)
      << Describe(m, "closed-ns");
}

// ---- MariaDB primary + replica ------------------------------------------------------------

const char kMariaDbRoot[] = "mariadb --no-defaults --connect-timeout=5 -uroot -h127.0.0.1 ";

int OnPrimary(const Stack& stack, const std::string& sql) {
  return stack.Shell(std::string(kMariaDbRoot) + "-P\"${MARIADB_PRIMARY_ADDR#*:}\" -e \"" + sql +
                     "\"");
}

int OnReplica(const Stack& stack, const std::string& sql) {
  return stack.Shell(std::string(kMariaDbRoot) + "-P\"${MARIADB_REPLICA_ADDR#*:}\" -e \"" + sql +
                     "\"");
}

// A probe entry (YAML, under probes:) named "replica" that checks the healthy MariaDB
// replica every 250 ms: the fault tests watch it keep its schedule.
// Its timeout leaves a real MariaDB on a busy 2-core CI machine room (200 ms was exceeded
// there once); a probe held up behind a hung one would still miss its runs.
std::string HealthyReplicaProbe(const Stack& stack) {
  return "  - name: replica\n    interval: 500ms\n    timeout: 450ms\n    mysql:\n"
         "      address: " +
         stack.Env("MARIADB_REPLICA_ADDR") + "\n      user: monitor\n      password_file: " +
         stack.Env("MARIADB_MONITOR_PASSWORD_FILE") + "\n";
}

// Writes a pt-heartbeat row on the primary every 200 ms while it lives.
class HeartbeatWriter {
 public:
  explicit HeartbeatWriter(const Stack& stack) : stack_(stack) {
    thread_ = std::thread([this] {
      while (!stop_) {
        OnPrimary(stack_,
                  "REPLACE INTO percona.heartbeat (ts, server_id) VALUES "
                  "(DATE_FORMAT(NOW(6), '%Y-%m-%dT%H:%i:%s.%f'), @@server_id)");
        for (int i = 0; i < 20 && !stop_; ++i) std::this_thread::sleep_for(milliseconds(10));
      }
    });
  }
  ~HeartbeatWriter() {
    stop_ = true;
    thread_.join();
  }

 private:
  const Stack& stack_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST(ExporterMariaDbIntegrationTest, StoppedSqlThreadShowsLagAndRestartClearsIt) {
  auto& stack = Stack::Get({"mariadb"});
  ASSERT_EQ(OnPrimary(stack,
                      "CREATE DATABASE IF NOT EXISTS percona; CREATE TABLE IF NOT EXISTS "
                      "percona.heartbeat (ts varchar(26) NOT NULL, server_id int unsigned NOT NULL "
                      "PRIMARY KEY)"),
            0);
  HeartbeatWriter heartbeat(stack);
  const std::string pw = stack.Env("MARIADB_MONITOR_PASSWORD_FILE");
  auto probe = [&](const std::string& name, const std::string& addr, const std::string& extra) {
    return "  - name: " + name + "\n    region: eu-west\n    mysql:\n      address: " + addr +
           "\n      user: monitor\n      password_file: " + pw + "\n" + extra;
  };
  RunningExporter exporter(
      "defaults: {interval: 250ms, timeout: 200ms}\n"
      "regions: {us-east: {addresses: [127.0.0.2]}, eu-west: {addresses: [127.0.0.3]}}\n"
      "probes:\n" +
      probe("replica", stack.Env("MARIADB_REPLICA_ADDR"), "") +
      probe("replica-hb", stack.Env("MARIADB_REPLICA_ADDR"),
            "      heartbeat: {table: percona.heartbeat, max_age: 30s}\n") +
      probe("primary", stack.Env("MARIADB_PRIMARY_ADDR"), ""));

  std::vector<SeriesValue> m;
  auto value = [&](const std::string& metric, Labels labels) {
    return RunningExporter::Find(m, metric, labels);
  };
  // Healthy: both threads run, no lag, the roles are what they are.
  ASSERT_TRUE(WaitFor([&] {
    m = exporter.Scrape();
    return value("failover_replication_lag_seconds", {{"probe", "replica"}}) == 0.0 &&
           value("failover_replication_lag_bytes", {{"probe", "replica"}}) == 0.0 &&
           value("failover_replication_lag_seconds", {{"probe", "replica-hb"}}).has_value() &&
           value("failover_db_role", {{"probe", "primary"}, {"role", "primary"}}) == 1.0;
  })) << Describe(m, "replica")
      << Describe(m, "primary") << exporter.Log();
  EXPECT_EQ(value("failover_probe_success", {{"probe", "replica"}}), 1.0);
  EXPECT_EQ(value("failover_replication_running", {{"probe", "replica"}, {"thread", "io"}}), 1.0);
  EXPECT_EQ(value("failover_replication_running", {{"probe", "replica"}, {"thread", "sql"}}), 1.0);
  EXPECT_EQ(value("failover_db_role", {{"probe", "replica"}, {"role", "replica"}}), 1.0);
  EXPECT_EQ(value("failover_db_role", {{"probe", "replica"}, {"role", "primary"}}), 0.0);
  EXPECT_EQ(value("failover_db_read_only", {{"probe", "replica"}}), 1.0);
  EXPECT_EQ(value("failover_db_read_only", {{"probe", "primary"}}), 0.0);
  EXPECT_EQ(value("failover_db_role", {{"probe", "primary"}, {"role", "replica"}}), 0.0);
  EXPECT_FALSE(value("failover_replication_running", {{"probe", "primary"}, {"thread", "sql"}}));
  EXPECT_LT(*value("failover_replication_lag_seconds", {{"probe", "replica-hb"}}), 5.0);

  // Break the applier and keep writing.
  ASSERT_EQ(OnReplica(stack, "STOP SLAVE SQL_THREAD"), 0);
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(OnPrimary(stack, "INSERT INTO shop.orders (note) VALUES ('while stopped')"), 0);
  }
  ASSERT_TRUE(WaitFor([&] {
    m = exporter.Scrape();
    auto bytes = value("failover_replication_lag_bytes", {{"probe", "replica"}});
    return value("failover_replication_running", {{"probe", "replica"}, {"thread", "sql"}}) ==
               0.0 &&
           bytes && *bytes > 0;
  })) << Describe(m, "replica");
  EXPECT_EQ(value("failover_replication_running", {{"probe", "replica"}, {"thread", "io"}}), 1.0);
  EXPECT_FALSE(value("failover_replication_lag_seconds", {{"probe", "replica"}}))
      << "Seconds_Behind_Master is NULL: the lag must not read as a number (least of all 0)\n"
      << Describe(m, "replica");
  EXPECT_EQ(value("failover_probe_success", {{"probe", "replica"}}), 1.0);
  // The heartbeat keeps measuring: its lag grows while the applier is stopped.
  double hb_first = 0;
  ASSERT_TRUE(WaitFor([&] {
    m = exporter.Scrape();
    hb_first = value("failover_replication_lag_seconds", {{"probe", "replica-hb"}}).value_or(0);
    return hb_first >= 1.0;
  })) << Describe(m, "replica-hb");
  ASSERT_TRUE(WaitFor([&] {
    m = exporter.Scrape();
    return value("failover_replication_lag_seconds", {{"probe", "replica-hb"}}).value_or(0) >=
           hb_first + 1.0;
  })) << Describe(m, "replica-hb");
  EXPECT_EQ(value("failover_probe_success", {{"probe", "replica-hb"}}), 1.0)
      << "a heartbeat that is old because the applier stopped is not a stale writer";

  // Restart it: back to no lag.
  ASSERT_EQ(OnReplica(stack, "START SLAVE"), 0);
  ASSERT_TRUE(WaitFor([&] {
    m = exporter.Scrape();
    return value("failover_replication_running", {{"probe", "replica"}, {"thread", "sql"}}) ==
               1.0 &&
           value("failover_replication_lag_bytes", {{"probe", "replica"}}) == 0.0 &&
           value("failover_replication_lag_seconds", {{"probe", "replica"}}) == 0.0 &&
           value("failover_replication_lag_seconds", {{"probe", "replica-hb"}}).value_or(99) < 2.0;
  })) << Describe(m, "replica")
      << Describe(m, "replica-hb");
}

TEST(ExporterMariaDbIntegrationTest, BrokenReplicationReportsTheError) {
  auto& stack = Stack::Get({"mariadb"});
  // A row only the replica has, then the same key from the primary: duplicate key error.
  ASSERT_EQ(OnPrimary(stack,
                      "CREATE TABLE IF NOT EXISTS shop.conflict (id INT PRIMARY KEY); DELETE FROM "
                      "shop.conflict"),
            0);
  ASSERT_TRUE(
      WaitFor([&] { return OnReplica(stack, "SELECT 1 FROM shop.conflict LIMIT 0") == 0; }));
  ASSERT_EQ(OnReplica(stack, "SET SESSION sql_log_bin=0; INSERT INTO shop.conflict VALUES (7)"), 0);
  ASSERT_EQ(OnPrimary(stack, "INSERT INTO shop.conflict VALUES (7)"), 0);
  RunningExporter exporter(
      "defaults: {interval: 250ms, timeout: 200ms}\nprobes:\n"
      "  - name: replica\n    mysql:\n      address: " +
      stack.Env("MARIADB_REPLICA_ADDR") + "\n      user: monitor\n      password_file: " +
      stack.Env("MARIADB_MONITOR_PASSWORD_FILE") + "\n");
  std::vector<SeriesValue> m;
  ASSERT_TRUE(WaitFor([&] {
    m = exporter.Scrape();
    return !RunningExporter::All(m, "failover_replication_last_error_info",
                                 {{"probe", "replica"}, {"thread", "sql"}})
                .empty();
  })) << Describe(m, "replica");
  auto errors = RunningExporter::All(m, "failover_replication_last_error_info",
                                     {{"probe", "replica"}, {"thread", "sql"}});
  EXPECT_NE(errors[0].labels["error"].find("Duplicate entry '7'"), std::string::npos)
      << errors[0].labels["error"];
  EXPECT_LE(errors[0].labels["error"].size(), 200u);
  EXPECT_EQ(RunningExporter::Find(m, "failover_replication_running",
                                  {{"probe", "replica"}, {"thread", "sql"}}),
            0.0);
  EXPECT_FALSE(
      RunningExporter::Find(m, "failover_replication_lag_seconds", {{"probe", "replica"}}));
  // Repair: skip the conflicting event, the error goes away.
  ASSERT_EQ(OnReplica(stack,
                      "SET SESSION sql_log_bin=0; DELETE FROM shop.conflict WHERE id = 7; START "
                      "SLAVE SQL_THREAD"),
            0);
  EXPECT_TRUE(WaitFor([&] {
    m = exporter.Scrape();
    return RunningExporter::Find(m, "failover_replication_running",
                                 {{"probe", "replica"}, {"thread", "sql"}}) == 1.0 &&
           RunningExporter::All(m, "failover_replication_last_error_info", {{"probe", "replica"}})
               .empty();
  })) << Describe(m, "replica");
}

// ---- PostgreSQL primary + standby ---------------------------------------------------------

const char kPsql[] =
    "\"$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)/psql\" -X -q -A -t -h 127.0.0.1 "
    "-U postgres -d shop ";

int OnPgPrimary(const Stack& stack, const std::string& sql) {
  return stack.Shell(std::string(kPsql) + "-p \"${PG_PRIMARY_ADDR#*:}\" -c \"" + sql + "\"");
}

int OnPgStandby(const Stack& stack, const std::string& sql) {
  return stack.Shell(std::string(kPsql) + "-p \"${PG_STANDBY_ADDR#*:}\" -c \"" + sql + "\"");
}

TEST(ExporterPostgresIntegrationTest, PausedReplayShowsLagIdlePrimaryDoesNot) {
  auto& stack = Stack::Get({"postgres"});
  auto conninfo = [&](const std::string& addr_var) {
    std::string addr = stack.Env(addr_var);
    return "\"host=127.0.0.1 port=" + addr.substr(addr.find(':') + 1) +
           " user=monitor dbname=postgres sslmode=disable\"";
  };
  const std::string pw = stack.Env("PG_MONITOR_PASSWORD_FILE");
  RunningExporter exporter(
      "defaults: {interval: 250ms, timeout: 200ms}\nprobes:\n"
      "  - name: standby\n    postgres:\n      conninfo: " +
      conninfo("PG_STANDBY_ADDR") + "\n      password_file: " + pw +
      "\n"
      "  - name: primary\n    postgres:\n      conninfo: " +
      conninfo("PG_PRIMARY_ADDR") + "\n      password_file: " + pw + "\n");
  std::vector<SeriesValue> m;
  auto value = [&](const std::string& metric, Labels labels) {
    return RunningExporter::Find(m, metric, labels);
  };
  // A replayed transaction, so that the standby has a last replay time.
  ASSERT_EQ(OnPgPrimary(stack, "INSERT INTO orders (note) VALUES ('before')"), 0);
  ASSERT_TRUE(WaitFor([&] {
    m = exporter.Scrape();
    return value("failover_replication_lag_seconds", {{"probe", "standby"}}) == 0.0 &&
           value("failover_replication_lag_bytes", {{"probe", "standby"}}) == 0.0 &&
           value("failover_replication_running", {{"probe", "standby"}, {"thread", "receiver"}}) ==
               1.0 &&
           !RunningExporter::All(m, "failover_replication_lag_bytes",
                                 {{"probe", "primary"}, {"stage", "replay"}})
                .empty();
  })) << Describe(m, "standby")
      << Describe(m, "primary") << exporter.Log();
  EXPECT_EQ(value("failover_db_role", {{"probe", "standby"}, {"role", "replica"}}), 1.0);
  EXPECT_EQ(value("failover_db_read_only", {{"probe", "standby"}}), 1.0);
  EXPECT_EQ(value("failover_db_role", {{"probe", "primary"}, {"role", "primary"}}), 1.0);
  EXPECT_EQ(value("failover_db_read_only", {{"probe", "primary"}}), 0.0);
  EXPECT_EQ(value("failover_replication_running", {{"probe", "standby"}, {"thread", "replay"}}),
            1.0);

  // An idle primary for several intervals: the last replayed transaction ages, the lag
  // does not. (A WAL record of the idle primary's own, caught between its arrival and its
  // replay, shows as at most the time since the run before; never as the age.)
  double runs_at_start = exporter.Runs("standby", "success");
  double worst = 0;
  ASSERT_TRUE(WaitFor([&] {
    m = exporter.Scrape();
    worst = std::max(
        worst, value("failover_replication_lag_seconds", {{"probe", "standby"}}).value_or(99));
    return exporter.Runs("standby", "success") >= runs_at_start + 16;  // ~4 s
  }));
  EXPECT_LT(worst, 1.0) << "the lag grew on an idle primary";

  // Pause replay and write: the lag appears and grows, the replay thread shows stopped.
  ASSERT_EQ(OnPgStandby(stack, "SELECT pg_wal_replay_pause()"), 0);
  ASSERT_EQ(OnPgPrimary(stack, "INSERT INTO orders (note) VALUES ('while paused')"), 0);
  double first = 0;
  ASSERT_TRUE(WaitFor([&] {
    m = exporter.Scrape();
    first = value("failover_replication_lag_seconds", {{"probe", "standby"}}).value_or(0);
    return value("failover_replication_running", {{"probe", "standby"}, {"thread", "replay"}}) ==
               0.0 &&
           value("failover_replication_lag_bytes", {{"probe", "standby"}}).value_or(0) > 0 &&
           first > 0;
  })) << Describe(m, "standby");
  // The last replayed transaction is 4 s old or more; the standby was caught up until the
  // write a moment ago.
  EXPECT_LT(first, 2.0) << "the first lag seen is the age of the last replayed transaction";
  ASSERT_TRUE(WaitFor([&] {
    m = exporter.Scrape();
    return value("failover_replication_lag_seconds", {{"probe", "standby"}}).value_or(0) >=
           first + 1.0;
  })) << Describe(m, "standby");
  EXPECT_GT(RunningExporter::Find(m, "failover_replication_lag_bytes",
                                  {{"probe", "primary"}, {"stage", "replay"}})
                .value_or(0),
            0)
      << Describe(m, "primary");
  EXPECT_EQ(value("failover_probe_success", {{"probe", "standby"}}), 1.0);

  // Resume: back to 0.
  ASSERT_EQ(OnPgStandby(stack, "SELECT pg_wal_replay_resume()"), 0);
  EXPECT_TRUE(WaitFor([&] {
    m = exporter.Scrape();
    return value("failover_replication_lag_seconds", {{"probe", "standby"}}) == 0.0 &&
           value("failover_replication_lag_bytes", {{"probe", "standby"}}) == 0.0 &&
           value("failover_replication_running", {{"probe", "standby"}, {"thread", "replay"}}) ==
               1.0 &&
           RunningExporter::Find(m, "failover_replication_lag_bytes",
                                 {{"probe", "primary"}, {"stage", "replay"}}) == 0.0;
  })) << Describe(m, "standby")
      << Describe(m, "primary");
}

// ---- unreachable databases -------------------------------------------------------------

TEST(ExporterDatabaseIntegrationTest, UnreachableDatabasesFailWithinTheirTimeout) {
  auto& stack = Stack::Get({"mariadb"});
  BlackholeListener hung;  // accepts, never says a word
  RunningExporter exporter(
      "probes:\n"
      "  - name: refused-mysql\n    interval: 2s\n    timeout: 1s\n    mysql:\n"
      "      address: 127.0.0.1:" +
      std::to_string(ClosedPort()) +
      "\n      user: monitor\n"
      "  - name: hung-mysql\n    interval: 2s\n    timeout: 1s\n    mysql:\n"
      "      address: " +
      hung.address() +
      "\n      user: monitor\n"
      "  - name: hung-pg\n    interval: 2s\n    timeout: 1s\n    postgres:\n"
      "      conninfo: \"host=127.0.0.1 port=" +
      std::to_string(hung.port()) + " user=monitor sslmode=disable\"\n" +
      HealthyReplicaProbe(stack));
  ASSERT_TRUE(WaitFor([&] { return exporter.Runs("hung-mysql", "failure") >= 1; }, seconds(30)));
  double healthy_before = exporter.Runs("replica", "success");
  ASSERT_TRUE(WaitFor([&] { return exporter.Runs("hung-mysql", "failure") >= 2; }, seconds(30)));
  // ~2 s between the two hung runs: ~4 runs of the healthy probe at 500 ms.
  EXPECT_GE(exporter.Runs("replica", "success") - healthy_before, 3)
      << "the healthy database probe was held up";
  auto m = exporter.Scrape();
  for (const char* probe : {"hung-mysql", "hung-pg"}) {
    EXPECT_EQ(RunningExporter::Find(m, "failover_probe_failure_info",
                                    {{"probe", probe}, {"reason", "timeout"}}),
              1.0)
        << Describe(m, probe);
    auto took = RunningExporter::Find(m, "failover_probe_duration_seconds", {{"probe", probe}});
    ASSERT_TRUE(took);
    EXPECT_LE(*took, 1.5) << probe << ": the timeout is 1s";
  }
  EXPECT_EQ(RunningExporter::Find(m, "failover_probe_failure_info",
                                  {{"probe", "refused-mysql"}, {"reason", "connection_refused"}}),
            1.0)
      << Describe(m, "refused-mysql");
  EXPECT_EQ(RunningExporter::Find(m, "failover_probe_runs_total",
                                  {{"probe", "replica"}, {"result", "failure"}}),
            0.0);
}

// A database that hangs in the middle of a query (its heartbeat table is locked: the probe
// connects, authenticates, and its SELECT waits for the lock) and a nameserver that never
// answers, at the same time: /metrics keeps answering every scrape and the healthy probes
// (another database, a nameserver, an HTTP target) keep their schedule. When the lock goes,
// the database probe succeeds again. (1000 hanging HTTP targets: tests/exporter/outage_test.cc.)
TEST(ExporterDatabaseIntegrationTest, DatabaseHangingMidQueryAndSilentNameserverDelayNothing) {
  auto& stack = Stack::Get({"mariadb"});
  ASSERT_EQ(OnPrimary(stack,
                      "CREATE DATABASE IF NOT EXISTS percona; CREATE TABLE IF NOT EXISTS "
                      "percona.heartbeat (ts varchar(26) NOT NULL, server_id int unsigned NOT NULL "
                      "PRIMARY KEY); REPLACE INTO percona.heartbeat (ts, server_id) VALUES "
                      "(DATE_FORMAT(NOW(6), '%Y-%m-%dT%H:%i:%s.%f'), @@server_id)"),
            0);
  // A client that takes the table's write lock and keeps its session open.
  std::string primary_port = stack.Env("MARIADB_PRIMARY_ADDR");
  primary_port = primary_port.substr(primary_port.rfind(':') + 1);
  TempDir locker_dir;
  Subprocess locker({"/bin/sh", "-c",
                     std::string("exec ") + kMariaDbRoot + "-P" + primary_port +
                         " -e 'LOCK TABLES percona.heartbeat WRITE; SELECT SLEEP(3600)'"},
                    locker_dir.path());
  auto on_primary_out = [&](const std::string& sql) {
    std::string out;
    stack.Shell(
        std::string(kMariaDbRoot) + "-N -P\"${MARIADB_PRIMARY_ADDR#*:}\" -e \"" + sql + "\"", &out);
    return out;
  };
  ASSERT_TRUE(WaitFor([&] {
    return on_primary_out(
               "SELECT COUNT(*) FROM information_schema.processlist WHERE info "
               "LIKE 'SELECT SLEEP(3600)%'") == "1\n";
  })) << locker.Stderr();

  SilentUdp silent;
  TestDnsServer dns;
  dns.SetRecords("www.example.test", "A", {"127.0.0.2"});
  TestHttpServer web;
  const std::string pw = stack.Env("MARIADB_MONITOR_PASSWORD_FILE");
  RunningExporter exporter(
      "probes:\n"
      "  - name: locked-db\n    interval: 2s\n    timeout: 1s\n    mysql:\n"
      "      address: " +
      stack.Env("MARIADB_PRIMARY_ADDR") + "\n      user: monitor\n      password_file: " + pw +
      "\n      heartbeat: {table: percona.heartbeat, max_age: 24h}\n"
      "  - name: silent-ns\n    interval: 2s\n    timeout: 1s\n    dns:\n"
      "      name: www.example.test\n      nameservers: [127.0.0.1:" +
      std::to_string(silent.port()) + "]\n" + HealthyReplicaProbe(stack) +
      "  - name: ns\n    interval: 250ms\n    timeout: 200ms\n    dns:\n"
      "      name: www.example.test\n      nameservers: [" +
      dns.address() +
      "]\n"
      "  - name: web\n    interval: 250ms\n    timeout: 200ms\n    http:\n"
      "      url: \"" +
      web.url("/healthz") + "\"\n");

  // Scrapes with a generous 1 s bound: "keeps answering", not a latency target.
  int scrapes = 0, unanswered = 0;
  auto scrape = [&] {
    HttpRequest req;
    req.url = "http://127.0.0.1:" + std::to_string(exporter.port()) + "/metrics";
    req.timeout = seconds(1);
    auto resp = CurlHttpClient().Send(req);
    ++scrapes;
    if (!resp || resp->status != 200) {
      ++unanswered;
      return std::vector<SeriesValue>{};
    }
    return ParseMetrics(resp->body);
  };
  auto runs = [](const std::vector<SeriesValue>& m, const std::string& probe,
                 const std::string& result) {
    return RunningExporter::Find(m, "failover_probe_runs_total",
                                 {{"probe", probe}, {"result", result}})
        .value_or(0);
  };
  std::vector<SeriesValue> m;
  ASSERT_TRUE(WaitFor(
      [&] {
        m = scrape();
        return runs(m, "locked-db", "failure") >= 1 && runs(m, "silent-ns", "failure") >= 1;
      },
      seconds(30)))
      << exporter.Log();
  // The database probe really waits mid-query: connected, its SELECT waiting for the lock
  // (seen during one of its runs; between runs nothing waits).
  EXPECT_TRUE(WaitFor(
      [&] {
        return on_primary_out(
                   "SELECT COUNT(*) FROM information_schema.processlist WHERE user = "
                   "'monitor' AND state LIKE '%lock%'") != "0\n";
      },
      seconds(10)));
  std::vector<SeriesValue> m0 = m;
  // Two more hung runs of each while scraping all along.
  ASSERT_TRUE(WaitFor(
      [&] {
        m = scrape();
        return runs(m, "locked-db", "failure") >= runs(m0, "locked-db", "failure") + 2 &&
               runs(m, "silent-ns", "failure") >= runs(m0, "silent-ns", "failure") + 2;
      },
      seconds(30)))
      << exporter.Log();
  EXPECT_EQ(unanswered, 0) << "of " << scrapes << " scrapes";
  EXPECT_GT(scrapes, 10);
  for (const char* probe : {"locked-db", "silent-ns"}) {
    EXPECT_EQ(RunningExporter::Find(m, "failover_probe_failure_info",
                                    {{"probe", probe}, {"reason", "timeout"}}),
              1.0)
        << Describe(m, probe);
  }
  // ~4 s: ~16 runs each at 250 ms (ns, web), ~8 at 500 ms (replica); at least half of them
  // more successes, and no failure.
  for (const char* probe : {"replica", "ns", "web"}) {
    EXPECT_GE(runs(m, probe, "success") - runs(m0, probe, "success"),
              std::string(probe) == "replica" ? 4 : 8)
        << probe << " was held up\n"
        << Describe(m, probe);
    EXPECT_EQ(runs(m, probe, "failure"), 0) << Describe(m, probe);
  }
  EXPECT_EQ(RunningExporter::Find(m, "failover_exporter_probe_runs_skipped_total", {}), 0.0);

  // The lock goes: the database probe succeeds again.
  std::string id = on_primary_out(
      "SELECT id FROM information_schema.processlist WHERE info LIKE 'SELECT SLEEP(3600)%'");
  ASSERT_FALSE(id.empty());
  ASSERT_EQ(OnPrimary(stack, "KILL " + id.substr(0, id.find('\n'))), 0);
  double ok_before = runs(scrape(), "locked-db", "success");
  EXPECT_TRUE(
      WaitFor([&] { return runs(scrape(), "locked-db", "success") > ok_before; }, seconds(30)))
      << Describe(scrape(), "locked-db");
  EXPECT_EQ(unanswered, 0);
}

// Issue 14 point 10: hung databases starve healthy ones. 16 mysql and 16 postgres
// endpoints that accept and never speak, and 4 mysql probes whose query waits for a locked
// heartbeat table (36 hung runs at a time; database probes once shared 4 threads), beside a
// healthy MariaDB replica and a healthy PostgreSQL standby: every run of the healthy ones
// succeeds on schedule, every hung one fails with `timeout` at its deadline, and a hung
// run's connection is closed at that deadline (the sockets do not pile up).
TEST(ExporterDatabaseIntegrationTest, ManyHungDatabasesDoNotStarveHealthyOnes) {
  auto& stack = Stack::Get({"mariadb", "postgres"});
  ASSERT_EQ(OnPrimary(stack,
                      "CREATE DATABASE IF NOT EXISTS percona; CREATE TABLE IF NOT EXISTS "
                      "percona.heartbeat (ts varchar(26) NOT NULL, server_id int unsigned NOT NULL "
                      "PRIMARY KEY)"),
            0);
  auto on_primary_out = [&](const std::string& sql) {
    std::string out;
    stack.Shell(
        std::string(kMariaDbRoot) + "-N -P\"${MARIADB_PRIMARY_ADDR#*:}\" -e \"" + sql + "\"", &out);
    return out;
  };
  // A client that holds the heartbeat table's write lock until the end of the test.
  std::string primary_port = stack.Env("MARIADB_PRIMARY_ADDR");
  primary_port = primary_port.substr(primary_port.rfind(':') + 1);
  TempDir locker_dir;
  Subprocess locker({"/bin/sh", "-c",
                     std::string("exec ") + kMariaDbRoot + "-P" + primary_port +
                         " -e 'LOCK TABLES percona.heartbeat WRITE; SELECT SLEEP(3601)'"},
                    locker_dir.path());
  struct Unlock {
    std::function<void()> run;
    ~Unlock() { run(); }
  } unlock{[&] {
    std::string id = on_primary_out(
        "SELECT id FROM information_schema.processlist WHERE info LIKE 'SELECT SLEEP(3601)%'");
    if (!id.empty()) OnPrimary(stack, "KILL " + id.substr(0, id.find('\n')));
  }};
  ASSERT_TRUE(WaitFor([&] {
    return on_primary_out(
               "SELECT COUNT(*) FROM information_schema.processlist WHERE info "
               "LIKE 'SELECT SLEEP(3601)%'") == "1\n";
  })) << locker.Stderr();

  const std::string mysql_pw = stack.Env("MARIADB_MONITOR_PASSWORD_FILE");
  const std::string pg_pw = stack.Env("PG_MONITOR_PASSWORD_FILE");
  std::string standby = stack.Env("PG_STANDBY_ADDR");
  std::vector<std::unique_ptr<BlackholeListener>> listeners;
  std::vector<std::string> hung;
  std::string config = "probes:\n";
  for (int i = 0; i < 16; ++i) {
    listeners.push_back(std::make_unique<BlackholeListener>());
    hung.push_back("hung-mysql-" + std::to_string(i));
    config += "  - name: " + hung.back() +
              "\n    interval: 2s\n    timeout: 1500ms\n    mysql:\n      address: " +
              listeners.back()->address() + "\n      user: monitor\n";
    listeners.push_back(std::make_unique<BlackholeListener>());
    hung.push_back("hung-pg-" + std::to_string(i));
    config += "  - name: " + hung.back() +
              "\n    interval: 2s\n    timeout: 1500ms\n    postgres:\n"
              "      conninfo: \"host=127.0.0.1 port=" +
              std::to_string(listeners.back()->port()) + " user=monitor sslmode=disable\"\n";
  }
  for (int i = 0; i < 4; ++i) {
    hung.push_back("locked-db-" + std::to_string(i));
    config += "  - name: " + hung.back() +
              "\n    interval: 2s\n    timeout: 1500ms\n    mysql:\n      address: " +
              stack.Env("MARIADB_PRIMARY_ADDR") +
              "\n      user: monitor\n      password_file: " + mysql_pw +
              "\n      heartbeat: {table: percona.heartbeat, max_age: 24h}\n";
  }
  config +=
      "  - name: replica\n    interval: 1s\n    timeout: 900ms\n    mysql:\n"
      "      address: " +
      stack.Env("MARIADB_REPLICA_ADDR") +
      "\n      user: monitor\n      password_file: " + mysql_pw +
      "\n"
      "  - name: standby\n    interval: 1s\n    timeout: 900ms\n    postgres:\n"
      "      conninfo: \"host=127.0.0.1 port=" +
      standby.substr(standby.find(':') + 1) +
      " user=monitor dbname=postgres sslmode=disable\"\n      password_file: " + pg_pw + "\n";
  RunningExporter exporter(config);

  std::vector<SeriesValue> m;
  auto runs = [&](const std::string& probe, const std::string& result) {
    return RunningExporter::Find(m, "failover_probe_runs_total",
                                 {{"probe", probe}, {"result", result}})
        .value_or(0);
  };
  // Every hung probe has failed once: from now on all of them hang all the time.
  ASSERT_TRUE(WaitFor(
      [&] {
        m = exporter.Scrape();
        for (const std::string& probe : hung) {
          if (runs(probe, "failure") < 1) return false;
        }
        return true;
      },
      seconds(30)))
      << exporter.Log();
  std::vector<SeriesValue> m0 = m;
  int most_sockets = 0;
  // ~10 s: about 10 runs of each healthy probe, 5 of each hung one.
  ASSERT_TRUE(WaitFor(
      [&] {
        m = exporter.Scrape();
        most_sockets = std::max(most_sockets, exporter.OpenSockets());
        return runs("replica", "success") + runs("replica", "failure") >=
                   RunningExporter::Find(m0, "failover_probe_runs_total",
                                         {{"probe", "replica"}, {"result", "success"}})
                           .value_or(0) +
                       10 &&
               runs("hung-mysql-0", "failure") >=
                   RunningExporter::Find(m0, "failover_probe_runs_total",
                                         {{"probe", "hung-mysql-0"}, {"result", "failure"}})
                           .value_or(0) +
                       4;
      },
      seconds(40)))
      << exporter.Log();
  for (const char* probe : {"replica", "standby"}) {
    EXPECT_EQ(runs(probe, "failure"), 0) << probe << " failed beside the hung databases\n"
                                         << Describe(m, probe);
    double before = RunningExporter::Find(m0, "failover_probe_runs_total",
                                          {{"probe", probe}, {"result", "success"}})
                        .value_or(0);
    EXPECT_GE(runs(probe, "success") - before, 8) << probe << " was held up\n"
                                                  << Describe(m, probe);
    EXPECT_EQ(RunningExporter::Find(m, "failover_probe_success", {{"probe", probe}}), 1.0);
  }
  EXPECT_EQ(RunningExporter::Find(m, "failover_exporter_probe_runs_skipped_total", {}), 0.0);
  for (const std::string& probe : hung) {
    EXPECT_EQ(runs(probe, "success"), 0) << probe;
    EXPECT_EQ(RunningExporter::Find(m, "failover_probe_failure_info",
                                    {{"probe", probe}, {"reason", "timeout"}}),
              1.0)
        << Describe(m, probe);
    auto took = RunningExporter::Find(m, "failover_probe_duration_seconds", {{"probe", probe}});
    ASSERT_TRUE(took) << probe;
    EXPECT_GE(*took, 1.45) << probe << ": failed before its deadline";
    EXPECT_LE(*took, 2.0) << probe << ": the timeout is 1500ms";
  }
  // Each hung run's connection is closed at its deadline: at most one per hung probe is
  // open at any time (plus the listener's, the scrapes' and the healthy probes'), however
  // many rounds of hung runs went by.
  EXPECT_GT(most_sockets, 0);
  EXPECT_LE(most_sockets, static_cast<int>(hung.size()) + 20);
}

}  // namespace
}  // namespace failover::testing
