#include <gtest/gtest.h>

#include "common/html.h"

namespace failover {
namespace {

// The status pages of both daemons (actuator/console.cc, exporter/landing_page.cc) refresh
// their element with id "live" with this script.
TEST(LiveRefreshScriptTest, RefreshesTheLiveElementAtTheInterval) {
  std::string js = LiveRefreshScript(5000, /*stamp=*/false);
  EXPECT_EQ(js.rfind("<script>", 0), 0u);
  EXPECT_NE(js.find("getElementById('live')"), std::string::npos);
  EXPECT_NE(js.find("if(document.hidden)return;"), std::string::npos);
  EXPECT_NE(js.find("},5000)})();</script>"), std::string::npos);
  EXPECT_EQ(js.find("refreshed"), std::string::npos);
}

TEST(LiveRefreshScriptTest, StampsTheRefreshTimeOnlyWhenAsked) {
  std::string js = LiveRefreshScript(3000, /*stamp=*/true);
  EXPECT_NE(js.find("getElementById('refreshed')"), std::string::npos);
  EXPECT_NE(js.find("},3000)})();</script>"), std::string::npos);
}

}  // namespace
}  // namespace failover
