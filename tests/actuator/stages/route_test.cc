// Stage "route" (actuator/stages/route.h): which runbooks an alert triggers.
#include "actuator/stages/route.h"

#include "tests/actuator/stages/stage_fixture.h"

namespace failover {
namespace {

class RouteTest : public StageTest {};

std::vector<std::string> Names(const std::vector<const RunbookConfig*>& rbs) {
  std::vector<std::string> out;
  for (const RunbookConfig* rb : rbs) out.push_back(rb->name);
  return out;
}

TEST_F(RouteTest, EveryRunbookWhoseStatusAndMatchersHoldInConfigurationOrder) {
  Load(R"(  - name: failover-us-east
    match: {alertname: RegionDown, region: us-east}
    steps: [{wait: {duration: 1s}}]
  - name: notify-any-region
    match: {alertname: RegionDown, region: "=~.+"}
    steps: [{wait: {duration: 1s}}]
  - name: failback-us-east
    on: resolved
    match: {alertname: RegionDown, region: us-east}
    steps: [{wait: {duration: 1s}}]
)");
  Alert a;
  a.status = "firing";
  a.labels = {{"alertname", "RegionDown"}, {"region", "us-east"}};
  EXPECT_EQ(Names(Route(*config_, a)),
            (std::vector<std::string>{"failover-us-east", "notify-any-region"}));

  a.status = "resolved";
  EXPECT_EQ(Names(Route(*config_, a)), (std::vector<std::string>{"failback-us-east"}));

  a.status = "firing";
  a.labels["region"] = "eu-west";
  EXPECT_EQ(Names(Route(*config_, a)), (std::vector<std::string>{"notify-any-region"}));

  a.labels = {{"alertname", "DiskFull"}, {"region", "us-east"}};
  EXPECT_TRUE(Route(*config_, a).empty()) << "an alert no runbook matches is unmatched";
}

}  // namespace
}  // namespace failover
