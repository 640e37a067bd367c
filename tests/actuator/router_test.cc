#include "actuator/router.h"

#include <gtest/gtest.h>

namespace failover {
namespace {

Matcher M(const std::string& label, const std::string& spec) {
  auto m = Matcher::Parse(label, spec);
  EXPECT_TRUE(m) << spec;
  return *m;
}

TEST(RouterTest, EqualityNegationAndRegex) {
  LabelSet us{{"alertname", "RegionDown"}, {"region", "us-east"}};
  LabelSet eu{{"alertname", "RegionDown"}, {"region", "eu-west"}};
  EXPECT_TRUE(M("region", "us-east").Matches(us));
  EXPECT_FALSE(M("region", "us-east").Matches(eu));
  EXPECT_TRUE(M("region", "=us-east").Matches(us));
  EXPECT_TRUE(M("region", "!=us-east").Matches(eu));
  EXPECT_FALSE(M("region", "!=us-east").Matches(us));
  EXPECT_TRUE(M("region", "=~us-.*").Matches(us));
  EXPECT_FALSE(M("region", "=~us-.*").Matches(eu));
  EXPECT_TRUE(M("region", "!~us-.*").Matches(eu));
}

TEST(RouterTest, RegexIsAnchoredLikeAlertmanager) {
  LabelSet l{{"region", "xus-eastx"}};
  EXPECT_FALSE(M("region", "=~us-east").Matches(l));
  EXPECT_TRUE(M("region", "=~.*us-east.*").Matches(l));
  EXPECT_FALSE(M("region", "=~us|eu").Matches(LabelSet{{"region", "usa"}}));
}

TEST(RouterTest, MissingLabelIsEmpty) {
  LabelSet none{{"alertname", "X"}};
  EXPECT_TRUE(M("team", "!=db").Matches(none));
  EXPECT_FALSE(M("team", "db").Matches(none));
  EXPECT_TRUE(M("team", "=~.*").Matches(none));
  EXPECT_TRUE(M("team", "").Matches(none));
}

TEST(RouterTest, AllMustMatch) {
  std::vector<Matcher> ms = {M("alertname", "RegionDown"), M("region", "us-east")};
  EXPECT_TRUE(MatchesAll(ms, {{"alertname", "RegionDown"}, {"region", "us-east"}}));
  EXPECT_FALSE(MatchesAll(ms, {{"alertname", "RegionDegraded"}, {"region", "us-east"}}));
}

TEST(RouterTest, BadRegexIsAnError) {
  auto m = Matcher::Parse("region", "=~(us");
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("invalid regular expression \"(us\""), std::string::npos);
  EXPECT_EQ(M("region", "=~us-.*").ToString(), "region=~\"us-.*\"");
}

}  // namespace
}  // namespace failover
