// The wait step on a fake clock (no real sleeping) and briefly on the real one.
#include <gtest/gtest.h>

#include "actuator/steps/wait.h"
#include "tests/actuator/step_test_util.h"
#include "tests/support/fake_clock.h"

namespace failover {
namespace {

using testing::FakeClock;

Result<std::unique_ptr<Step>> Load(const std::string& body) {
  return testing::LoadListedStep("wait", body, &NewWaitStep);
}

TEST(WaitStepTest, WaitsTheDuration) {
  auto step = Load("{duration: 30s}");
  ASSERT_TRUE(step) << step.error().message;
  EXPECT_EQ((*step)->kind(), "wait");
  // Room for the duration when no timeout is given.
  EXPECT_GE((*step)->common().timeout, std::chrono::seconds(30));
  FakeClock clock;
  TemplateVars vars;
  StepContext ctx;
  ctx.vars = &vars;
  ctx.clock = &clock;
  MonoTime start = clock.Now();
  ctx.deadline = start + (*step)->common().timeout;
  StepOutcome o = (*step)->Run(ctx);
  EXPECT_EQ(o.status, StepStatus::kOk) << o.message;
  EXPECT_EQ(clock.Now() - start, std::chrono::seconds(30));
  auto r = (*step)->Render(vars);
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["duration"], "30s");
}

TEST(WaitStepTest, NeverPassesTheDeadline) {
  auto step = Load("{duration: 10m, timeout: 1h}");
  ASSERT_TRUE(step) << step.error().message;
  FakeClock clock;
  StepContext ctx;
  ctx.clock = &clock;
  MonoTime start = clock.Now();
  ctx.deadline = start + std::chrono::seconds(45);
  StepOutcome o = (*step)->Run(ctx);
  EXPECT_EQ(o.status, StepStatus::kRetryable) << o.message;
  EXPECT_EQ(clock.Now(), ctx.deadline);
  EXPECT_NE(o.message.find("deadline"), std::string::npos) << o.message;
}

TEST(WaitStepTest, StopsWhenCancelled) {
  auto step = Load("{duration: 1h}");
  ASSERT_TRUE(step);
  FakeClock clock;
  StepContext ctx;
  ctx.clock = &clock;
  MonoTime start = clock.Now();
  ctx.deadline = start + (*step)->common().timeout;
  ctx.cancelled = [&] { return clock.Now() - start >= std::chrono::seconds(5); };
  StepOutcome o = (*step)->Run(ctx);
  EXPECT_EQ(o.status, StepStatus::kRetryable);
  EXPECT_NE(o.message.find("cancelled"), std::string::npos) << o.message;
  EXPECT_LT(clock.Now() - start, std::chrono::seconds(6));
}

TEST(WaitStepTest, RealClockShortWait) {
  auto step = Load("{duration: 50ms}");
  ASSERT_TRUE(step);
  StepContext ctx;
  ctx.clock = &SystemClock::Get();
  MonoTime start = ctx.clock->Now();
  ctx.deadline = start + (*step)->common().timeout;
  StepOutcome o = (*step)->Run(ctx);
  EXPECT_EQ(o.status, StepStatus::kOk) << o.message;
  EXPECT_GE(ctx.clock->Now() - start, std::chrono::milliseconds(50));
}

TEST(WaitStepTest, LocatedConfigErrors) {
  struct Case {
    std::string body;
    std::string want;
  };
  for (const Case& c : std::vector<Case>{
           {"{}", "steps[0].wait: missing required key \"duration\""},
           {"{duration: soon}", "steps[0].wait.duration: "},
           {"{duration: 0s}", "steps[0].wait.duration: duration must be greater than zero"},
           {"{duration: 5m, timeout: 1m}", "steps[0].wait.timeout: timeout 1m is shorter than"},
           {"{duration: 5s, until: x}", "steps[0].wait.until: unknown key"},
       }) {
    testing::ExpectListedStepRefused(Load(c.body), c.body, c.want);
  }
}

}  // namespace
}  // namespace failover
