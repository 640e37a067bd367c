// db_switchover against the real MariaDB pair of scripts/stack: a target that never
// catches up aborts the switchover and leaves the primary writable; a successful one
// loses nothing and re-points the old primary. With the writer lease (the stack's etcd and
// a real region agent per region): the lease moves with the switchover while the
// application keeps writing, and no acknowledged order is lost; a lease that cannot be
// moved, or a target that does not catch up, aborts with the primary's region the writer.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "actuator/config.h"
#include "actuator/coordination/region_agent.h"
#include "actuator/coordination/writer_lease.h"
#include "actuator/journal.h"
#include "actuator/steps/db_switchover.h"
#include "common/http_client.h"
#include "tests/actuator/mariadb_pair.h"
#include "tests/actuator/step_test_util.h"
#include "tests/support/temp_dir.h"

namespace failover {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using wayback_test::AppInsert;
using wayback_test::Root;

class MariaDbSwitchoverTest : public wayback_test::MariaDbPairTest {
 protected:
  Result<std::unique_ptr<Step>> Make(const std::string& timeout) {
    auto node = YamlNode::LoadString(
        "{primary: us-east-db, target: eu-west-db, timeout: 60s, "
        "catch_up_timeout: " +
            timeout + ", " + ReplKeys() + "}",
        "actuator.yml");
    if (!node) return node.error();
    return NewDbSwitchoverStep(*node, fctx_);
  }
};

TEST_F(MariaDbSwitchoverTest, ATargetThatNeverCatchesUpAbortsAndThePrimaryIsWritableAgain) {
  {
    Root replica(Replica());
    replica.Q("STOP SLAVE SQL_THREAD");
  }
  ASSERT_EQ(AppInsert(*stack_, "MARIADB_PRIMARY_ADDR", "unapplied"), 0);
  auto step = Make("2s");
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome out = Run(**step);
  EXPECT_EQ(out.status, StepStatus::kFailed) << out.message;
  EXPECT_THAT(out.message, HasSubstr("switchover aborted"));
  EXPECT_THAT(out.message, HasSubstr("did not apply"));
  EXPECT_THAT(out.message, HasSubstr("us-east-db un-fenced"));
  // The primary takes orders again; the target is still a read-only replica.
  EXPECT_EQ(AppInsert(*stack_, "MARIADB_PRIMARY_ADDR", "after-abort"), 0);
  Root replica(Replica());
  EXPECT_EQ(replica.One("SELECT @@global.read_only"), "1");
  EXPECT_EQ(replica.Q("SHOW SLAVE STATUS").size(), 1u);
  replica.Q("START SLAVE SQL_THREAD");
  WaitCaughtUp();
  EXPECT_THAT(Notes(Replica()), ElementsAre("unapplied", "after-abort"));
}

TEST_F(MariaDbSwitchoverTest, LosesNothingAndRepointsTheOldPrimary) {
  // Orders written right before the switchover, some still in flight to the replica.
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(AppInsert(*stack_, "MARIADB_PRIMARY_ADDR", "order-" + std::to_string(i)), 0);
  }
  auto step = Make("20s");
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome out = Run(**step);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_THAT(out.message, HasSubstr("switched over"));
  auto on_new = Notes(Replica());
  ASSERT_EQ(on_new.size(), 20u);
  EXPECT_EQ(on_new.back(), "order-19");
  // The new primary takes writes, the old one refuses them and replicates.
  ASSERT_EQ(AppInsert(*stack_, "MARIADB_REPLICA_ADDR", "after-switchover"), 0);
  EXPECT_NE(AppInsert(*stack_, "MARIADB_PRIMARY_ADDR", "must-fail"), 0);
  EXPECT_TRUE(testing::WaitFor([&] { return Notes(Primary()).size() == 21; }));
  Root old_primary(Primary());
  EXPECT_EQ(old_primary.One("SELECT @@global.read_only"), "1");

  StepOutcome again = Run(**step);
  ASSERT_EQ(again.status, StepStatus::kOk) << again.message;
  EXPECT_THAT(again.message, HasSubstr("nothing to do"));
}

// ---- With the writer lease ----------------------------------------------------------

class MariaDbSwitchoverLeaseTest : public MariaDbSwitchoverTest {
 protected:
  void SetUp() override {
    MariaDbSwitchoverTest::SetUp();
    endpoint_ = testing::Stack::Get({"etcd"}).Env("ETCD_ENDPOINTS");
    prefix_ = "/test-" +
              std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "/";
    lease_config_.endpoints = {endpoint_};
    lease_config_.prefix = prefix_;
    lease_config_.ttl = std::chrono::seconds(3);
    fctx_.writer_lease = &lease_config_;
    RegisterBuiltinSteps(steps_);
    etcd_ = std::make_unique<EtcdClient>(http_, std::vector<std::string>{endpoint_});
    lease_ = std::make_unique<WriterLease>(*etcd_, prefix_);
  }
  void TearDown() override {
    StopWriter();
    agents_.clear();  // each stops and joins its threads
  }
  Result<std::unique_ptr<Step>> MakeLease(const std::string& extra) {
    auto node = YamlNode::LoadString("{primary: us-east-db, target: eu-west-db, timeout: 60s, " +
                                         extra + ", " + ReplKeys() + "}",
                                     "actuator.yml");
    if (!node) return node.error();
    return NewDbSwitchoverStep(*node, fctx_);
  }
  StepOutcome RunLease(Step& step) {
    vars_.execution_id = "exec-1";
    return testing::RunStep(step, SystemClock::Get(), &vars_, &http_);
  }
  // A region agent (docs/writer-lease.md) for `region` on `address`, with the default
  // make_writable: true, fast timings.
  RegionAgent& StartAgent(const std::string& region, const std::string& address) {
    std::string db = region + "-db";
    auto node = YamlNode::LoadString(
        "databases: {" + db + ": {mysql: {address: \"" + address +
            "\", user: failover, password_file: \"" +
            stack_->Env("MARIADB_FAILOVER_PASSWORD_FILE") + "\"}}}\n" +
            "region_agent: {region: " + region + ", etcd: {endpoints: [\"" + endpoint_ +
            "\"], prefix: " + prefix_ + "}, database: " + db +
            ", ttl: 3s, renew_every: 500ms, fence_after: 1500ms, fence_timeout: 1s}\n",
        "agent-" + region + ".yml");
    EXPECT_TRUE(node) << node.error().message;
    ConfigDeps deps;
    deps.steps = &steps_;
    deps.provider_ctx.http = &http_;
    auto cfg = LoadActuatorConfig(*node, deps);
    EXPECT_TRUE(cfg) << cfg.error().message;
    auto j = OpenSqliteJournal(dir_.path() + "/agent-" + region + ".db");
    EXPECT_TRUE(j) << j.error().message;
    journals_.push_back(std::move(*j));
    agents_.push_back(std::make_unique<RegionAgent>(cfg->region_agent, http_, *journals_.back(),
                                                    SystemClock::Get(), registry_));
    agents_.back()->Start();
    return *agents_.back();
  }
  // The shop: inserts orders as `app` into `address` as fast as it can, reconnecting after
  // each refusal. acked_: the orders the server confirmed (autocommit: committed).
  void StartWriter(const std::string& address) {
    writer_ = std::thread([this, address] {
      auto node =
          YamlNode::LoadString("{address: \"" + address + "\", user: app, password_file: \"" +
                                   stack_->Env("MARIADB_APP_PASSWORD_FILE") + "\"}",
                               "test");
      MysqlTarget t = *MysqlTargetFromYaml(*node);
      MysqlConn conn;
      for (int i = 0; !stop_writer_; ++i) {
        std::string note = "live-" + std::to_string(i);
        if (!conn.connected() && !conn.Connect(t, std::chrono::seconds(2))) {
          ++refused_;
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          continue;
        }
        if (conn.Query("INSERT INTO shop.orders (note) VALUES ('" + note + "')")) {
          std::lock_guard<std::mutex> l(mu_);
          acked_.push_back(note);
        } else {
          ++refused_;
          conn.Close();
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
      }
    });
  }
  void StopWriter() {
    stop_writer_ = true;
    if (writer_.joinable()) writer_.join();
  }
  std::string Holder() {
    auto st = lease_->Read(std::nullopt, /*with_ttl=*/false);
    return st && st->held ? st->holder : (st ? "(nobody)" : "(unreadable)");
  }
  bool HandoverRequestPresent() {
    auto r = etcd_->Range(prefix_ + "handover", false);
    return !r || !r->empty();
  }

  std::string endpoint_, prefix_;
  WriterLeaseConfig lease_config_;
  StepRegistry steps_;
  CurlHttpClient http_;
  testing::TempDir dir_;
  prometheus::Registry registry_;
  std::vector<std::unique_ptr<Journal>> journals_;
  std::vector<std::unique_ptr<RegionAgent>> agents_;
  std::unique_ptr<EtcdClient> etcd_;
  std::unique_ptr<WriterLease> lease_;
  std::thread writer_;
  std::atomic<bool> stop_writer_{false};
  std::atomic<int> refused_{0};
  std::mutex mu_;
  std::vector<std::string> acked_;
};

// The planned move under the lease, with both region agents running (us-east's would make
// a read-only primary of the writer region writable again within a tick) and the shop
// writing to us-east throughout: us-east's agent hands the lease over, the step fences,
// eu-west catches up, takes the lease and is promoted. Every order us-east acknowledged is
// on eu-west; eu-west's agent then holds the lease, us-east's keeps it read-only.
TEST_F(MariaDbSwitchoverLeaseTest, MovesTheLeaseAndLosesNoAcknowledgedOrder) {
  auto held = lease_->TryAcquire("us-east", 3);
  ASSERT_TRUE(held && held->created);
  RegionAgent& us = StartAgent("us-east", Primary());
  RegionAgent& eu = StartAgent("eu-west", Replica());
  ASSERT_TRUE(testing::WaitFor([&] { return us.held() && eu.fenced(); }))
      << "us-east: " << us.reason() << "; eu-west: " << eu.reason();
  StartWriter(Primary());
  ASSERT_TRUE(testing::WaitFor([&] {
    std::lock_guard<std::mutex> l(mu_);
    return acked_.size() >= 20;
  })) << "the shop could not write to us-east";

  auto step = MakeLease(
      "primary_region: us-east, region: eu-west, catch_up_timeout: 20s, "
      "lease_timeout: 10s");
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome out = RunLease(**step);
  // The shop keeps trying us-east for a while after the switchover.
  ASSERT_TRUE(testing::WaitFor([&] { return refused_ >= 5; }));
  StopWriter();
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_THAT(out.message, HasSubstr("switched over"));
  EXPECT_THAT(out.message, HasSubstr("eu-west holds the writer lease"));
  EXPECT_THAT(out.details.value("lease_release", ""),
              HasSubstr("us-east released the writer lease on the handover request"));
  EXPECT_EQ(Holder(), "eu-west");
  EXPECT_FALSE(HandoverRequestPresent()) << "the step did not withdraw its handover request";

  // No acknowledged order is lost: all of them are on the new primary.
  auto on_new = Notes(Replica());
  std::set<std::string> have(on_new.begin(), on_new.end());
  std::vector<std::string> lost;
  for (const auto& n : acked_) {
    if (!have.count(n)) lost.push_back(n);
  }
  EXPECT_TRUE(lost.empty()) << lost.size() << " of " << acked_.size()
                            << " acknowledged orders are not on eu-west, first " << lost[0];

  // eu-west's agent holds (and renews) the lease, its database takes orders; us-east's
  // agent keeps the old primary read-only, and it replicates from eu-west.
  ASSERT_TRUE(testing::WaitFor([&] { return eu.held() && us.fenced(); }))
      << "eu-west: " << eu.reason() << "; us-east: " << us.reason();
  EXPECT_TRUE(testing::WaitFor(
      [&] { return AppInsert(*stack_, "MARIADB_REPLICA_ADDR", "after-switchover") == 0; }));
  EXPECT_NE(AppInsert(*stack_, "MARIADB_PRIMARY_ADDR", "must-fail"), 0);
  Root old_primary(Primary());
  EXPECT_EQ(old_primary.One("SELECT @@global.read_only"), "1");
  EXPECT_EQ(old_primary.Q("SHOW SLAVE STATUS").size(), 1u);
  EXPECT_TRUE(testing::WaitFor([&] { return Notes(Primary()) == Notes(Replica()); }));

  // Again: the lease is already eu-west's, nothing to do.
  StepOutcome again = RunLease(**step);
  ASSERT_EQ(again.status, StepStatus::kOk) << again.message;
  EXPECT_THAT(again.message, HasSubstr("nothing to do"));
  EXPECT_EQ(Holder(), "eu-west");
}

// us-east's lease is renewed by something that never answers handover requests (an agent
// that cannot verify its fence, or an old version): the lease does not move within
// lease_timeout, the switchover aborts and us-east, still the holder, stays the writer.
TEST_F(MariaDbSwitchoverLeaseTest, ALeaseThatCannotBeMovedAbortsAndThePrimaryStaysWritable) {
  auto step = MakeLease(
      "primary_region: us-east, region: eu-west, catch_up_timeout: 5s, lease_timeout: 2s");
  ASSERT_TRUE(step) << step.error().message;
  auto held = lease_->TryAcquire("us-east", 3);
  ASSERT_TRUE(held && held->created);
  std::atomic<bool> stop{false};
  std::thread renewer([&] {
    while (!stop) {
      (void)lease_->KeepAlive(held->lease, std::chrono::seconds(1));
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
  });
  StepOutcome out = RunLease(**step);
  EXPECT_EQ(Holder(), "us-east");
  stop = true;
  renewer.join();
  EXPECT_EQ(out.status, StepStatus::kFailed) << out.message;
  EXPECT_THAT(out.message, HasSubstr("switchover aborted"));
  EXPECT_THAT(out.message, HasSubstr("the writer lease was not moved within 2s"));
  EXPECT_THAT(out.message, HasSubstr("held by us-east"));
  EXPECT_THAT(out.message, HasSubstr("us-east-db un-fenced (us-east holds the writer lease)"));
  EXPECT_FALSE(HandoverRequestPresent());
  EXPECT_EQ(AppInsert(*stack_, "MARIADB_PRIMARY_ADDR", "after-abort"), 0);
  Root replica(Replica());
  EXPECT_EQ(replica.One("SELECT @@global.read_only"), "1");
  EXPECT_EQ(replica.Q("SHOW SLAVE STATUS").size(), 1u);
}

// The target never catches up after us-east's agent released the lease: the step gives
// the lease back to us-east, whose agent and the step make us-east-db writable again.
TEST_F(MariaDbSwitchoverLeaseTest, ATargetThatNeverCatchesUpGivesTheLeaseBack) {
  auto held = lease_->TryAcquire("us-east", 3);
  ASSERT_TRUE(held && held->created);
  RegionAgent& us = StartAgent("us-east", Primary());
  RegionAgent& eu = StartAgent("eu-west", Replica());
  ASSERT_TRUE(testing::WaitFor([&] { return us.held() && eu.fenced(); }));
  {
    Root replica(Replica());
    replica.Q("STOP SLAVE SQL_THREAD");
  }
  ASSERT_EQ(AppInsert(*stack_, "MARIADB_PRIMARY_ADDR", "unapplied"), 0);
  auto step = MakeLease(
      "primary_region: us-east, region: eu-west, catch_up_timeout: 2s, "
      "lease_timeout: 10s");
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome out = RunLease(**step);
  EXPECT_EQ(out.status, StepStatus::kFailed) << out.message;
  EXPECT_THAT(out.message, HasSubstr("switchover aborted"));
  EXPECT_THAT(out.message, HasSubstr("did not apply"));
  EXPECT_THAT(out.message, HasSubstr("us-east-db un-fenced (us-east holds the writer lease)"));
  EXPECT_THAT(out.details.value("lease_release", ""), HasSubstr("released the writer lease"));
  EXPECT_EQ(Holder(), "us-east");
  EXPECT_FALSE(HandoverRequestPresent());
  // us-east's agent renews the lease it was given back and keeps us-east writable.
  ASSERT_TRUE(testing::WaitFor([&] { return us.held(); })) << us.reason();
  EXPECT_TRUE(testing::WaitFor(
      [&] { return AppInsert(*stack_, "MARIADB_PRIMARY_ADDR", "after-abort") == 0; }));
  Root replica(Replica());
  EXPECT_EQ(replica.One("SELECT @@global.read_only"), "1");
  EXPECT_EQ(replica.Q("SHOW SLAVE STATUS").size(), 1u);
  replica.Q("START SLAVE SQL_THREAD");
}

// The fence's own session is killed while it waits (another fencer evicting client
// sessions at the same moment, as a region agent does): the step fences again instead of
// aborting, and the switchover completes. Here a session of the test's holds LOCK TABLES
// so that SET GLOBAL read_only waits, is killed, then the lock is released.
TEST_F(MariaDbSwitchoverLeaseTest, AFenceWhoseSessionIsKilledIsTriedAgain) {
  ASSERT_EQ(AppInsert(*stack_, "MARIADB_PRIMARY_ADDR", "before"), 0);
  auto step = MakeLease(
      "primary_region: us-east, region: eu-west, catch_up_timeout: 20s, lease_timeout: 5s");
  ASSERT_TRUE(step) << step.error().message;
  // The lock is held before the step starts: a fence that ran first would succeed and
  // end the test's own sessions.
  Root blocker(Primary());
  blocker.Q("LOCK TABLES shop.orders WRITE");
  Root admin(Primary());
  std::atomic<bool> killed{false};
  std::thread killer([&] {
    std::string id;
    bool seen = testing::WaitFor([&] {
      id = admin.One(
          "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = 'failover' AND INFO "
          "LIKE 'SET GLOBAL read_only%'");
      return !id.empty() && id[0] != '<';
    });
    EXPECT_TRUE(seen) << "the step's fence never waited on the lock";
    if (seen) {
      admin.Q("KILL CONNECTION " + id);
      killed = true;
    }
    blocker.Q("UNLOCK TABLES");
  });
  StepOutcome out = RunLease(**step);
  killer.join();
  ASSERT_TRUE(killed);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_THAT(out.message, HasSubstr("switched over"));
  const nlohmann::json& fence = out.details["fence"];
  EXPECT_THAT(fence.value("message", ""), HasSubstr("(attempt 2; earlier: "));
  EXPECT_THAT(fence.value("message", ""), HasSubstr("Lost connection"));
  EXPECT_EQ(fence["details"].value("attempts", 0), 2);
  // No agent renews it here: the step's own word that it took the lease.
  EXPECT_THAT(out.message, HasSubstr("eu-west holds the writer lease"));
  EXPECT_THAT(Notes(Replica()), ElementsAre("before"));
  EXPECT_NE(AppInsert(*stack_, "MARIADB_PRIMARY_ADDR", "must-fail"), 0);
  EXPECT_EQ(AppInsert(*stack_, "MARIADB_REPLICA_ADDR", "after-switchover"), 0);
}

// A third region holds the lease: refused before anything changes.
TEST_F(MariaDbSwitchoverLeaseTest, AThirdRegionsLeaseIsRefused) {
  auto held = lease_->TryAcquire("ap-south", 30);
  ASSERT_TRUE(held && held->created);
  auto step = MakeLease(
      "primary_region: us-east, region: eu-west, catch_up_timeout: 2s, "
      "lease_timeout: 5s");
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome out = RunLease(**step);
  EXPECT_EQ(out.status, StepStatus::kFailed) << out.message;
  EXPECT_THAT(out.message, HasSubstr("guard: refusing to switch over"));
  EXPECT_THAT(out.message, HasSubstr("held by ap-south"));
  EXPECT_EQ(Holder(), "ap-south");
  EXPECT_EQ(AppInsert(*stack_, "MARIADB_PRIMARY_ADDR", "still-writable"), 0);
  ASSERT_TRUE(lease_->Release(held->lease));
}

TEST_F(MariaDbSwitchoverLeaseTest, LeaseKeysAreCheckedAtLoad) {
  auto missing = MakeLease("catch_up_timeout: 5s");
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message, HasSubstr("db_switchover needs region"));
  auto same = MakeLease("region: eu-west, primary_region: eu-west, catch_up_timeout: 5s");
  ASSERT_FALSE(same);
  EXPECT_THAT(same.error().message, HasSubstr("region must differ from primary_region"));
  auto long_wait = MakeLease(
      "region: eu-west, primary_region: us-east, catch_up_timeout: 5s, lease_timeout: 60s");
  ASSERT_FALSE(long_wait);
  EXPECT_THAT(long_wait.error().message, HasSubstr("actuator.yml:1:"));
  EXPECT_THAT(long_wait.error().message,
              HasSubstr("lease_timeout (1m) must be shorter than the step's timeout (1m)"));
  fctx_.writer_lease = nullptr;
  auto without = MakeLease("region: eu-west, primary_region: us-east, catch_up_timeout: 5s");
  ASSERT_FALSE(without);
  EXPECT_THAT(without.error().message, HasSubstr("configure writer_lease: first"));
}

// Configuration alone (nothing connects): every key set renders with its value, never the
// replication password; replicas naming an unknown database or the target are refused at
// the key.
TEST(DbSwitchoverConfigTest, RendersEveryKeyAndRefusesBadReplicas) {
  auto node = YamlNode::LoadString(
      "{a: {mysql: {address: \"127.0.0.1:1\", user: u}}, b: {mysql: {address: \"127.0.0.1:2\", "
      "user: u}}, c: {mysql: {address: \"127.0.0.1:3\", user: u}}}",
      "actuator.yml");
  auto dbs = LoadDatabases(*node);
  ASSERT_TRUE(dbs) << dbs.error().message;
  WriterLeaseConfig lease;
  lease.endpoints = {"http://127.0.0.1:1"};
  lease.prefix = "/shop/";
  StepFactoryContext ctx;
  ctx.databases = &*dbs;
  ctx.writer_lease = &lease;
  auto step = testing::BuildStep(
      "{primary: a, target: b, replicas: [c], replication_user: repl, replication_password: "
      "s3cret-pw, catch_up_timeout: 15s, primary_region: us-east, region: eu-west, "
      "lease_timeout: 20s, timeout: 90s}",
      &NewDbSwitchoverStep, ctx);
  ASSERT_TRUE(step) << step.error().message;
  EXPECT_EQ((*step)->common().timeout, std::chrono::seconds(90));
  auto j = (*step)->Render({});
  ASSERT_TRUE(j) << j.error().message;
  EXPECT_EQ(*j, (nlohmann::json{{"primary", "a"},
                                {"target", "b"},
                                {"replicas", {"c"}},
                                {"replication_user", "repl"},
                                {"catch_up_timeout", "15s"},
                                {"primary_region", "us-east"},
                                {"region", "eu-west"},
                                {"lease_timeout", "20s"},
                                {"writer_lease_key", "/shop/writer"}}));

  ctx.writer_lease = nullptr;
  auto unknown =
      testing::BuildStep("{primary: a, target: b,\n replicas: [c, d], replication_user: repl}",
                         &NewDbSwitchoverStep, ctx);
  ASSERT_FALSE(unknown);
  EXPECT_THAT(unknown.error().message, HasSubstr("actuator.yml:2:"));
  EXPECT_THAT(unknown.error().message, HasSubstr("unknown database \"d\" in replicas"));
  auto target = testing::BuildStep("{primary: a, target: b, replicas: [b], replication_user: repl}",
                                   &NewDbSwitchoverStep, ctx);
  ASSERT_FALSE(target);
  EXPECT_THAT(target.error().message,
              HasSubstr("replicas must not list the primary or the target (b)"));
}

}  // namespace
}  // namespace failover
