// Stage "cooldown" (actuator/stages/cooldown.h).
#include "actuator/stages/cooldown.h"

#include "tests/actuator/stages/stage_fixture.h"

namespace failover {
namespace {

class CooldownTest : public StageTest {
 protected:
  void SetUp() override {
    StageTest::SetUp();
    Load(R"(  - name: failover-us-east
    match: {region: us-east}
    cooldown: 30m
    steps: [{wait: {duration: 1s}}]
  - name: notify
    match: {region: us-east}
    cooldown: 0s
    steps: [{wait: {duration: 1s}}]
)");
  }
  ExecutionRecord Candidate(const std::string& id, const std::string& runbook,
                            ExecMode mode = ExecMode::kAuto) {
    ExecutionRecord e;
    e.id = id;
    e.runbook = runbook;
    e.mode = mode;
    e.created_at = engine_->Now();
    return e;
  }
};

TEST_F(CooldownTest, SuppressesASecondExecutionWithinTheWindowAndNamesTheBlocker) {
  ExecutionRecord first = Queued("first", "failover-us-east");
  first.state = ExecState::kSucceeded;
  ASSERT_TRUE(journal_->Update(first));
  clock_.Advance(std::chrono::minutes(10));

  Cooldown cooldown(*journal_);
  cooldown.BeginWebhook();
  ExecutionRecord second = Candidate("second", "failover-us-east");
  auto blocker = cooldown.Blocker(Runbook("failover-us-east"), second, engine_->Now());
  ASSERT_TRUE(blocker) << blocker.error().message;
  EXPECT_EQ(*blocker, "first");
  Cooldown::Suppress(second, Runbook("failover-us-east"), *blocker, engine_->Now());
  EXPECT_EQ(second.state, ExecState::kSuppressed);
  EXPECT_EQ(second.message, "within the cooldown of 30m after execution first; not run");
  EXPECT_EQ(second.finished_at, engine_->Now());

  // After the window, a new alert acts again.
  clock_.Advance(std::chrono::minutes(21));
  Cooldown later(*journal_);
  later.BeginWebhook();
  auto none = later.Blocker(Runbook("failover-us-east"), Candidate("third", "failover-us-east"),
                            engine_->Now());
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, "");
}

TEST_F(CooldownTest, DryRunsNeitherBlockNorAreBlocked) {
  ExecutionRecord dry = Queued("dry", "failover-us-east", ExecTrigger::kWebhook, ExecMode::kDryRun);
  Cooldown cooldown(*journal_);
  cooldown.BeginWebhook();
  const RunbookConfig& rb = Runbook("failover-us-east");
  auto real = cooldown.Blocker(rb, Candidate("real", rb.name), engine_->Now());
  ASSERT_TRUE(real);
  EXPECT_EQ(*real, "") << "a dry run does not start the cooldown";

  Queued("ran", rb.name);
  auto dry_again =
      cooldown.Blocker(rb, Candidate("dry2", rb.name, ExecMode::kDryRun), engine_->Now());
  ASSERT_TRUE(dry_again);
  EXPECT_EQ(*dry_again, "") << "a dry run is not subject to the cooldown";
}

TEST_F(CooldownTest, WithinAGroupCommitWhatEarlierWebhooksQueuedBlocks) {
  Cooldown cooldown(*journal_);
  const RunbookConfig& rb = Runbook("failover-us-east");
  const RunbookConfig& notify = Runbook("notify");
  cooldown.BeginWebhook();
  ExecutionRecord a = Candidate("a", rb.name);
  ASSERT_EQ(*cooldown.Blocker(rb, a, engine_->Now()), "");
  cooldown.Queued(rb, a);
  ExecutionRecord n = Candidate("n", notify.name);
  ASSERT_EQ(*cooldown.Blocker(notify, n, engine_->Now()), "");
  cooldown.Queued(notify, n);
  // The same webhook's second alert for a runbook: one execution per runbook and webhook,
  // cooldown or not.
  EXPECT_EQ(*cooldown.Blocker(notify, Candidate("n2", notify.name), engine_->Now()), "n");
  cooldown.EndWebhook();

  // The next webhook of the group: nothing is in the journal yet, the cooldown holds.
  cooldown.BeginWebhook();
  EXPECT_EQ(*cooldown.Blocker(rb, Candidate("b", rb.name), engine_->Now()), "a");
  EXPECT_EQ(*cooldown.Blocker(notify, Candidate("n3", notify.name), engine_->Now()), "")
      << "without a cooldown, another webhook's alert runs";
}

}  // namespace
}  // namespace failover
