// The console's pure parts: what a confirmation says running a plan does, and who a
// request's credentials make its sender (actuator/auth.h: Identify). And its execution
// page, rendered from a real (SQLite) journal: the divergence report as a table, the
// PagerDuty dedup key.
#include "actuator/console.h"

#include <gtest/gtest.h>

#include "actuator/auth.h"
#include "actuator/etcd_client.h"
#include "actuator/metrics.h"
#include "actuator/steps/step.h"
#include "tests/actuator/step_test_util.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"

namespace failover {
namespace {

TEST(ConsoleTest, TheConfirmationNamesWhatThePlanDoes) {
  nlohmann::json plan = nlohmann::json::parse(R"([
    {"step": 1, "phase": "main", "kind": "db_fence",
     "inputs": {"database": "us-east-db", "kind": "mysql", "user": "failover"}},
    {"step": 2, "phase": "main", "kind": "db_promote",
     "inputs": {"database": "eu-west-db", "max_lag": "5s"}},
    {"step": 3, "phase": "main", "kind": "dns_update",
     "inputs": {"provider": "pdns", "name": "www.example.com.", "type": "A",
                "records": ["192.0.2.20"]}},
    {"step": 4, "phase": "main", "kind": "pagerduty", "inputs": {}},
    {"step": 1, "phase": "on_failure", "kind": "exec", "inputs": {}}
  ])");
  EXPECT_EQ(DescribeConsequences(plan),
            "fences us-east-db, promotes eu-west-db, points www.example.com. at 192.0.2.20, "
            "pages PagerDuty");
  EXPECT_EQ(DescribeConsequences(nlohmann::json::array()), "runs no step");
}

std::string Basic(const std::string& user, const std::string& pw) {
  return "Basic " + Base64Encode(user + ":" + pw);
}

TEST(ConsoleTest, RolesFromTheApiCredentialsAndTheConsoleUsers) {
  ActuatorConfig cfg;
  // Nothing configured: anyone is an anonymous operator, as the API always was.
  EXPECT_EQ(Identify(cfg, false, "").role, Role::kOperator);

  cfg.console_roles = {{"alice", "operator"}, {"victor", "viewer"}};
  // basic_auth_users guard the listener (it checked the passwords already).
  EXPECT_EQ(Identify(cfg, true, "").role, Role::kNone) << "anonymous sees nothing";
  Identity alice = Identify(cfg, true, Basic("alice", "x"));
  EXPECT_EQ(alice.role, Role::kOperator);
  EXPECT_EQ(alice.user, "alice");
  EXPECT_EQ(Identify(cfg, true, Basic("victor", "x")).role, Role::kViewer);
  EXPECT_EQ(Identify(cfg, true, Basic("prometheus", "x")).role, Role::kNone)
      << "a user not in console.users (the scraper) gets no console";

  // The api credentials stay an operator, whoever the web config lists.
  cfg.api_auth.basic_auth = BasicAuthConfig{"ops", SecretRef::Inline("s3cret")};
  Identity ops = Identify(cfg, true, Basic("ops", "s3cret"));
  EXPECT_EQ(ops.role, Role::kOperator);
  EXPECT_EQ(ops.user, "ops");
  EXPECT_EQ(Identify(cfg, false, Basic("ops", "wrong")).role, Role::kNone);
  EXPECT_EQ(Identify(cfg, false, "").role, Role::kNone) << "credentials configured: 401";
}

// The execution page of a journal written as the engine writes it, read by a real Console.
class ConsolePageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterBuiltinSteps(steps_);
    auto j = OpenSqliteJournal(dir_.path() + "/journal.db");
    ASSERT_TRUE(j) << j.error().message;
    journal_ = std::move(*j);
    auto cfg =
        testing::LoadConfigText("journal: " + dir_.path() +
                                    "/journal.db\n"
                                    "pagerduty: {routing_key: R0UT1NGKEYR0UT1NGKEYR0UT1NGKEY32}\n"
                                    "runbooks:\n"
                                    "  - name: failback-us-east\n"
                                    "    match: {alertname: FailbackUsEast}\n"
                                    "    steps:\n"
                                    "      - exec: {argv: [/bin/true]}\n",
                                steps_, http_, clock_);
    ASSERT_TRUE(cfg) << cfg.error().message;
    engine_ = std::make_unique<Engine>(*journal_, clock_, http_, metrics_, EngineOptions{});
    engine_->SetConfig(std::make_shared<ActuatorConfig>(std::move(*cfg)));
    console_ = std::make_unique<Console>(*engine_, *journal_, http_, false, [] { return false; });

    ExecutionRecord e;
    e.id = kId;
    e.dedup_key = std::string("api|") + kId;
    e.runbook = "failback-us-east";
    e.trigger = ExecTrigger::kApi;
    e.mode = ExecMode::kAuto;
    e.state = ExecState::kSucceeded;
    e.created_at = e.updated_at = e.finished_at = 1796543500;
    e.requested_by = "alice";
    ASSERT_TRUE(journal_->Insert(e));
  }

  void PutStep(int index, const std::string& kind, const std::string& details) {
    StepRecord s;
    s.execution_id = kId;
    s.phase = "main";
    s.index = index;
    s.kind = kind;
    s.state = "ok";
    s.attempts = 1;
    s.message = kind + " done";
    s.details = nlohmann::json::parse(details);
    s.started_at = s.finished_at = 1796543501;
    ASSERT_TRUE(journal_->PutStep(s));
  }

  HttpServerResponse Get(const std::string& path) {
    HttpServerRequest req;
    req.method = "GET";
    req.path = path;
    req.remote_addr = "127.0.0.1";
    return console_->Handle(req);
  }

  static constexpr const char* kId = "20261206T075500Z-000001";
  testing::TempDir dir_;
  testing::FakeClock clock_;
  CurlHttpClient http_;
  ActuatorMetrics metrics_;
  StepRegistry steps_;
  std::unique_ptr<Journal> journal_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Console> console_;
};

TEST_F(ConsolePageTest, TheDivergenceReportIsATablePerTransactionWithValuesEscaped) {
  // As actuator/db/mysql_wayback.cc writes it (docs/actuator-steps.md, db_divergence).
  PutStep(0, "db_divergence", R"({
    "old_primary": "us-east-db", "new_primary": "eu-west-db",
    "old_gtid_binlog_pos": "0-1-12", "shared_position": "0-1-9",
    "errant_gtids": ["0-1-10", "0-1-12"],
    "errant": [
      {"gtid": "0-1-10", "time": "2026-12-06T07:50:01Z", "timestamp": 1796543401,
       "binlog": "mysql-bin.000002", "position": 1234,
       "rows": [{"table": "shop.orders", "operation": "insert",
                 "values": {"id": "10", "note": "<script>alert('lost')</script>"}}]},
      {"gtid": "0-1-12", "time": "2026-12-06T07:50:03Z", "binlog": "mysql-bin.000002",
       "position": 2345,
       "rows": [{"table": "shop.orders", "operation": "update",
                 "before": {"id": "1", "note": "a"}, "after": {"id": "1", "note": null}}]}],
    "rows_truncated": false})");
  // As actuator/db/pg_wayback.cc writes it.
  PutStep(1, "db_divergence", R"J({
    "old_primary": "us-east-pg", "new_primary": "eu-west-pg", "divergence_lsn": "0/3002148",
    "errant_gtids": ["0/30021D0"],
    "errant": [{"xid": 728, "lsn": "0/30021D0", "time": "2026-12-06T10:06:13Z",
                "rows": [{"table": "shop.public.orders", "operation": "insert",
                          "ctid": "(0,2)", "values": {"id": "2", "note": "lost-1"}}]}],
    "rows_truncated": true})J");
  auto page = Get(std::string("/executions/") + kId);
  ASSERT_EQ(page.status, 200) << page.body;
  const std::string& b = page.body;
  size_t table = b.find("<table class=\"divergence\" id=\"divergence-main-1\">");
  ASSERT_NE(table, std::string::npos) << b;
  // One row per transaction: its GTID, time and the rows it changed.
  size_t first = b.find("GTID <code class=\"txid\">0-1-10</code>", table);
  size_t second = b.find("GTID <code class=\"txid\">0-1-12</code>", table);
  ASSERT_NE(first, std::string::npos) << b;
  ASSERT_NE(second, std::string::npos) << b;
  EXPECT_LT(first, second);
  std::string tx1 = b.substr(first, second - first);
  EXPECT_NE(tx1.find("<td>2026-12-06T07:50:01Z</td>"), std::string::npos) << tx1;
  EXPECT_NE(tx1.find("<td>shop.orders</td><td>insert</td>"), std::string::npos) << tx1;
  // A value holding markup is shown as text, never run.
  EXPECT_NE(tx1.find("note=&lt;script&gt;alert(&#39;lost&#39;)&lt;/script&gt;"), std::string::npos)
      << tx1;
  EXPECT_EQ(b.find("<script>alert("), std::string::npos) << "a row value became markup";
  EXPECT_NE(
      b.find("before <code>id=1, note=a</code><br>after <code>id=1, note=NULL</code>", second),
      std::string::npos)
      << b.substr(second);
  EXPECT_NE(b.find("shared GTID position <code>0-1-9</code>"), std::string::npos);
  // PostgreSQL: the commit LSN (and xid) instead of a GTID.
  size_t pg = b.find("id=\"divergence-main-2\"");
  ASSERT_NE(pg, std::string::npos) << b;
  EXPECT_NE(b.find("LSN <code class=\"txid\">0/30021D0</code>", pg), std::string::npos);
  EXPECT_NE(b.find("xid 728", pg), std::string::npos);
  EXPECT_NE(b.find("<td>shop.public.orders</td><td>insert</td>", pg), std::string::npos);
  EXPECT_NE(b.find("Rows truncated"), std::string::npos);
}

TEST_F(ConsolePageTest, NoErrantTransactionsSaysSo) {
  PutStep(0, "db_divergence",
          R"({"old_primary": "us-east-db", "new_primary": "eu-west-db", "errant": [],
              "errant_gtids": [], "shared_position": "0-1-9", "rows_truncated": false})");
  auto page = Get(std::string("/executions/") + kId);
  EXPECT_NE(page.body.find("No errant transactions."), std::string::npos) << page.body;
}

TEST_F(ConsolePageTest, ThePageShowsThePagerDutyDedupKeys) {
  // A runbook's pagerduty step with its own dedup key, besides the actuator's pages.
  PutStep(0, "pagerduty", R"({"action": "trigger", "dedup_key": "shop/<failback>"})");
  auto page = Get(std::string("/executions/") + kId);
  ASSERT_EQ(page.status, 200);
  size_t at = page.body.find("<code id=\"dedup\">");
  ASSERT_NE(at, std::string::npos) << page.body;
  std::string keys = page.body.substr(at, page.body.find("</code>", at) - at);
  EXPECT_NE(keys.find(std::string("failover/") + kId), std::string::npos) << keys;
  EXPECT_NE(keys.find("shop/&lt;failback&gt;"), std::string::npos) << keys;
}

}  // namespace
}  // namespace failover
