// Stage "run steps" (actuator/stages/run_steps.h).
#include "actuator/stages/run_steps.h"

#include <filesystem>

#include "tests/actuator/stages/stage_fixture.h"

namespace failover {
namespace {

class RunStepsTest : public StageTest {
 protected:
  void SetUp() override {
    StageTest::SetUp();
    first_ = dir_.path() + "/first";
    cleanup_ = dir_.path() + "/cleanup";
    Load(R"(  - name: ok
    match: {region: us-east}
    steps:
      - exec: {argv: [/usr/bin/touch, ")" +
         first_ + R"("]}
      - exec: {argv: [/bin/true]}
  - name: broken
    match: {region: us-east}
    steps:
      - exec: {argv: [/bin/false]}
      - exec: {argv: [/usr/bin/touch, ")" +
         first_ + R"("]}
    on_failure:
      - exec: {argv: [/usr/bin/touch, ")" +
         cleanup_ + R"("]}
)");
  }
  std::string first_, cleanup_;
};

TEST_F(RunStepsTest, AllStepsSucceed) {
  ExecutionRecord e = Queued("r1", "ok");
  ASSERT_TRUE(StartRunning(*engine_, e, Runbook("ok")));
  EXPECT_EQ(Get("r1").state, ExecState::kRunning) << "running is recorded before any step";
  RunSteps(*engine_, e, Runbook("ok"), Vars(e));
  ExecutionRecord got = Get("r1");
  EXPECT_EQ(got.state, ExecState::kSucceeded);
  EXPECT_EQ(got.message, "all 2 steps succeeded");
  EXPECT_TRUE(std::filesystem::exists(first_));
  auto steps = journal_->Steps("r1");
  ASSERT_TRUE(steps && steps->size() == 2u);
  EXPECT_EQ((*steps)[0].state, "ok");
  EXPECT_EQ((*steps)[1].state, "ok");
  EXPECT_TRUE(pd_.Events().empty());
}

TEST_F(RunStepsTest, AFailedStepRunsOnFailureEndsFailedAndPages) {
  ExecutionRecord e = Queued("r2", "broken");
  ASSERT_TRUE(StartRunning(*engine_, e, Runbook("broken")));
  RunSteps(*engine_, e, Runbook("broken"), Vars(e));
  ExecutionRecord got = Get("r2");
  EXPECT_EQ(got.state, ExecState::kFailed);
  EXPECT_EQ(got.message.rfind("step 1 (exec) failed: /bin/false exited with status 1", 0), 0u)
      << got.message;
  EXPECT_FALSE(std::filesystem::exists(first_)) << "the step after the failed one ran";
  EXPECT_TRUE(std::filesystem::exists(cleanup_)) << "on_failure did not run";
  ASSERT_EQ(pd_.Events().size(), 1u);
}

TEST_F(RunStepsTest, ACancelStopsBeforeTheNextStep) {
  ExecutionRecord e = Queued("r3", "ok");
  ASSERT_TRUE(StartRunning(*engine_, e, Runbook("ok")));
  ASSERT_TRUE(engine_->Cancel("r3", "bob", "wrong region"));
  RunSteps(*engine_, e, Runbook("ok"), Vars(e));
  ExecutionRecord got = Get("r3");
  EXPECT_EQ(got.state, ExecState::kCancelled);
  EXPECT_EQ(got.message, "cancelled by bob: wrong region before step 1 of 2");
  EXPECT_FALSE(std::filesystem::exists(first_));
}

TEST(StepLabelTest, NamesThePhaseTheNumberAndTheKind) {
  EXPECT_EQ(StepLabel(ExecPhase::kMain, 1, "dns_update"), "step 2 (dns_update)");
  EXPECT_EQ(StepLabel(ExecPhase::kOnFailure, 0, "pagerduty"), "on_failure step 1 (pagerduty)");
}

}  // namespace
}  // namespace failover
