// Stage "guards" (actuator/stages/guards.h).
#include "actuator/stages/guards.h"

#include "tests/actuator/stages/stage_fixture.h"

namespace failover {
namespace {

class GuardsTest : public StageTest {
 protected:
  void SetUp() override {
    StageTest::SetUp();
    Load(R"(  - name: failover-us-east
    match: {region: us-east}
    guards:
      - promql: 'min(failover_probe_success{region="eu-west"}) == 1'
        message: DR region must be healthy
    steps: [{exec: {argv: [/bin/true]}}]
)");
  }
};

TEST_F(GuardsTest, ATrueGuardPassesAndIsRecorded) {
  ExecutionRecord e = Queued("g1", "failover-us-east");
  EXPECT_TRUE(PassGuards(*engine_, e, Runbook("failover-us-east"), false));
  EXPECT_EQ(Get("g1").state, ExecState::kQueued);
  EXPECT_NE(EventsText("g1").find("guard: true: `min(failover_probe_success"), std::string::npos)
      << EventsText("g1");
}

TEST_F(GuardsTest, AFalseGuardRefusesWithItsMessageAndPages) {
  prom_.AnswerEmpty();
  ExecutionRecord e = Queued("g2", "failover-us-east");
  EXPECT_FALSE(PassGuards(*engine_, e, Runbook("failover-us-east"), false));
  ExecutionRecord got = Get("g2");
  EXPECT_EQ(got.state, ExecState::kRefused);
  EXPECT_EQ(got.message.rfind("DR region must be healthy: guard `", 0), 0u) << got.message;
  ASSERT_EQ(pd_.Events().size(), 1u);
  EXPECT_NE(pd_.Events()[0].body["payload"]["summary"].get<std::string>().find("refused to act"),
            std::string::npos);
}

TEST_F(GuardsTest, PrometheusDownRefusesAndADryRunOnlyNotesIt) {
  prom_.Stop();
  ExecutionRecord dry = Queued("g3", "failover-us-east");
  EXPECT_FALSE(PassGuards(*engine_, dry, Runbook("failover-us-east"), /*record_only=*/true));
  EXPECT_EQ(dry.message.rfind("would refuse: DR region must be healthy: cannot evaluate", 0), 0u)
      << dry.message;
  EXPECT_EQ(Get("g3").state, ExecState::kQueued) << "record_only finishes nothing";
  EXPECT_TRUE(pd_.Events().empty());

  ExecutionRecord e = Queued("g4", "failover-us-east");
  EXPECT_FALSE(PassGuards(*engine_, e, Runbook("failover-us-east"), false));
  EXPECT_EQ(Get("g4").state, ExecState::kRefused);
  EXPECT_NE(Get("g4").message.find("not acting"), std::string::npos);
}

}  // namespace
}  // namespace failover
