// Stage "hold/brake" (actuator/stages/hold.h).
#include "actuator/stages/hold.h"

#include "tests/actuator/stages/stage_fixture.h"

namespace failover {
namespace {

class HoldTest : public StageTest {
 protected:
  void SetUp() override {
    StageTest::SetUp();
    Load(R"(  - name: failover-us-east
    match: {region: us-east}
    steps: [{exec: {argv: [/bin/true]}}]
)",
         "brake: {max_executions: 1, window: 1h}\n");
  }
};

TEST_F(HoldTest, AHoldRefusesAlertRunsWithTheHoldsReasonAndPages) {
  ASSERT_TRUE(engine_->SetHold("alice", "database maintenance until 14:00"));
  ExecutionRecord e = Queued("e1", "failover-us-east");
  EXPECT_FALSE(PassHoldAndBrake(*engine_, e, Runbook("failover-us-east")));
  ExecutionRecord got = Get("e1");
  EXPECT_EQ(got.state, ExecState::kHeld);
  EXPECT_EQ(got.message.rfind(
                "automation is on hold (by alice: database maintenance until 14:00); not run.", 0),
            0u)
      << got.message;
  ASSERT_EQ(pd_.Events().size(), 1u);
  EXPECT_EQ(pd_.Events()[0].body["dedup_key"], "failover/e1");

  // A run a human asked for passes the hold.
  ExecutionRecord api = Queued("api1", "failover-us-east", ExecTrigger::kApi);
  EXPECT_TRUE(PassHoldAndBrake(*engine_, api, Runbook("failover-us-east")));
  EXPECT_EQ(Get("api1").state, ExecState::kQueued);
}

TEST_F(HoldTest, TheBrakePutsTheHoldOnWhenTooManyAutomaticExecutionsRan) {
  ExecutionRecord ran = Queued("ran", "failover-us-east");
  ran.state = ExecState::kSucceeded;
  ASSERT_TRUE(journal_->Update(ran));
  ExecutionRecord e = Queued("e2", "failover-us-east");
  EXPECT_FALSE(PassHoldAndBrake(*engine_, e, Runbook("failover-us-east")));
  ExecutionRecord got = Get("e2");
  EXPECT_EQ(got.state, ExecState::kHeld);
  EXPECT_NE(got.message.find("the brake put automation on hold: brake engaged: 1 automatic "
                             "execution(s) in the last 1h (max 1)"),
            std::string::npos)
      << got.message;
  auto hold = engine_->Hold();
  ASSERT_TRUE(hold);
  EXPECT_TRUE(hold->held);
  EXPECT_EQ(hold->by, "brake");
}

TEST_F(HoldTest, NoHoldNoBrakeGoesOn) {
  ExecutionRecord e = Queued("e3", "failover-us-east");
  EXPECT_TRUE(PassHoldAndBrake(*engine_, e, Runbook("failover-us-east")));
  EXPECT_EQ(Get("e3").state, ExecState::kQueued);
  EXPECT_TRUE(pd_.Events().empty());
}

}  // namespace
}  // namespace failover
