#include "common/config_fields.h"

#include <gtest/gtest.h>

namespace failover {
namespace {

YamlNode Load(const std::string& text) {
  auto n = YamlNode::LoadString(text, "cfg.yml");
  EXPECT_TRUE(n) << n.error().message;
  return *n;
}

TEST(ConfigFieldsTest, BaseUrlIsTrimmedAndOptional) {
  auto u = ParseBaseUrl(Load("url: http://127.0.0.1:8080/api//\n"), "url");
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(**u, "http://127.0.0.1:8080/api");
  auto absent = ParseBaseUrl(Load("other: 1\n"), "url");
  ASSERT_TRUE(absent);
  EXPECT_FALSE(*absent);
}

TEST(ConfigFieldsTest, BaseUrlRejectsOtherSchemesAndQueries) {
  for (const char* bad : {"ftp://x", "127.0.0.1:80", "https://x/?a=1", "https://x/#f"}) {
    auto u = ParseBaseUrl(Load(std::string("url: \"") + bad + "\"\n"), "url");
    ASSERT_FALSE(u) << bad;
    EXPECT_EQ(u.error().message,
              std::string("cfg.yml:1:6: url: expected an http:// or https:// base URL without "
                          "query, found \"") +
                  bad + "\"");
  }
}

TEST(ConfigFieldsTest, PositiveDurationHasBoundsAndAFallback) {
  const Duration max = std::chrono::minutes(5);
  auto d = ParsePositiveDuration(Load("poll_interval: 2s\n"), "poll_interval", max,
                                 std::chrono::seconds(9));
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, std::chrono::seconds(2));
  auto fallback =
      ParsePositiveDuration(Load("x: 1\n"), "poll_interval", max, std::chrono::seconds(9));
  ASSERT_TRUE(fallback);
  EXPECT_EQ(*fallback, std::chrono::seconds(9));
  for (const char* bad : {"0s", "6m"}) {
    auto r = ParsePositiveDuration(Load(std::string("poll_interval: ") + bad + "\n"),
                                   "poll_interval", max, std::chrono::seconds(9));
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().message,
              "cfg.yml:1:16: poll_interval: poll_interval must be greater than zero and at most "
              "5m");
  }
  EXPECT_FALSE(ParsePositiveDuration(Load("poll_interval: soon\n"), "poll_interval", max,
                                     std::chrono::seconds(9)));
}

}  // namespace
}  // namespace failover
