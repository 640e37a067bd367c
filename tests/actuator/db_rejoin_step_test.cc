// db_rejoin against the real MariaDB pair of scripts/stack: the old primary becomes a
// replica of the new one and catches up; a second run does nothing; errant transactions
// are refused (naming them) or discarded after the report.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "actuator/steps/db_divergence.h"
#include "actuator/steps/db_rejoin.h"
#include "tests/actuator/mariadb_pair.h"

namespace failover {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using wayback_test::AppInsert;
using wayback_test::AppSql;
using wayback_test::Root;

class MariaDbRejoinTest : public wayback_test::MariaDbPairTest {
 protected:
  Result<std::unique_ptr<Step>> Make(const std::string& extra = "") {
    auto node =
        YamlNode::LoadString("{database: us-east-db, source: eu-west-db, catch_up_timeout: 20s, " +
                                 ReplKeys() + extra + "}",
                             "actuator.yml");
    if (!node) return node.error();
    return NewDbRejoinStep(*node, fctx_);
  }
  StepOutcome Divergence() {
    auto node =
        YamlNode::LoadString("{old_primary: us-east-db, new_primary: eu-west-db}", "actuator.yml");
    auto step = NewDbDivergenceStep(*node, fctx_);
    EXPECT_TRUE(step) << step.error().message;
    return Run(**step);
  }
  void ExpectUnchangedPrimary() {
    Root old_primary(Primary());
    EXPECT_EQ(old_primary.One("SELECT @@global.read_only"), "0");
    EXPECT_EQ(old_primary.Q("SHOW SLAVE STATUS").size(), 0u);
  }
};

TEST_F(MariaDbRejoinTest, RejoinsCatchesUpAndASecondRunDoesNothing) {
  FailOver();
  ASSERT_EQ(AppInsert(*stack_, "MARIADB_REPLICA_ADDR", "new-1"), 0);
  ASSERT_EQ(Divergence().status, StepStatus::kOk);
  auto step = Make();
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome out = Run(**step);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_THAT(out.message, HasSubstr("rejoined"));
  EXPECT_TRUE(out.details.value("changed", false));
  EXPECT_THAT(Notes(Primary()), ElementsAre("new-1"));
  // Replication runs: a row written on the new primary appears on the old one, which
  // refuses the application's writes.
  ASSERT_EQ(AppInsert(*stack_, "MARIADB_REPLICA_ADDR", "new-2"), 0);
  EXPECT_TRUE(testing::WaitFor([&] { return Notes(Primary()).size() == 2; }));
  EXPECT_THAT(Notes(Primary()), ElementsAre("new-1", "new-2"));
  std::string err;
  EXPECT_NE(AppInsert(*stack_, "MARIADB_PRIMARY_ADDR", "must-fail"), 0);

  StepOutcome again = Run(**step);
  ASSERT_EQ(again.status, StepStatus::kOk) << again.message;
  EXPECT_THAT(again.message, HasSubstr("nothing to do"));
  EXPECT_FALSE(again.details.value("changed", true));
}

TEST_F(MariaDbRejoinTest, RefusesWithoutADivergenceReport) {
  FailOver();
  auto step = Make();
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome out = Run(**step);
  EXPECT_EQ(out.status, StepStatus::kFailed) << out.message;
  EXPECT_THAT(out.message, HasSubstr("no divergence report"));
  ExpectUnchangedPrimary();
  // require_report: false lets it go ahead.
  auto unchecked = Make(", require_report: false");
  ASSERT_TRUE(unchecked) << unchecked.error().message;
  EXPECT_EQ(Run(**unchecked).status, StepStatus::kOk);
}

TEST_F(MariaDbRejoinTest, ErrantRefuseRefusesNamingTheGtids) {
  FailOver();
  ASSERT_EQ(AppInsert(*stack_, "MARIADB_PRIMARY_ADDR", "lost-1"), 0);
  ASSERT_EQ(AppInsert(*stack_, "MARIADB_REPLICA_ADDR", "new-1"), 0);
  StepOutcome report = Divergence();
  ASSERT_EQ(report.status, StepStatus::kOk) << report.message;
  ASSERT_EQ(report.details["errant_gtids"].size(), 1u);
  std::string gtid = report.details["errant_gtids"][0];
  auto step = Make(", errant: refuse");
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome out = Run(**step);
  EXPECT_EQ(out.status, StepStatus::kFailed) << out.message;
  EXPECT_THAT(out.message, HasSubstr("refusing to rejoin"));
  EXPECT_THAT(out.message, HasSubstr(gtid));
  EXPECT_THAT(out.message, HasSubstr("errant: refuse"));
  ExpectUnchangedPrimary();
}

TEST_F(MariaDbRejoinTest, ErrantDiscardRejoinsAfterTheReportAndTheRowsStay) {
  ASSERT_EQ(AppInsert(*stack_, "MARIADB_PRIMARY_ADDR", "shared-1"), 0);
  WaitCaughtUp();
  FailOver();
  // An errant update (no key collides with the new primary's inserts).
  ASSERT_EQ(AppSql(*stack_, "MARIADB_PRIMARY_ADDR", "UPDATE orders SET note = 'errant-edit'"), 0);
  ASSERT_EQ(AppInsert(*stack_, "MARIADB_REPLICA_ADDR", "new-1"), 0);
  auto step = Make(", errant: discard");
  ASSERT_TRUE(step) << step.error().message;
  // Not before the report.
  EXPECT_EQ(Run(**step).status, StepStatus::kFailed);
  ASSERT_EQ(Divergence().status, StepStatus::kOk);
  StepOutcome out = Run(**step);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_THAT(out.message, HasSubstr("1 errant transaction(s) discarded"));
  EXPECT_THAT(out.message, HasSubstr("rows stay"));
  // It replicates the new primary's writes since the fork; the discarded edit stays.
  EXPECT_THAT(Notes(Primary()), ElementsAre("errant-edit", "new-1"));
  EXPECT_THAT(Notes(Replica()), ElementsAre("shared-1", "new-1"));
  ASSERT_EQ(AppInsert(*stack_, "MARIADB_REPLICA_ADDR", "new-2"), 0);
  EXPECT_TRUE(testing::WaitFor([&] { return Notes(Primary()).size() == 3; }));
}

}  // namespace
}  // namespace failover

namespace failover {
namespace {

// Bad configuration: located errors, nothing connects.
TEST(DbRejoinConfigTest, BadErrantValueAndSameSourceAreLocatedErrors) {
  auto node = YamlNode::LoadString(
      "{a: {mysql: {address: \"127.0.0.1:1\", user: u}}, b: {mysql: {address: \"127.0.0.1:2\", "
      "user: u}}}",
      "actuator.yml");
  auto dbs = LoadDatabases(*node);
  ASSERT_TRUE(dbs) << dbs.error().message;
  StepFactoryContext ctx;
  ctx.databases = &*dbs;
  auto bad = YamlNode::LoadString(
      "{database: a, source: b, replication_user: repl,\n errant: keep}", "actuator.yml");
  auto step = NewDbRejoinStep(*bad, ctx);
  ASSERT_FALSE(step);
  EXPECT_THAT(step.error().message, ::testing::HasSubstr("actuator.yml:2"));
  EXPECT_THAT(step.error().message, ::testing::HasSubstr("errant must be refuse or discard"));
  auto same = YamlNode::LoadString("{database: a, source: a, replication_user: repl}", "x.yml");
  auto step2 = NewDbRejoinStep(*same, ctx);
  ASSERT_FALSE(step2);
  EXPECT_THAT(step2.error().message, ::testing::HasSubstr("source must differ"));
  auto slow = YamlNode::LoadString(
      "{database: a, source: b, replication_user: repl, catch_up_timeout: 90s, timeout: 60s}",
      "x.yml");
  auto step3 = NewDbRejoinStep(*slow, ctx);
  ASSERT_FALSE(step3);
  EXPECT_THAT(step3.error().message,
              ::testing::HasSubstr("must be shorter than the step's timeout"));
}

}  // namespace
}  // namespace failover
