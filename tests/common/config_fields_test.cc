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

TEST(ConfigFieldsTest, ReadOptionalSetsPresentFieldsAndKeepsDefaults) {
  YamlNode n = Load(
      "on: true\nname: web\ncount: 7\nratio: 0.5\nevery: 2m\nlist: [a, b]\nmap: {k: v}\n"
      "nothing: ~\n");
  bool on = false, absent_bool = true;
  std::string name, absent_string = "kept";
  long long count = 0;
  int small = 3;
  double ratio = 0;
  Duration every{}, absent_duration = std::chrono::seconds(9);
  std::vector<std::string> list;
  std::map<std::string, std::string> map;
  ASSERT_TRUE(ReadOptional(n, "on", on));
  ASSERT_TRUE(ReadOptional(n, "off", absent_bool));
  ASSERT_TRUE(ReadOptional(n, "name", name));
  ASSERT_TRUE(ReadOptional(n, "nothing", absent_string));  // null counts as absent
  ASSERT_TRUE(ReadOptional(n, "count", count));
  ASSERT_TRUE(ReadOptional(n, "missing", small));
  ASSERT_TRUE(ReadOptional(n, "ratio", ratio));
  ASSERT_TRUE(ReadOptional(n, "every", every));
  ASSERT_TRUE(ReadOptional(n, "later", absent_duration));
  ASSERT_TRUE(ReadOptional(n, "list", list));
  ASSERT_TRUE(ReadOptional(n, "map", map));
  EXPECT_TRUE(on);
  EXPECT_TRUE(absent_bool);
  EXPECT_EQ(name, "web");
  EXPECT_EQ(absent_string, "kept");
  EXPECT_EQ(count, 7);
  EXPECT_EQ(small, 3);
  EXPECT_EQ(ratio, 0.5);
  EXPECT_EQ(every, std::chrono::minutes(2));
  EXPECT_EQ(absent_duration, std::chrono::seconds(9));
  EXPECT_EQ(list, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(map, (std::map<std::string, std::string>{{"k", "v"}}));

  std::optional<int> opt_count, opt_missing;
  ASSERT_TRUE(ReadOptional(n, "count", opt_count));
  ASSERT_TRUE(ReadOptional(n, "missing", opt_missing));
  EXPECT_EQ(opt_count, 7);
  EXPECT_FALSE(opt_missing.has_value());

  // What was read is what RejectUnreadKeys accepts.
  YamlNode m = Load("on: true\ntypo: 1\n");
  ASSERT_TRUE(ReadOptional(m, "on", on));
  auto s = m.RejectUnreadKeys();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message, "cfg.yml:2:1: typo: unknown key \"typo\" (known keys: on)");
}

TEST(ConfigFieldsTest, ReadOptionalNamesFileLineAndKeyOnABadValue) {
  YamlNode n = Load("a: 1\non: maybe\nbig: 99999999999\n");
  bool on = false;
  auto s = ReadOptional(n, "on", on);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message.rfind("cfg.yml:2:5: on: ", 0), 0u) << s.error().message;
  EXPECT_FALSE(on);
  int big = 1;
  auto b = ReadOptional(n, "big", big);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().message, "cfg.yml:3:6: big: value out of range");
  EXPECT_EQ(big, 1);
}

TEST(ConfigFieldsTest, RequireFieldGivesTheValueAndItsNodeForLocatedChecks) {
  auto body = Load("region: eu-west-1\nport: 99999999999\nwait: 5s\n");
  auto region = RequireField<std::string>(body, "region");
  ASSERT_TRUE(region) << region.error().message;
  EXPECT_EQ(region->value, "eu-west-1");
  EXPECT_EQ(region->node.Fail("bad region").message, "cfg.yml:1:9: region: bad region");
  auto missing = RequireField<std::string>(body, "zone");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("zone"), std::string::npos) << missing.error().message;
  auto port = RequireField<int>(body, "port");
  ASSERT_FALSE(port);
  EXPECT_EQ(port.error().message, "cfg.yml:2:7: port: value out of range");
  Duration wait{};
  ASSERT_TRUE(ReadRequired(body, "wait", wait));
  EXPECT_EQ(wait, std::chrono::seconds(5));
  auto wrong = ReadRequired(body, "region", wait);
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("cfg.yml:1:9: region"), std::string::npos)
      << wrong.error().message;
}

TEST(ConfigFieldsTest, GetFieldIsEmptyWhenAbsentAndLocatedWhenPresent) {
  auto body = Load("tags: [a, b]\nflag: maybe\n");
  auto absent = GetField<bool>(body, "other");
  ASSERT_TRUE(absent);
  EXPECT_FALSE(*absent);
  auto tags = GetField<std::vector<std::string>>(body, "tags");
  ASSERT_TRUE(tags);
  ASSERT_TRUE(*tags);
  EXPECT_EQ((*tags)->value, (std::vector<std::string>{"a", "b"}));
  auto flag = GetField<bool>(body, "flag");
  ASSERT_FALSE(flag);
  EXPECT_NE(flag.error().message.find("cfg.yml:2:7: flag"), std::string::npos)
      << flag.error().message;
}

TEST(ConfigFieldsTest, TlsClientOptionsReadsTheSharedBlock) {
  auto t = ParseTlsClientOptions(
      Load("ca_file: /etc/hosts\nserver_name: db.internal\ninsecure_skip_verify: true\n"));
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->ca_file, "/etc/hosts");
  EXPECT_EQ(t->server_name, "db.internal");
  EXPECT_TRUE(t->insecure_skip_verify);
  auto missing = ParseTlsClientOptions(Load("ca_file: /nonexistent/ca.pem\n"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(
      missing.error().message.rfind("cfg.yml:1:10: ca_file: cannot read /nonexistent/ca.pem", 0),
      0u)
      << missing.error().message;
  auto half = ParseTlsClientOptions(Load("cert_file: /etc/hosts\n"));
  ASSERT_FALSE(half);
  EXPECT_NE(half.error().message.find("cert_file and key_file go together"), std::string::npos);
  auto unknown = ParseTlsClientOptions(Load("verify: false\n"));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message,
            "cfg.yml:1:1: verify: unknown key \"verify\" (known keys: ca_file, cert_file, "
            "key_file, server_name, insecure_skip_verify)");
}

}  // namespace
}  // namespace failover
