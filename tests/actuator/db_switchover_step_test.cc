// db_switchover against the real MariaDB pair of scripts/stack: a target that never
// catches up aborts the switchover and leaves the primary writable; a successful one
// loses nothing and re-points the old primary.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "actuator/steps/db_switchover.h"
#include "tests/actuator/mariadb_pair.h"

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

}  // namespace
}  // namespace failover
