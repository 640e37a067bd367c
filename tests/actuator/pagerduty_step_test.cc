// The pagerduty step through the real client against the local fake of Events API v2.
#include <gtest/gtest.h>

#include "actuator/pagerduty.h"
#include "actuator/steps/pagerduty.h"
#include "tests/actuator/step_test_util.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_pagerduty.h"

namespace failover {
namespace {

using testing::FakeClock;
using testing::FakePagerDuty;

Result<std::unique_ptr<Step>> Load(const std::string& body, bool have_pagerduty = true) {
  StepFactoryContext ctx;
  ctx.have_pagerduty = have_pagerduty;
  return testing::LoadListedStep("pagerduty", body, &NewPagerDutyStep, ctx);
}

class PagerDutyStepTest : public ::testing::Test {
 protected:
  void SetUp() override {
    vars_.labels = {{"alertname", "RegionDown"}, {"region", "us-east"}};
    vars_.runbook = "failover-us-east";
    vars_.execution_id = "exec-99";
  }
  StepOutcome Run(Step& step) {
    return testing::RunStep(step, clock_, &vars_, nullptr,
                            [&](StepContext& c) { c.pagerduty = &client_; });
  }
  std::unique_ptr<Step> MustLoad(const std::string& body) {
    auto s = Load(body);
    EXPECT_TRUE(s) << s.error().message;
    return s ? std::move(*s) : nullptr;
  }

  FakePagerDuty pd_;
  CurlHttpClient http_;
  FakeClock clock_;
  PagerDutyClient client_{http_, clock_, pd_.url(), SecretRef::Inline(FakePagerDuty::kRoutingKey)};
  TemplateVars vars_;
};

TEST_F(PagerDutyStepTest, TriggerWithTemplates) {
  auto step = MustLoad(
      "{action: trigger, severity: info, summary: \"Failed over {{labels.region}} to eu-west\"}");
  ASSERT_TRUE(step);
  EXPECT_EQ(step->kind(), "pagerduty");
  StepOutcome o = Run(*step);
  ASSERT_EQ(o.status, StepStatus::kOk) << o.message;
  auto events = pd_.Events();
  ASSERT_EQ(events.size(), 1u);
  const auto& b = events[0].body;
  EXPECT_EQ(b["event_action"], "trigger");
  EXPECT_EQ(b["dedup_key"], "failover/exec-99");
  EXPECT_EQ(b["payload"]["summary"], "Failed over us-east to eu-west");
  EXPECT_EQ(b["payload"]["severity"], "info");
  EXPECT_EQ(b["payload"]["custom_details"]["labels"]["region"], "us-east");
  EXPECT_EQ(b["payload"]["custom_details"]["runbook"], "failover-us-east");
  EXPECT_EQ(b["payload"]["custom_details"]["execution_id"], "exec-99");
  EXPECT_NE(o.message.find("failover/exec-99"), std::string::npos) << o.message;

  auto r = step->Render(vars_);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ((*r)["summary"], "Failed over us-east to eu-west");
  EXPECT_EQ((*r)["dedup_key"], "failover/exec-99");
  EXPECT_EQ(r->dump().find(FakePagerDuty::kRoutingKey), std::string::npos);
}

TEST_F(PagerDutyStepTest, DefaultsNeverFailOnMissingAnnotations) {
  auto step = MustLoad("{severity: critical}");
  ASSERT_TRUE(step);
  ASSERT_EQ(Run(*step).status, StepStatus::kOk);
  auto b = pd_.Events().back().body;
  EXPECT_EQ(b["payload"]["summary"], "failover runbook failover-us-east (execution exec-99)");
  EXPECT_EQ(b["payload"]["severity"], "critical");
  EXPECT_EQ(b["dedup_key"], "failover/exec-99");

  vars_.annotations["summary"] = "us-east is down";
  ASSERT_EQ(Run(*step).status, StepStatus::kOk);
  EXPECT_EQ(pd_.Events().back().body["payload"]["summary"],
            "failover runbook failover-us-east (execution exec-99): us-east is down");
}

TEST_F(PagerDutyStepTest, FollowUpsHitTheSameIncident) {
  auto trigger = MustLoad("{action: trigger}");
  auto ack = MustLoad("{action: acknowledge}");
  auto resolve = MustLoad("{action: resolve}");
  ASSERT_TRUE(trigger && ack && resolve);
  ASSERT_EQ(Run(*trigger).status, StepStatus::kOk);
  ASSERT_EQ(Run(*ack).status, StepStatus::kOk);
  EXPECT_EQ(pd_.AlertStatus("failover/exec-99"), "acknowledged");
  ASSERT_EQ(Run(*resolve).status, StepStatus::kOk);
  EXPECT_EQ(pd_.AlertStatus("failover/exec-99"), "resolved");
  EXPECT_EQ(pd_.AlertsOpened(), 1);
  for (const auto& e : pd_.Events()) EXPECT_FALSE(e.dropped);
}

TEST_F(PagerDutyStepTest, CustomDedupKeyAndDetails) {
  auto step = MustLoad(
      "{dedup_key: \"region-{{labels.region}}\", component: dns, group: \"{{runbook}}\", "
      "class: failover, source: actuator-1, custom_details: {note: \"moved {{labels.region}}\"}}");
  ASSERT_TRUE(step);
  ASSERT_EQ(Run(*step).status, StepStatus::kOk);
  auto b = pd_.Events().back().body;
  EXPECT_EQ(b["dedup_key"], "region-us-east");
  EXPECT_EQ(b["payload"]["component"], "dns");
  EXPECT_EQ(b["payload"]["group"], "failover-us-east");
  EXPECT_EQ(b["payload"]["class"], "failover");
  EXPECT_EQ(b["payload"]["source"], "actuator-1");
  EXPECT_EQ(b["payload"]["custom_details"]["note"], "moved us-east");
}

// What the journal and dry-run show: every key of a trigger, only action and dedup_key of a
// follow-up (its other keys are not sent).
TEST_F(PagerDutyStepTest, RendersEveryKey) {
  auto step = MustLoad(
      "{severity: warning, summary: \"{{labels.region}} moved\", dedup_key: "
      "\"r-{{labels.region}}\", "
      "source: actuator-1, component: dns, group: \"{{runbook}}\", class: failover, "
      "custom_details: {note: \"moved {{labels.region}}\"}}");
  ASSERT_TRUE(step);
  auto r = step->Render(vars_);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, nlohmann::json({{"action", "trigger"},
                                {"dedup_key", "r-us-east"},
                                {"severity", "warning"},
                                {"summary", "us-east moved"},
                                {"source", "actuator-1"},
                                {"component", "dns"},
                                {"group", "failover-us-east"},
                                {"class", "failover"},
                                {"custom_details",
                                 {{"runbook", "failover-us-east"},
                                  {"execution_id", "exec-99"},
                                  {"labels", {{"alertname", "RegionDown"}, {"region", "us-east"}}},
                                  {"note", "moved us-east"}}}}));

  auto ack = MustLoad("{action: acknowledge, severity: info, summary: ignored}");
  ASSERT_TRUE(ack);
  r = ack->Render(vars_);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, nlohmann::json({{"action", "acknowledge"}, {"dedup_key", "failover/exec-99"}}));
}

TEST_F(PagerDutyStepTest, ThrottlingIsRetriedWithinTheStep) {
  pd_.FailNext(2, 429);
  auto step = MustLoad("{severity: warning}");
  ASSERT_TRUE(step);
  StepOutcome o = Run(*step);
  EXPECT_EQ(o.status, StepStatus::kOk) << o.message;
  EXPECT_EQ(pd_.RequestCount(), 3);
}

TEST_F(PagerDutyStepTest, OutageIsRetryable) {
  pd_.FailNext(1000, 503);
  auto step = MustLoad("{severity: warning, timeout: 10s}");
  ASSERT_TRUE(step);
  StepOutcome o = Run(*step);
  EXPECT_EQ(o.status, StepStatus::kRetryable) << o.message;
  EXPECT_EQ(o.message.find(FakePagerDuty::kRoutingKey), std::string::npos);
}

TEST_F(PagerDutyStepTest, RejectionFails) {
  PagerDutyClient bad_key(http_, clock_, pd_.url(), SecretRef::Inline("too-short"));
  auto step = MustLoad("{severity: info}");
  ASSERT_TRUE(step);
  StepContext ctx;
  ctx.vars = &vars_;
  ctx.clock = &clock_;
  ctx.deadline = clock_.Now() + std::chrono::seconds(30);
  ctx.pagerduty = &bad_key;
  StepOutcome o = step->Run(ctx);
  EXPECT_EQ(o.status, StepStatus::kFailed) << o.message;
  EXPECT_NE(o.message.find("Event object is invalid"), std::string::npos) << o.message;
  EXPECT_EQ(o.message.find("too-short"), std::string::npos) << o.message;
  EXPECT_EQ(pd_.RequestCount(), 1);
}

TEST_F(PagerDutyStepTest, MissingLabelInSummaryFails) {
  auto step = MustLoad("{summary: \"{{labels.datacenter}} down\"}");
  ASSERT_TRUE(step);
  StepOutcome o = Run(*step);
  EXPECT_EQ(o.status, StepStatus::kFailed);
  EXPECT_NE(o.message.find("datacenter"), std::string::npos) << o.message;
  EXPECT_EQ(pd_.RequestCount(), 0);
}

TEST(PagerDutyStepConfigTest, LocatedErrors) {
  struct Case {
    std::string body;
    bool have_pagerduty;
    std::string want;
  };
  for (const Case& c : std::vector<Case>{
           {"{action: trigger}", false,
            "steps[0].pagerduty: the pagerduty step needs a pagerduty section"},
           {"{action: escalate}", true, "steps[0].pagerduty.action: action must be trigger"},
           {"{severity: fatal}", true, "steps[0].pagerduty.severity: severity must be"},
           {"{summary: \"{{label.region}}\"}", true, "steps[0].pagerduty.summary: "},
           {"{routing_key: abc}", true, "steps[0].pagerduty.routing_key: unknown key"},
           {"{custom_details: {labels: x}}", true, "steps[0].pagerduty.custom_details.labels: "},
           {"{custom_details: [a]}", true, "steps[0].pagerduty.custom_details: expected a mapping"},
           {"{custom_details: {note: [a]}}", true,
            "steps[0].pagerduty.custom_details.note: expected a string"},
           {"{component: {a: b}}", true, "steps[0].pagerduty.component: expected a string"},
           {"{class: \"{{nope}}\"}", true, "steps[0].pagerduty.class: "},
           {"{dedup_key: \"{{labels\"}", true, "steps[0].pagerduty.dedup_key: "},
           {"{action: [trigger]}", true, "steps[0].pagerduty.action: expected a string"},
       }) {
    testing::ExpectListedStepRefused(Load(c.body, c.have_pagerduty), c.body, c.want);
  }
}

}  // namespace
}  // namespace failover
