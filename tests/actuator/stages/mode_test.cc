// Stage "mode" (actuator/stages/mode.h): dry-run and approve.
#include "actuator/stages/mode.h"

#include <filesystem>

#include "tests/actuator/stages/stage_fixture.h"

namespace failover {
namespace {

class ModeTest : public StageTest {
 protected:
  void SetUp() override {
    StageTest::SetUp();
    marker_ = dir_.path() + "/touched";
    Load(R"(  - name: failover-us-east
    match: {region: us-east}
    mode: approve
    steps:
      - exec: {argv: [/usr/bin/touch, ")" +
         marker_ + R"("]}
      - exec: {argv: [/bin/echo, "{{labels.region}}"]}
    on_failure:
      - exec: {argv: [/usr/bin/touch, ")" +
         marker_ + R"("]}
)");
  }
  std::string marker_;
};

TEST_F(ModeTest, DryRunRendersEveryStepAndRunsNothing) {
  ExecutionRecord e = Queued("dry", "failover-us-east", ExecTrigger::kWebhook, ExecMode::kDryRun);
  RunDry(*engine_, e, Runbook("failover-us-east"), Vars(e));
  ExecutionRecord got = Get("dry");
  EXPECT_EQ(got.state, ExecState::kDryRun);
  EXPECT_EQ(got.message, "dry run: rendered 3 steps, changed nothing; no guards");
  auto steps = journal_->Steps("dry");
  ASSERT_TRUE(steps);
  ASSERT_EQ(steps->size(), 3u);
  for (const StepRecord& s : *steps) {
    EXPECT_EQ(s.state, "dry_run");
    EXPECT_EQ(s.message, "would run");
  }
  EXPECT_EQ((*steps)[1].rendered["argv"], (nlohmann::json{"/bin/echo", "us-east"}));
  EXPECT_FALSE(std::filesystem::exists(marker_)) << "a dry run ran a step";
}

TEST_F(ModeTest, ApproveWaitsForAHumanWithThePlanAndPages) {
  ExecutionRecord e = Queued("a1", "failover-us-east", ExecTrigger::kWebhook, ExecMode::kApprove);
  EXPECT_TRUE(WaitsForApproval(*engine_, e, Runbook("failover-us-east"), Vars(e)));
  ExecutionRecord got = Get("a1");
  EXPECT_EQ(got.state, ExecState::kPendingApproval);
  EXPECT_NE(EventsText("a1").find("approval_requested: plan: [{\"inputs\""), std::string::npos)
      << EventsText("a1");
  ASSERT_EQ(pd_.Events().size(), 1u);
  EXPECT_FALSE(std::filesystem::exists(marker_));

  // Approved, it goes on to its steps.
  e.approved = true;
  e.state = ExecState::kQueued;
  EXPECT_FALSE(WaitsForApproval(*engine_, e, Runbook("failover-us-east"), Vars(e)));
  ExecutionRecord autorun = Queued("auto1", "failover-us-east", ExecTrigger::kWebhook);
  EXPECT_FALSE(WaitsForApproval(*engine_, autorun, Runbook("failover-us-east"), Vars(autorun)));
}

TEST_F(ModeTest, ModesDecidedAtAcceptance) {
  const RunbookConfig& rb = Runbook("failover-us-east");
  EXPECT_EQ(AlertMode(rb, false), ExecMode::kApprove);
  EXPECT_EQ(AlertMode(rb, true), ExecMode::kDryRun) << "--dry-run";
  EXPECT_EQ(ApiMode(rb, false, false), ExecMode::kAuto) << "a human asked: no approval";
  EXPECT_EQ(ApiMode(rb, true, false), ExecMode::kDryRun);
  EXPECT_EQ(ApiMode(rb, false, true), ExecMode::kDryRun);
}

}  // namespace
}  // namespace failover
