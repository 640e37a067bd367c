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

// --web.listen-address may be given several times: every value is kept (the default only
// when none is given).
TEST(FlagsTest, RepeatableFlagKeepsEveryValue) {
  std::vector<std::string> listen = {":9807"};
  Flags f("prog", "");
  f.Strings("web.listen-address", &listen, "Listen.");
  const char* none[] = {"prog"};
  ASSERT_TRUE(f.Parse(1, none));
  EXPECT_EQ(listen, std::vector<std::string>{":9807"});
  const char* two[] = {"prog", "--web.listen-address=127.0.0.1:1", "--web.listen-address",
                       "127.0.0.2:2"};
  ASSERT_TRUE(f.Parse(4, two));
  EXPECT_EQ(listen, (std::vector<std::string>{"127.0.0.1:1", "127.0.0.2:2"}));
}

// Every help text starts in the same column, --help's included, and no line is wider
// than 80 characters (long texts wrap under the column).
TEST(FlagsTest, HelpHasOneColumnAndNoLongLines) {
  std::string file = "x", level = "info";
  bool check = false;
  Flags f("prog", "Summary.");
  f.String("config.file", &file, "Configuration file.");
  f.String("web.config.file", &level,
           "Web config (exporter-toolkit format): TLS, client certificates, basic auth, "
           "response headers. See docs/security.md.");
  f.Bool("config.check", &check, "Validate.");
  std::string usage = f.Usage();
  size_t column = 0;
  size_t start = usage.find("Flags:\n") + 7;
  std::string rest = usage.substr(start);
  size_t pos = 0;
  int flag_lines = 0;
  while (pos < rest.size()) {
    size_t nl = rest.find('\n', pos);
    std::string line = rest.substr(pos, nl - pos);
    pos = nl + 1;
    EXPECT_LE(line.size(), 80u) << line;
    ASSERT_GE(line.size(), 3u) << usage;
    size_t text = line.find_first_not_of(' ', line[2] == '-' ? line.find("  ", 2) : 0);
    if (column == 0) column = text;
    EXPECT_EQ(text, column) << "help not in one column:\n" << usage;
    if (line.rfind("  --", 0) == 0) ++flag_lines;
  }
  EXPECT_EQ(flag_lines, 4) << usage;
  EXPECT_NE(usage.find("  --help  "), std::string::npos) << usage;
}

}  // namespace
}  // namespace failover
