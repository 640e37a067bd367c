#include "exporter/config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "tests/support/temp_dir.h"

namespace failover {
namespace {

const std::string kTestdata = std::string(FAILOVER_SOURCE_DIR) + "/tests/exporter/testdata";

class ConfigTest : public ::testing::Test {
 protected:
  ConfigTest() { RegisterBuiltinProbers(registry_); }
  ProberRegistry registry_;
};

TEST_F(ConfigTest, LoadsTheDocumentedShape) {
  auto cfg = LoadExporterConfigFile(kTestdata + "/good.yml", registry_);
  ASSERT_TRUE(cfg) << cfg.error().message;
  ASSERT_EQ(cfg->probes.size(), 5u);
  ASSERT_EQ(cfg->regions.size(), 2u);
  EXPECT_EQ(cfg->regions.at("us-east").addresses, std::vector<std::string>{"127.0.0.2"});
  const ProbeConfig& web = cfg->probes[0];
  EXPECT_EQ(web.name, "us-east-web");
  EXPECT_EQ(web.region, "us-east");
  EXPECT_EQ(web.kind, "http");
  EXPECT_EQ(web.interval, std::chrono::seconds(5));
  // defaults.timeout (5s) does not fit the 5s interval: it shrinks to 90% of it.
  EXPECT_EQ(web.timeout, std::chrono::milliseconds(4500));
  EXPECT_EQ(web.labels.at("tier"), "web");
  EXPECT_NE(web.prober, nullptr);
  EXPECT_EQ(cfg->probes[1].kind, "tcp");
  EXPECT_EQ(cfg->probes[1].interval, std::chrono::seconds(10));  // from defaults
  EXPECT_EQ(cfg->probes[3].kind, "redis");
  EXPECT_EQ(cfg->probes[4].kind, "tcp");
}

// One fixture per validation rule. The first line of each says `# error: <text>`; loading
// must fail with that text, prefixed by file:line:column.
TEST_F(ConfigTest, EveryBadFixtureFailsWithItsMessage) {
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kTestdata + "/bad")) {
    std::string text = testing::ReadFile(entry.path().string());
    ASSERT_EQ(text.rfind("# error: ", 0), 0u) << entry.path();
    std::string expected = text.substr(9, text.find('\n') - 9);
    testing::TempDir dir;
    std::string path = dir.Write("exporter.yml", text);
    auto cfg = LoadExporterConfigFile(path, registry_);
    ASSERT_FALSE(cfg) << entry.path() << " loaded but should fail with: " << expected;
    const std::string& msg = cfg.error().message;
    std::string relative = expected;
    if (relative.rfind("exporter.yml", 0) == 0) relative = dir.path() + "/" + relative;
    EXPECT_NE(msg.find(relative), std::string::npos)
        << entry.path().filename() << "\n  got:      " << msg << "\n  expected: " << expected;
    if (entry.path().filename() != "empty.yml") {
      EXPECT_TRUE(
          std::regex_search(msg, std::regex("^" + dir.path() + "/exporter.yml:[0-9]+:[0-9]+: ")))
          << entry.path().filename() << ": " << msg;
    }
    ++checked;
  }
  EXPECT_GE(checked, 25);
}

TEST_F(ConfigTest, FingerprintSeesEveryChange) {
  auto load = [&](const std::string& text) {
    auto root = YamlNode::LoadString(text, "x.yml");
    auto cfg = LoadExporterConfig(*root, registry_);
    EXPECT_TRUE(cfg) << cfg.error().message;
    return cfg->probes.at(0).fingerprint;
  };
  std::string base = "probes: [{name: a, interval: 15s, tcp: {address: 127.0.0.1:1}}]";
  EXPECT_EQ(
      load(base),
      load("probes:\n  - name: a\n    interval: 15s\n    tcp:\n      address: 127.0.0.1:1\n"));
  EXPECT_NE(load(base), load("probes: [{name: a, interval: 6s, tcp: {address: 127.0.0.1:1}}]"));
  EXPECT_NE(load(base), load("probes: [{name: a, interval: 15s, tcp: {address: 127.0.0.1:2}}]"));
  EXPECT_NE(load(base), load("defaults: {timeout: 1s}\n" + base));
}

TEST_F(ConfigTest, ReservedLabels) {
  EXPECT_TRUE(IsReservedLabel("probe"));
  EXPECT_TRUE(IsReservedLabel("target_region"));
  EXPECT_FALSE(IsReservedLabel("tier"));
}

}  // namespace
}  // namespace failover
