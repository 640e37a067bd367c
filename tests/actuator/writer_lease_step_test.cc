// The writer_lease step and db_promote's writer lease guard against the real etcd and
// MariaDB replica of scripts/stack: acquisition waits for the old holder's lease to
// expire, times out (naming holder and TTL) while the old holder renews, is idempotent;
// db_promote refuses while another region (or nobody) holds the lease. Plus the config
// errors of writer_lease:, region_agent: and db_promote's region:.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "actuator/config.h"
#include "actuator/coordination/region_agent_config.h"
#include "actuator/coordination/writer_lease.h"
#include "actuator/db/database.h"
#include "actuator/engine.h"
#include "actuator/metrics.h"
#include "actuator/steps/db_promote.h"
#include "actuator/steps/writer_lease.h"
#include "common/http_client.h"
#include "tests/actuator/step_test_util.h"
#include "tests/support/fake_pagerduty.h"
#include "tests/support/stack.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace failover {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;
using testing::Stack;

class WriterLeaseStepTest : public ::testing::Test {
 protected:
  void SetUp() override {
    endpoint_ = Stack::Get({"etcd"}).Env("ETCD_ENDPOINTS");
    prefix_ = "/test-" +
              std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "/";
    lease_config_.endpoints = {endpoint_};
    lease_config_.prefix = prefix_;
    lease_config_.ttl = seconds(2);
    fctx_.writer_lease = &lease_config_;
    fctx_.databases = &databases_;
  }
  std::unique_ptr<Step> Make(const std::string& yaml) {
    return testing::MustBuildStep(yaml, &NewWriterLeaseStep, fctx_);
  }
  StepOutcome Run(Step& step) {
    return testing::RunStep(step, SystemClock::Get(), nullptr, &http_);
  }

  std::string endpoint_, prefix_;
  WriterLeaseConfig lease_config_;
  DatabaseMap databases_;
  StepFactoryContext fctx_;
  CurlHttpClient http_;
};

TEST_F(WriterLeaseStepTest, AcquireWaitsUntilTheOldLeaseExpiresThenTakesIt) {
  EtcdClient etcd(http_, {endpoint_});
  WriterLease lease(etcd, prefix_);
  auto old = lease.TryAcquire("us-east", 3);  // its holder is gone: nobody renews it
  ASSERT_TRUE(old && old->created);
  auto step = Make("{acquire: eu-west, timeout: 20s}");
  ASSERT_TRUE(step);
  std::atomic<bool> done{false};
  StepOutcome out;
  std::thread t([&] {
    out = Run(*step);
    done = true;
  });
  // While the old lease lives, the step waits and the key keeps its holder.
  std::this_thread::sleep_for(milliseconds(1000));
  EXPECT_FALSE(done) << "took the lease while us-east's was still alive";
  auto mid = lease.Read();
  ASSERT_TRUE(mid);
  EXPECT_EQ(mid->holder, "us-east");
  ASSERT_TRUE(testing::WaitFor([&] { return done.load(); }, seconds(20)));
  t.join();
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_THAT(out.message, HasSubstr("writer lease acquired for eu-west"));
  EXPECT_THAT(out.message, HasSubstr("after us-east's expired"));
  EXPECT_EQ(out.details["changed"], true);
  auto now = lease.Read();
  ASSERT_TRUE(now);
  EXPECT_TRUE(now->held);
  EXPECT_EQ(now->holder, "eu-west");
  EXPECT_NE(now->lease, old->lease);
  EXPECT_EQ(now->granted_ttl, 2) << "the lease has writer_lease.ttl";

  // Running it again is harmless: already held.
  StepOutcome again = Run(*step);
  ASSERT_EQ(again.status, StepStatus::kOk) << again.message;
  EXPECT_THAT(again.message, HasSubstr("already held by eu-west"));
  EXPECT_EQ(again.details["changed"], false);
  auto after = lease.Read();
  ASSERT_TRUE(after);
  EXPECT_EQ(after->lease, now->lease);
}

TEST_F(WriterLeaseStepTest, AcquireTimesOutWhileTheOldHolderRenews) {
  EtcdClient etcd(http_, {endpoint_});
  WriterLease lease(etcd, prefix_);
  auto old = lease.TryAcquire("us-east", 2);
  ASSERT_TRUE(old && old->created);
  std::atomic<bool> stop{false};
  std::thread renewer([&] {  // the us-east agent, alive and renewing
    while (!stop) {
      (void)lease.KeepAlive(old->lease, seconds(1));
      std::this_thread::sleep_for(milliseconds(300));
    }
  });
  auto step = Make("{acquire: eu-west, timeout: 4s}");
  ASSERT_TRUE(step);
  StepOutcome out = Run(*step);
  stop = true;
  renewer.join();
  EXPECT_EQ(out.status, StepStatus::kFailed) << out.message;
  EXPECT_THAT(out.message, HasSubstr("writer lease not acquired for eu-west within 4s"));
  EXPECT_THAT(out.message, HasSubstr("held by us-east"));
  EXPECT_THAT(out.message, HasSubstr("s left"));
  EXPECT_EQ(step->common().retries, 0) << "a timed-out wait is not retried by default";
  auto st = lease.Read();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->holder, "us-east");
}

TEST_F(WriterLeaseStepTest, DbPromoteRefusesWhileAnotherRegionHoldsTheLease) {
  auto& stack = Stack::Get({"mariadb", "etcd"});
  auto node =
      YamlNode::LoadString("{eu-west-db: {mysql: {address: \"" + stack.Env("MARIADB_REPLICA_ADDR") +
                               "\", user: failover, password_file: \"" +
                               stack.Env("MARIADB_FAILOVER_PASSWORD_FILE") + "\"}}}",
                           "actuator.yml");
  ASSERT_TRUE(node);
  auto dbs = LoadDatabases(*node);
  ASSERT_TRUE(dbs) << dbs.error().message;
  databases_ = *dbs;
  auto pnode =
      YamlNode::LoadString("{database: eu-west-db, max_lag: 5s, region: eu-west}", "a.yml");
  auto promote = NewDbPromoteStep(*pnode, fctx_);
  ASSERT_TRUE(promote) << promote.error().message;
  auto replica_read_only = [&] {
    std::string out;
    return stack.Shell(
               "mariadb --no-defaults -N -uroot -h127.0.0.1 "
               "-P\"${MARIADB_REPLICA_ADDR#*:}\" -e 'SELECT @@global.read_only' 2>&1",
               &out) == 0 &&
           out.find('1') != std::string::npos;
  };
  ASSERT_TRUE(replica_read_only());

  // Nobody holds it: refused too (acquire first).
  StepOutcome none = Run(**promote);
  EXPECT_EQ(none.status, StepStatus::kFailed) << none.message;
  EXPECT_THAT(none.message, HasSubstr("not held"));

  EtcdClient etcd(http_, {endpoint_});
  WriterLease lease(etcd, prefix_);
  auto us = lease.TryAcquire("us-east", 30);
  ASSERT_TRUE(us && us->created);
  StepOutcome out = Run(**promote);
  EXPECT_EQ(out.status, StepStatus::kFailed) << out.message;
  EXPECT_THAT(out.message, HasSubstr("guard: refusing to make eu-west-db writable in eu-west"));
  EXPECT_THAT(out.message, HasSubstr("held by us-east"));
  EXPECT_THAT(out.message, HasSubstr("s left"));
  EXPECT_EQ(out.details["holder"], "us-east");
  EXPECT_TRUE(replica_read_only()) << "the replica was promoted despite the lease";
  ASSERT_TRUE(lease.Release(us->lease));
}

// The whole path: a failover runbook whose db_promote is refused by the lease guard fails,
// and the engine pages PagerDuty with the lease's state.
TEST_F(WriterLeaseStepTest, RefusedPromotionIsEscalatedWithTheLeaseState) {
  auto& stack = Stack::Get({"mariadb", "etcd"});
  EtcdClient etcd(http_, {endpoint_});
  WriterLease lease(etcd, prefix_);
  auto us = lease.TryAcquire("us-east", 30);
  ASSERT_TRUE(us && us->created);
  testing::FakePagerDuty pd;
  testing::TempDir dir;
  std::string text =
      "journal: " + dir.path() + "/journal.db\n" +
      "pagerduty: {routing_key: " + testing::FakePagerDuty::kRoutingKey + ", url: \"" + pd.url() +
      "\"}\n" + "writer_lease: {etcd: {endpoints: [\"" + endpoint_ + "\"], prefix: " + prefix_ +
      "}, ttl: 10s}\n" + "databases: {eu-west-db: {mysql: {address: \"" +
      stack.Env("MARIADB_REPLICA_ADDR") + "\", user: failover, password_file: \"" +
      stack.Env("MARIADB_FAILOVER_PASSWORD_FILE") + "\"}}}\n" +
      "runbooks:\n"
      "  - name: failover-us-east\n"
      "    match: {alertname: RegionDown, region: us-east}\n"
      "    steps:\n"
      "      - db_promote: {database: eu-west-db, region: eu-west, max_lag: 5s, retries: 0}\n";
  auto root = YamlNode::LoadString(text, "actuator.yml");
  ASSERT_TRUE(root) << root.error().message;
  StepRegistry steps;
  RegisterBuiltinSteps(steps);
  ConfigDeps deps;
  deps.steps = &steps;
  deps.provider_ctx.http = &http_;
  auto cfg = LoadActuatorConfig(*root, deps);
  ASSERT_TRUE(cfg) << cfg.error().message;
  auto journal = OpenSqliteJournal(dir.path() + "/journal.db");
  ASSERT_TRUE(journal);
  ActuatorMetrics metrics;
  Engine engine(**journal, SystemClock::Get(), http_, metrics, {});
  engine.SetConfig(std::make_shared<ActuatorConfig>(std::move(*cfg)));
  ASSERT_TRUE(engine.Start());
  AlertGroup g = testing::FiringRegionDown("us-east", "2026-12-06T07:00:00Z", "0000000000000016");
  auto out = engine.HandleWebhook(g, "{}");
  ASSERT_TRUE(out) << out.error().message;
  ASSERT_TRUE(engine.WaitIdle(seconds(60)));
  engine.Stop();
  auto e = (*journal)->Get(out->execution_ids[0]);
  ASSERT_TRUE(e && *e);
  EXPECT_EQ((*e)->state, ExecState::kFailed);
  EXPECT_THAT((*e)->message, HasSubstr("held by us-east"));
  ASSERT_EQ(pd.Events().size(), 1u);
  std::string summary = pd.Events()[0].body["payload"]["summary"].get<std::string>();
  EXPECT_THAT(summary, HasSubstr("guard: refusing to make eu-west-db writable"));
  EXPECT_THAT(summary, HasSubstr("held by us-east"));
  EXPECT_THAT(summary, HasSubstr("s left"));
  ASSERT_TRUE(lease.Release(us->lease));
}

// ---- configuration -------------------------------------------------------------------

Result<ActuatorConfig> LoadConfig(const std::string& yaml) {
  static StepRegistry steps = [] {
    StepRegistry r;
    RegisterBuiltinSteps(r);
    return r;
  }();
  auto node = YamlNode::LoadString(yaml, "actuator.yml");
  if (!node) return node.error();
  ConfigDeps deps;
  deps.steps = &steps;
  return LoadActuatorConfig(*node, deps);
}

constexpr const char* kDb =
    "databases: {us-east-db: {mysql: {address: \"127.0.0.1:3306\", user: failover}}}\n";

TEST(WriterLeaseConfigTest, RegionAgentTimingIsValidatedAtLoad) {
  auto ok = LoadConfig(std::string(kDb) +
                       "region_agent: {region: us-east, etcd: {endpoints: "
                       "[\"http://127.0.0.1:2379\"]}, database: us-east-db}\n");
  ASSERT_TRUE(ok) << ok.error().message;
  ASSERT_TRUE(ok->region_agent);
  EXPECT_EQ(ok->region_agent->ttl, seconds(10));
  EXPECT_EQ(ok->region_agent->fence_after, seconds(6));

  auto late = LoadConfig(std::string(kDb) +
                         "region_agent:\n  region: us-east\n"
                         "  etcd: {endpoints: [\"http://127.0.0.1:2379\"]}\n"
                         "  database: us-east-db\n  ttl: 10s\n  fence_after: 8s\n");
  ASSERT_FALSE(late);
  EXPECT_THAT(late.error().message, HasSubstr("actuator.yml:7:16: region_agent.fence_after"));
  EXPECT_THAT(late.error().message, HasSubstr("fence_after (8s) + fence_timeout (2s)"));
  EXPECT_THAT(late.error().message, HasSubstr("must not exceed ttl (10s)"));

  auto slow = LoadConfig(std::string(kDb) +
                         "region_agent: {region: us-east, etcd: {endpoints: "
                         "[\"http://127.0.0.1:2379\"]}, database: us-east-db, renew_every: 6s}\n");
  ASSERT_FALSE(slow);
  EXPECT_THAT(slow.error().message, HasSubstr("renew_every (6s) must be shorter than fence_after"));

  auto frac =
      LoadConfig(std::string(kDb) +
                 "region_agent: {region: us-east, etcd: {endpoints: "
                 "[\"http://127.0.0.1:2379\"]}, database: us-east-db, fence_timeout: 1500ms}\n");
  ASSERT_FALSE(frac);
  EXPECT_THAT(frac.error().message, HasSubstr("fence_timeout must be whole seconds"));

  auto unknown = LoadConfig(std::string(kDb) +
                            "region_agent: {region: us-east, etcd: {endpoints: "
                            "[\"http://127.0.0.1:2379\"]}, database: eu-west-db}\n");
  ASSERT_FALSE(unknown);
  EXPECT_THAT(unknown.error().message, HasSubstr("unknown database \"eu-west-db\""));

  auto etcd_journal = LoadConfig(std::string(kDb) +
                                 "journal: {etcd: {endpoints: [\"http://127.0.0.1:2379\"]}}\n"
                                 "region_agent: {region: us-east, etcd: {endpoints: "
                                 "[\"http://127.0.0.1:2379\"]}, database: us-east-db}\n");
  ASSERT_FALSE(etcd_journal);
  EXPECT_THAT(etcd_journal.error().message, HasSubstr("journals locally"));
}

TEST(WriterLeaseConfigTest, StepAndPromoteNeedTheWriterLeaseSection) {
  auto no_section = LoadConfig(
      "runbooks: [{name: f, match: {alertname: X}, steps: [{writer_lease: {acquire: "
      "eu-west}}]}]\n");
  ASSERT_FALSE(no_section);
  EXPECT_THAT(no_section.error().message, HasSubstr("need the top-level writer_lease: section"));

  auto no_region = LoadConfig(std::string(kDb) +
                              "writer_lease: {etcd: {endpoints: [\"http://127.0.0.1:2379\"]}}\n"
                              "runbooks: [{name: f, match: {alertname: X}, steps: [{db_promote: "
                              "{database: us-east-db, max_lag: 5s}}]}]\n");
  ASSERT_FALSE(no_region);
  EXPECT_THAT(no_region.error().message, HasSubstr("db_promote needs region:"));
  EXPECT_THAT(no_region.error().message, HasSubstr("actuator.yml:3"));

  auto fine =
      LoadConfig(std::string(kDb) +
                 "writer_lease: {etcd: {endpoints: [\"http://127.0.0.1:2379\"]}, ttl: 15s}\n"
                 "runbooks: [{name: f, match: {alertname: X}, steps: ["
                 "{writer_lease: {acquire: us-east}}, "
                 "{db_promote: {database: us-east-db, max_lag: 5s, region: us-east}}]}]\n");
  ASSERT_TRUE(fine) << fine.error().message;
  ASSERT_TRUE(fine->writer_lease);
  EXPECT_EQ(fine->writer_lease->ttl, seconds(15));
}

// Every writer_lease key set: the step renders the region for the alert, the lease key
// and TTL of the top-level section and handover; an empty acquire is a located error.
TEST(WriterLeaseConfigTest, StepRendersEveryKeyAndRefusesAnEmptyAcquire) {
  const std::string section =
      "writer_lease: {etcd: {endpoints: [\"http://127.0.0.1:2379\"], prefix: /shop/}, "
      "ttl: 15s}\n";
  auto cfg = LoadConfig(section +
                        "runbooks: [{name: f, match: {alertname: X}, steps: [{writer_lease: "
                        "{acquire: \"{{labels.region}}\", handover: false, timeout: 40s, "
                        "retries: 2}}]}]\n");
  ASSERT_TRUE(cfg) << cfg.error().message;
  const Step& step = *cfg->runbooks[0].steps[0].step;
  EXPECT_EQ(step.common().timeout, seconds(40));
  EXPECT_EQ(step.common().retries, 2);
  TemplateVars vars;
  vars.labels["region"] = "eu-west";
  auto j = step.Render(vars);
  ASSERT_TRUE(j) << j.error().message;
  EXPECT_EQ(
      *j,
      (nlohmann::json{
          {"acquire", "eu-west"}, {"key", "/shop/writer"}, {"ttl", "15s"}, {"handover", false}}));

  auto empty = LoadConfig(section +
                          "runbooks: [{name: f, match: {alertname: X}, steps: [{writer_lease: "
                          "{acquire: \"\"}}]}]\n");
  ASSERT_FALSE(empty);
  EXPECT_THAT(empty.error().message, HasSubstr("actuator.yml:2:"));
  EXPECT_THAT(empty.error().message, HasSubstr("acquire names the region that becomes the writer"));
}

}  // namespace
}  // namespace failover
