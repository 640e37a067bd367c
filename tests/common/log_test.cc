#include "common/log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace failover {
namespace {

std::vector<std::string>* g_lines = nullptr;
void Capture(std::string_view line) { g_lines->emplace_back(line); }

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_lines = &lines_;
    log::SetSink(&Capture);
  }
  void TearDown() override {
    log::SetSink(nullptr);
    log::Configure(log::Level::kInfo, log::Format::kLogfmt);
    g_lines = nullptr;
  }
  std::vector<std::string> lines_;
};

TEST_F(LogTest, LogfmtQuotesWhatNeedsQuoting) {
  std::string line = log::Render(log::Format::kLogfmt, log::Level::kWarn, "probe failed",
                                 {{"probe", "us-east-web"}, {"detail", "said \"no\"\n"}, {"n", 3}});
  EXPECT_NE(line.find(" level=warn msg=\"probe failed\" probe=us-east-web "
                      "detail=\"said \\\"no\\\"\\n\" n=3"),
            std::string::npos)
      << line;
  EXPECT_EQ(line.rfind("ts=", 0), 0u);
}

TEST_F(LogTest, JsonIsOneParsableObject) {
  std::string line = log::Render(log::Format::kJson, log::Level::kInfo, "hello", {{"k", "v\"x"}});
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["msg"], "hello");
  EXPECT_EQ(j["k"], "v\"x");
  EXPECT_TRUE(j.contains("ts"));
}

TEST_F(LogTest, LevelFilters) {
  log::Configure(log::Level::kWarn, log::Format::kLogfmt);
  log::Info("hidden");
  log::Debug("hidden");
  log::Warn("shown");
  log::Error("shown too");
  ASSERT_EQ(lines_.size(), 2u);
  EXPECT_NE(lines_[0].find("msg=shown"), std::string::npos);
}

TEST_F(LogTest, ParsesFlags) {
  EXPECT_EQ(*log::ParseLevel("debug"), log::Level::kDebug);
  EXPECT_EQ(*log::ParseFormat("json"), log::Format::kJson);
  EXPECT_EQ(log::ParseLevel("verbose").error().message,
            "unknown log level \"verbose\" (one of: debug, info, warn, error)");
  EXPECT_FALSE(log::ParseFormat("text"));
}

}  // namespace
}  // namespace failover
