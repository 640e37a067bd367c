#include "common/flags.h"

#include <gtest/gtest.h>

namespace failover {
namespace {

TEST(FlagsTest, ParsesBothForms) {
  std::string file = "default.yml", listen = ":9807";
  bool check = false;
  Flags f("prog", "does things");
  f.String("config.file", &file, "Config.");
  f.String("web.listen-address", &listen, "Listen.");
  f.Bool("config.check", &check, "Check.");
  const char* argv[] = {"prog",        "--config.file=a.yml", "--web.listen-address",
                        "127.0.0.1:0", "--config.check",      "pos"};
  auto r = f.Parse(6, argv);
  ASSERT_TRUE(r);
  EXPECT_EQ(file, "a.yml");
  EXPECT_EQ(listen, "127.0.0.1:0");
  EXPECT_TRUE(check);
  EXPECT_EQ(*r, std::vector<std::string>{"pos"});
}

TEST(FlagsTest, ErrorsNameTheFlag) {
  std::string s;
  bool b = false;
  Flags f("prog", "");
  f.String("config.file", &s, "");
  f.Bool("dry-run", &b, "");
  const char* unknown[] = {"prog", "--config.fil=x"};
  EXPECT_EQ(f.Parse(2, unknown).error().message, "unknown flag --config.fil (see --help)");
  const char* missing[] = {"prog", "--config.file"};
  EXPECT_EQ(f.Parse(2, missing).error().message, "flag --config.file needs a value");
  const char* badbool[] = {"prog", "--dry-run=maybe"};
  EXPECT_FALSE(f.Parse(2, badbool));
  const char* nob[] = {"prog", "--dry-run", "--no-dry-run"};
  ASSERT_TRUE(f.Parse(3, nob));
  EXPECT_FALSE(b);
}

TEST(FlagsTest, HelpListsFlagsWithDefaults) {
  std::string listen = ":9807";
  Flags f("failover_exporter", "Probes regions.");
  f.String("web.listen-address", &listen, "Address to listen on.");
  const char* argv[] = {"prog", "--help"};
  ASSERT_TRUE(f.Parse(2, argv));
  EXPECT_TRUE(f.help_requested());
  std::string usage = f.Usage();
  EXPECT_NE(usage.find("usage: failover_exporter"), std::string::npos);
  EXPECT_NE(usage.find("--web.listen-address=VALUE"), std::string::npos);
  EXPECT_NE(usage.find("(default: :9807)"), std::string::npos);
}

}  // namespace
}  // namespace failover
