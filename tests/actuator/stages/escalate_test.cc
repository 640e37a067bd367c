// Stage "escalate" (actuator/stages/escalate.h).
#include "actuator/stages/escalate.h"

#include "tests/actuator/stages/stage_fixture.h"

namespace failover {
namespace {

class EscalateTest : public StageTest {
 protected:
  static constexpr const char* kRunbooks = R"(  - name: failover-us-east
    match: {region: us-east}
    steps: [{exec: {argv: [/bin/true]}}]
)";
};

TEST_F(EscalateTest, PagesWithTheExecutionsKeyAndRecordsIt) {
  Load(kRunbooks, "external_url: https://failover.example.com\n");
  ExecutionRecord e = Queued("x1", "failover-us-east");
  e.state = ExecState::kFailed;
  e.message = "step 1 (exec) failed";
  Escalate(*engine_, e, "failover runbook failover-us-east failed: step 1 (exec) failed");
  auto events = pd_.Events();
  ASSERT_EQ(events.size(), 1u);
  const nlohmann::json& body = events[0].body;
  EXPECT_EQ(body["dedup_key"], "failover/x1");
  EXPECT_EQ(body["payload"]["summary"],
            "failover runbook failover-us-east failed: step 1 (exec) failed");
  EXPECT_EQ(body["payload"]["class"], "failed");
  EXPECT_NE(body.dump().find("https://failover.example.com/executions/x1"), std::string::npos);
  EXPECT_NE(EventsText("x1").find("escalated: paged PagerDuty: failover runbook"),
            std::string::npos);
}

TEST_F(EscalateTest, WithoutPagerDutyTheJournalSaysNobodyWasPaged) {
  Load(kRunbooks, "", /*with_pagerduty=*/false);
  ExecutionRecord e = Queued("x2", "failover-us-east");
  Escalate(*engine_, e, "anything");
  EXPECT_NE(
      EventsText("x2").find("escalation_failed: PagerDuty is not configured; nobody was paged"),
      std::string::npos)
      << EventsText("x2");
  EXPECT_EQ(pd_.RequestCount(), 0);
}

}  // namespace
}  // namespace failover
