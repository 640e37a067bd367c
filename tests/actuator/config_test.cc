#include "actuator/config.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"

namespace failover {
namespace {

const std::string kTestdata = std::string(FAILOVER_SOURCE_DIR) + "/tests/actuator/testdata";

class ActuatorConfigTest : public ::testing::Test {
 protected:
  ActuatorConfigTest() {
    RegisterBuiltinSteps(steps_);
    deps_.steps = &steps_;
    deps_.provider_ctx.http = &http_;
    deps_.provider_ctx.clock = &clock_;
  }
  StepRegistry steps_;
  CurlHttpClient http_;
  testing::FakeClock clock_;
  ConfigDeps deps_;
};

TEST_F(ActuatorConfigTest, LoadsTheDocumentedShape) {
  auto cfg = LoadActuatorConfigFile(kTestdata + "/good.yml", deps_);
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_TRUE(cfg->webhook_auth.configured());
  EXPECT_TRUE(cfg->api_auth.configured());
  EXPECT_EQ(cfg->prometheus_url, "http://127.0.0.1:9090");
  EXPECT_EQ(cfg->providers.count("pdns"), 1u);
  ASSERT_EQ(cfg->runbooks.size(), 1u);
  const RunbookConfig& rb = cfg->runbooks[0];
  EXPECT_EQ(rb.name, "failover-us-east");
  EXPECT_EQ(rb.cooldown, std::chrono::minutes(30));
  ASSERT_EQ(rb.steps.size(), 5u);
  EXPECT_EQ(rb.steps[0].kind, "dns_update");
  EXPECT_EQ(rb.steps[4].kind, "pagerduty");
  ASSERT_EQ(rb.on_failure.size(), 1u);
  EXPECT_EQ(rb.guards[0].message, "DR region must be healthy");
  EXPECT_EQ(cfg->lock_dir, "/tmp/locks");
}

TEST_F(ActuatorConfigTest, EveryBadFixtureFailsWithItsLocatedMessage) {
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kTestdata + "/bad")) {
    std::string text = testing::ReadFile(entry.path().string());
    ASSERT_EQ(text.rfind("# error: ", 0), 0u) << entry.path();
    std::string expected = text.substr(9, text.find('\n') - 9);
    auto cfg = LoadActuatorConfigFile(entry.path().string(), deps_);
    ASSERT_FALSE(cfg) << entry.path().filename() << " loaded; expected: " << expected;
    EXPECT_NE(cfg.error().message.find(expected), std::string::npos)
        << entry.path().filename() << "\n  got:      " << cfg.error().message
        << "\n  expected: " << expected;
    if (entry.path().filename() != "empty.yml") {
      EXPECT_EQ(cfg.error().message.rfind(entry.path().string() + ":", 0), 0u)
          << "error does not start with file:line:col: " << cfg.error().message;
    }
    ++checked;
  }
  EXPECT_GE(checked, 20);
}

TEST_F(ActuatorConfigTest, JournalIsAPathOrEtcd) {
  auto load = [&](const std::string& journal) {
    auto root = YamlNode::LoadString("journal: " + journal + "\n", "actuator.yml");
    EXPECT_TRUE(root);
    return LoadActuatorConfig(*root, deps_);
  };
  auto path = load("/var/lib/x/j.db");
  ASSERT_TRUE(path) << path.error().message;
  EXPECT_EQ(path->journal_path, "/var/lib/x/j.db");
  EXPECT_FALSE(path->journal_etcd);
  auto map = load("{path: /var/lib/y/j.db}");
  ASSERT_TRUE(map) << map.error().message;
  EXPECT_EQ(map->journal_path, "/var/lib/y/j.db");
  EXPECT_EQ(map->lock_dir, "/var/lib/y/locks");
  auto etcd = load("{etcd: {endpoints: [http://127.0.0.1:2379, http://127.0.0.1:2479]}}");
  ASSERT_TRUE(etcd) << etcd.error().message;
  ASSERT_TRUE(etcd->journal_etcd);
  EXPECT_EQ(etcd->journal_etcd->endpoints.size(), 2u);
  EXPECT_EQ(etcd->journal_etcd->ttl, std::chrono::seconds(15));
  EXPECT_EQ(etcd->journal_etcd->prefix, "/failover/");
  auto custom = load("{etcd: {endpoints: [https://etcd-1:2379], ttl: 5s, prefix: /ha/}}");
  ASSERT_TRUE(custom) << custom.error().message;
  EXPECT_EQ(custom->journal_etcd->ttl, std::chrono::seconds(5));
  EXPECT_EQ(custom->journal_etcd->prefix, "/ha/");
}

// Issue 14, point 7: journal: {retention: ...} in the map form, with a default; both forms
// still load.
TEST_F(ActuatorConfigTest, JournalRetentionHasADefaultAndTheMapFormTakesIt) {
  auto load = [&](const std::string& journal) {
    auto root = YamlNode::LoadString("journal: " + journal + "\n", "actuator.yml");
    EXPECT_TRUE(root);
    return LoadActuatorConfig(*root, deps_);
  };
  auto plain = load("/var/lib/x/j.db");
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(plain->journal_retention, std::chrono::hours(24 * 30));
  EXPECT_EQ(plain->journal_page_after, std::chrono::minutes(1));
  auto map = load("{path: /var/lib/y/j.db, retention: 7d, page_after: 10s}");
  ASSERT_TRUE(map) << map.error().message;
  EXPECT_EQ(map->journal_path, "/var/lib/y/j.db");
  EXPECT_EQ(map->journal_retention, std::chrono::hours(24 * 7));
  EXPECT_EQ(map->journal_page_after, std::chrono::seconds(10));
  auto only = load("{retention: 90d}");
  ASSERT_TRUE(only) << only.error().message;
  EXPECT_EQ(only->journal_retention, std::chrono::hours(24 * 90));
  auto etcd = load("{etcd: {endpoints: [http://127.0.0.1:2379]}, retention: 2d}");
  ASSERT_TRUE(etcd) << etcd.error().message;
  EXPECT_EQ(etcd->journal_retention, std::chrono::hours(48));
}

// Issue 14, point 8: a runbook's brake default follows its step kinds.
TEST_F(ActuatorConfigTest, BrakeDefaultsFromTheStepKinds) {
  auto root = YamlNode::LoadString(R"(prometheus: {url: "http://127.0.0.1:9090"}
pagerduty: {routing_key: k}
runbooks:
  - name: notify
    match: {alertname: X}
    on: resolved
    steps:
      - pagerduty: {action: trigger, severity: info, summary: back}
      - wait: {duration: 1s}
      - wait_for: {promql: up == 1, timeout: 10s}
  - name: change
    match: {alertname: X}
    steps:
      - wait: {duration: 1s}
      - exec: {argv: [/bin/true]}
  - name: opted-out
    match: {alertname: X}
    brake: false
    steps: [{exec: {argv: [/bin/true]}}]
)",
                                   "actuator.yml");
  ASSERT_TRUE(root) << root.error().message;
  auto cfg = LoadActuatorConfig(*root, deps_);
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_FALSE(cfg->FindRunbook("notify")->brake);
  EXPECT_TRUE(cfg->FindRunbook("change")->brake);
  EXPECT_FALSE(cfg->FindRunbook("opted-out")->brake);
  EXPECT_TRUE(cfg->FindRunbook("opted-out")->brake_explicit);
}

TEST_F(ActuatorConfigTest, SecretsNeverAppearInErrors) {
  auto root = YamlNode::LoadString(
      "webhook: {bearer_token: sup3r-s3cret-t0ken}\nrunbooks:\n  - name: a\n    match: {x: y}\n"
      "    mode: nope\n    steps: [{wait: {duration: 1s}}]\n",
      "a.yml");
  auto cfg = LoadActuatorConfig(*root, deps_);
  ASSERT_FALSE(cfg);
  EXPECT_EQ(cfg.error().message.find("sup3r-s3cret-t0ken"), std::string::npos);
}

}  // namespace
}  // namespace failover
