#include "common/duration.h"

#include <gtest/gtest.h>

namespace failover {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(DurationTest, ParsesPrometheusNotation) {
  EXPECT_EQ(*ParseDuration("250ms"), milliseconds(250));
  EXPECT_EQ(*ParseDuration("10s"), seconds(10));
  EXPECT_EQ(*ParseDuration("1m"), minutes(1));
  EXPECT_EQ(*ParseDuration("1h30m"), minutes(90));
  EXPECT_EQ(*ParseDuration("2d"), hours(48));
  EXPECT_EQ(*ParseDuration("1w"), hours(24 * 7));
  EXPECT_EQ(*ParseDuration("1m30s500ms"), milliseconds(90500));
  EXPECT_EQ(*ParseDuration("0"), Duration(0));
  EXPECT_EQ(*ParseDuration("0s"), Duration(0));
}

TEST(DurationTest, RejectsWithAReason) {
  for (const char* bad : {"", "10", "s", "10x", "1.5s", "-1s", "1s1m", "1s1s", "10 s", "5sec"}) {
    auto d = ParseDuration(bad);
    ASSERT_FALSE(d) << bad;
    EXPECT_NE(d.error().message.find("invalid duration"), std::string::npos) << bad;
    EXPECT_NE(d.error().message.find(std::string("\"") + bad + "\""), std::string::npos);
  }
  EXPECT_NE(ParseDuration("10x").error().message.find("unknown unit \"x\""), std::string::npos);
  EXPECT_NE(ParseDuration("1s1m").error().message.find("largest to smallest"), std::string::npos);
}

TEST(DurationTest, RejectsOverflow) { EXPECT_FALSE(ParseDuration("999999999w")); }

TEST(DurationTest, FormatsShortestExactForm) {
  EXPECT_EQ(FormatDuration(milliseconds(250)), "250ms");
  EXPECT_EQ(FormatDuration(seconds(90)), "1m30s");
  EXPECT_EQ(FormatDuration(Duration(0)), "0s");
  EXPECT_EQ(FormatDuration(hours(49)), "2d1h");
  for (const char* s : {"1h30m", "250ms", "2d", "1w3d", "59m59s999ms"}) {
    EXPECT_EQ(FormatDuration(*ParseDuration(s)), s);
  }
}

}  // namespace
}  // namespace failover
