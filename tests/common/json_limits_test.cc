#include "common/json_limits.h"

#include <gtest/gtest.h>

#include <string>

namespace failover {
namespace {

TEST(JsonLimitsTest, DepthIsCountedOutsideStringsOnly) {
  EXPECT_TRUE(CheckJsonDepth("[[[1]]]", 3));
  auto deep = CheckJsonDepth("[[[[1]]]]", 3);
  ASSERT_FALSE(deep);
  EXPECT_EQ(deep.error().message,
            "body nests JSON deeper than 3 levels (the nesting limit), at byte 3");
  EXPECT_TRUE(CheckJsonDepth(R"({"a": "[[[[{{{{", "b": "\"[[[["})", 1));
  EXPECT_FALSE(CheckJsonDepth(R"({"a": "\\", "b": [[1]]})", 2));  // the string ended at \\"
  // Siblings do not add up.
  EXPECT_TRUE(CheckJsonDepth("[[1],[2],{\"a\":3},[[4]]]", 3));
}

TEST(JsonLimitsTest, ParseJsonBounded) {
  auto ok = ParseJsonBounded(R"({"a": [1, 2]})");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ((*ok)["a"][1], 2);
  EXPECT_EQ(ParseJsonBounded("{").error().message, "body is not valid JSON");
  auto deep = ParseJsonBounded(std::string(1 << 20, '['));
  ASSERT_FALSE(deep);
  EXPECT_NE(deep.error().message.find("deeper than 32 levels"), std::string::npos);
  ReleaseHeapAfterBigBody(1 << 20);  // returns; nothing to observe portably
}

}  // namespace
}  // namespace failover
