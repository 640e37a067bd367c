#include "common/time_format.h"

#include <gtest/gtest.h>

namespace failover {
namespace {

TEST(TimeFormatTest, Rfc3339ByDefaultAndASpaceForPages) {
  // 2026-12-06 10:02:19 UTC; fractions are cut, not rounded.
  EXPECT_EQ(FormatUtc(1796551339.9), "2026-12-06T10:02:19Z");
  EXPECT_EQ(FormatUtc(1796551339.0, ' '), "2026-12-06 10:02:19Z");
  EXPECT_EQ(FormatUtc(0), "1970-01-01T00:00:00Z");
}

}  // namespace
}  // namespace failover
