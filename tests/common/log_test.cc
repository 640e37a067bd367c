#include "common/log.h"

#include <gtest/gtest.h>

#include <cmath>
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

// Numbers and booleans are JSON numbers and booleans, so a log pipeline can compare and
// sum them (`duration_seconds > 1`) without parsing strings; strings stay strings, and a
// NaN (which JSON cannot write) stays a string too.
TEST_F(LogTest, JsonWritesNumbersAsNumbers) {
  size_t probes = 12;
  std::string line = log::Render(log::Format::kJson, log::Level::kInfo, "loaded",
                                 {{"probes", probes},
                                  {"port", 9807},
                                  {"duration_seconds", 0.25},
                                  {"ok", true},
                                  {"text", "42"},
                                  {"nan", std::nan("")}});
  auto j = nlohmann::json::parse(line);
  EXPECT_TRUE(j["probes"].is_number_integer()) << line;
  EXPECT_EQ(j["probes"], 12);
  EXPECT_EQ(j["port"], 9807);
  EXPECT_TRUE(j["duration_seconds"].is_number_float()) << line;
  EXPECT_DOUBLE_EQ(j["duration_seconds"].get<double>(), 0.25);
  EXPECT_TRUE(j["ok"].is_boolean()) << line;
  EXPECT_EQ(j["text"], "42");
  EXPECT_TRUE(j["nan"].is_string()) << line;
}

// ESC and BEL (and every other control character: C0, DEL, C1, bidi overrides, bytes
// that are not UTF-8) are escaped in both formats: a logged value cannot move the cursor,
// clear the screen, ring a bell or forge a line.
TEST_F(LogTest, EveryControlCharacterIsEscaped) {
  const std::string hostile = std::string(
                                  "a\x1b[2J\x07"
                                  "b\x7f\x01") +
                              "\xc2\x9b" + "\xe2\x80\xae" + "\xff\x9b" + "\r\nlevel=error";
  auto no_raw_controls = [](const std::string& line) {
    for (size_t i = 0; i < line.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(line[i]);
      if (c < 0x20 || c == 0x7f) return false;
      if (c == 0xc2 && i + 1 < line.size() &&
          (static_cast<unsigned char>(line[i + 1]) & 0xe0) == 0x80)
        return false;  // U+0080..U+009F
      if (c == 0xff || (c == 0x9b && (i == 0 || static_cast<unsigned char>(line[i - 1]) < 0x80)))
        return false;
    }
    return line.find("\xe2\x80\xae") == std::string::npos;
  };

  std::string logfmt =
      log::Render(log::Format::kLogfmt, log::Level::kInfo, hostile, {{"label", hostile}});
  EXPECT_TRUE(no_raw_controls(logfmt)) << logfmt;
  EXPECT_NE(logfmt.find("msg=\"a\\u001b[2J\\u0007b\\u007f\\u0001\\u009b\\u202e\\xff\\x9b\\r\\n"
                        "level=error\""),
            std::string::npos)
      << logfmt;

  std::string json =
      log::Render(log::Format::kJson, log::Level::kInfo, hostile, {{"label", hostile}});
  EXPECT_TRUE(no_raw_controls(json)) << json;
  auto j = nlohmann::json::parse(json);
  EXPECT_EQ(j["msg"],
            "a\x1b[2J\x07"
            "b\x7f\x01\xc2\x9b\xe2\x80\xae\xef\xbf\xbd\xef\xbf\xbd\r\nlevel=error");
  EXPECT_EQ(j["label"], j["msg"]);
  EXPECT_EQ(j["level"], "info");
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
