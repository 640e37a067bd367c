#include "common/yaml.h"

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace failover {
namespace {

YamlNode Load(const std::string& text) {
  auto n = YamlNode::LoadString(text, "test.yml");
  EXPECT_TRUE(n) << n.error().message;
  return *n;
}

TEST(YamlTest, SyntaxErrorNamesFileLineAndColumn) {
  auto n = YamlNode::LoadString("a: 1\nb: [1, 2\n", "cfg.yml");
  ASSERT_FALSE(n);
  EXPECT_NE(n.error().message.find("cfg.yml:"), std::string::npos) << n.error().message;
  EXPECT_NE(n.error().message.find("YAML syntax error"), std::string::npos);
}

TEST(YamlTest, MissingFileIsAClearError) {
  auto n = YamlNode::LoadFile("/nonexistent/exporter.yml");
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().message, "/nonexistent/exporter.yml: cannot read config file");
}

TEST(YamlTest, UnknownKeyNamesPathLineColumnAndKnownKeys) {
  YamlNode root = Load("probes:\n  - name: a\n    http:\n      urll: x\n");
  auto probe = (*root.Require("probes")->Items())[0];
  auto http = *probe.Require("http");
  auto s = http.ExpectKeys({"url", "method"});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message,
            "test.yml:4:7: probes[0].http.urll: unknown key \"urll\" (known keys: url, method)");
}

TEST(YamlTest, RejectUnreadKeysAcceptsExactlyTheKeysTheParserRead) {
  YamlNode root = Load("probe:\n  url: http://x\n  timout: 5s\n  method: GET\n");
  YamlNode probe = *root.Get("probe");
  ASSERT_TRUE(probe.Require("url"));
  EXPECT_TRUE(probe.Get("method"));
  EXPECT_FALSE(probe.Get("timeout"));  // asked for, absent: still a known key
  auto s = probe.RejectUnreadKeys();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message,
            "test.yml:3:3: probe.timout: unknown key \"timout\" (known keys: url, method, "
            "timeout)");
}

TEST(YamlTest, AskedKeysListsWhatWasAskedInOrder) {
  YamlNode root = Load("m:\n  b: 1\n");
  YamlNode m = *root.Get("m");
  EXPECT_TRUE(m.AskedKeys().empty());
  m.Get("b");
  m.Get("a");
  m.Get("b");
  EXPECT_EQ(m.AskedKeys(), (std::vector<std::string>{"b", "a"}));
}

TEST(YamlTest, RejectUnreadKeysSeesKeysReadThroughAnyCopyOfTheNode) {
  YamlNode root = Load("step:\n  duration: 5s\n  timeout: 1m\n");
  YamlNode a = *root.Get("step");
  YamlNode b = *root.Get("step");  // another copy: a shared parser reads its own keys
  EXPECT_TRUE(a.Get("duration"));
  EXPECT_TRUE(b.HasKey("timeout"));
  EXPECT_TRUE(a.RejectUnreadKeys());
}

TEST(YamlTest, RejectUnreadKeysStillRejectsARepeatedKeyAndANonMapping) {
  YamlNode root = Load("m:\n  a: 1\n  a: 2\nl: [1]\n");
  YamlNode m = *root.Get("m");
  EXPECT_TRUE(m.Get("a"));
  auto s = m.RejectUnreadKeys();
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("key \"a\" appears twice"), std::string::npos)
      << s.error().message;
  auto l = root.Get("l")->RejectUnreadKeys();
  ASSERT_FALSE(l);
  EXPECT_NE(l.error().message.find("expected a mapping"), std::string::npos);
}

TEST(YamlTest, RejectUnreadKeysOnAMappingNothingWasAskedOf) {
  YamlNode root = Load("m:\n  x: 1\n");
  auto s = root.Get("m")->RejectUnreadKeys();
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("unknown key \"x\" (this mapping takes no keys)"),
            std::string::npos)
      << s.error().message;
}

TEST(YamlTest, DuplicateKeyIsRejected) {
  YamlNode root = Load("a: 1\nb: 2\na: 3\n");
  auto s = root.ExpectKeys({"a", "b"});
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("test.yml:3:1: a: key \"a\" appears twice"), std::string::npos)
      << s.error().message;
}

TEST(YamlTest, TypedAccessorsReportWhereAndWhat) {
  YamlNode root = Load("n: abc\nd: 5\nb: yes\nl: x\n");
  auto n = root.Get("n")->AsInt();
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().message, "test.yml:1:4: n: expected an integer, found \"abc\"");
  auto d = root.Get("d")->AsDuration();
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message.find("test.yml:2:4: d: invalid duration \"5\""), std::string::npos);
  EXPECT_FALSE(root.Get("b")->AsBool());
  auto l = root.Get("l")->AsStringList();
  ASSERT_FALSE(l);
  EXPECT_NE(l.error().message.find("expected a list, found a scalar"), std::string::npos);
}

TEST(YamlTest, RequireNamesTheMissingKey) {
  YamlNode root = Load("probes:\n  - region: x\n");
  auto probe = (*root.Require("probes")->Items())[0];
  auto r = probe.Require("name");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "test.yml:2:5: probes[0]: missing required key \"name\"");
}

TEST(YamlTest, NullValuesCountAsAbsentButHasKeySeesThem) {
  YamlNode root = Load("a: ~\nb:\nc: null\nd: NULL\ne: \"null\"\nf: ''\n");
  for (const char* key : {"a", "b", "c", "d"}) {
    EXPECT_FALSE(root.Get(key)) << key;
    EXPECT_TRUE(root.HasKey(key)) << key;
  }
  EXPECT_EQ(*root.Get("e")->AsString(), "null");  // quoted: a string
  EXPECT_EQ(*root.Get("f")->AsString(), "");
  EXPECT_FALSE(root.Has("g"));
  EXPECT_FALSE(root.HasKey("g"));
  EXPECT_FALSE(Load("- a\n").HasKey("a"));
}

TEST(YamlTest, AliasesResolveToTheAnchoredNode) {
  YamlNode root = Load("base: &b\n  interval: 5s\nprobe: *b\n");
  auto probe = root.Require("probe");
  ASSERT_TRUE(probe);
  ASSERT_TRUE(probe->IsMap());
  EXPECT_EQ(*probe->Require("interval")->AsString(), "5s");
  // Errors in an alias point at the anchored text, under the alias's path.
  auto s = probe->ExpectKeys({"timeout"});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message,
            "test.yml:2:3: probe.interval: unknown key \"interval\" (known keys: timeout)");
}

TEST(YamlTest, UnknownAliasIsASyntaxError) {
  auto n = YamlNode::LoadString("a: *nope\n", "cfg.yml");
  ASSERT_FALSE(n);
  EXPECT_NE(n.error().message.find("cfg.yml:1:"), std::string::npos) << n.error().message;
}

TEST(YamlTest, EmptyDocumentIsNullWithoutAPosition) {
  YamlNode root = Load("");
  EXPECT_TRUE(root.IsNull());
  EXPECT_EQ(root.ExpectMap().error().message,
            "test.yml: (top level): expected a mapping, found nothing");
  EXPECT_TRUE(Load("# only a comment\n").IsNull());
}

TEST(YamlTest, OnlyTheFirstDocumentIsRead) {
  YamlNode root = Load("a: 1\n---\nb: 2\n");
  EXPECT_TRUE(root.Has("a"));
  EXPECT_FALSE(root.Has("b"));
}

TEST(YamlTest, FingerprintTellsScalarsFromStructure) {
  EXPECT_NE(Load("a: '[1]'").Fingerprint(), Load("a: [1]").Fingerprint());
  EXPECT_NE(Load("a: '~'").Fingerprint(), Load("a: ~").Fingerprint());
  EXPECT_NE(Load("a: [1, 2]").Fingerprint(), Load("a: ['1, 2']").Fingerprint());
  EXPECT_NE(Load("a: {x: 1}").Fingerprint(), Load("a: [x, 1]").Fingerprint());
  EXPECT_NE(Load("a: &x [1]\nb: *x").Fingerprint(), Load("a: &x [1]\nb: [2]").Fingerprint());
}

TEST(YamlTest, NestedAliasesCostTheirSizeNotTheirExpansion) {
  // Nine levels of ten aliases each would expand to 10^9 scalars.
  std::string text = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 10; ++i) {
    std::string prev = "*l" + std::to_string(i - 1);
    text += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) text += (j ? ", " : "") + prev;
    text += "]\n";
  }
  YamlNode root = Load(text);
  EXPECT_LT(root.Fingerprint().size(), 1000u);
  EXPECT_TRUE(root.Get("l9")->IsSequence());
}

TEST(YamlTest, FingerprintChangesWithContentOnly) {
  EXPECT_EQ(Load("a: {x: 1, y: [1, 2]}").Fingerprint(),
            Load("a:\n  x: 1\n  y:\n    - 1\n    - 2\n").Fingerprint());
  EXPECT_NE(Load("a: {x: 1}").Fingerprint(), Load("a: {x: 2}").Fingerprint());
}

TEST(YamlTest, LoadsFiles) {
  testing::TempDir dir;
  auto path = dir.Write("c.yml", "k: v\n");
  auto n = YamlNode::LoadFile(path);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n->Get("k")->AsString(), "v");
  EXPECT_EQ(n->Get("k")->Fail("bad").message, path + ":1:4: k: bad");
}

}  // namespace
}  // namespace failover
