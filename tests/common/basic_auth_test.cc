// common/basic_auth: the `basic_auth:` block both daemons read, and the Authorization
// header both daemons' listeners and the actuator's webhook and API check.
#include "common/basic_auth.h"

#include <gtest/gtest.h>

#include "tests/support/basic_auth.h"
#include "tests/support/temp_dir.h"

namespace failover {
namespace {

Result<BasicAuthConfig> Parse(const std::string& text) {
  auto root = YamlNode::LoadString(text, "probe.yml");
  if (!root) return root.error();
  auto node = root->Require("basic_auth");
  if (!node) return node.error();
  return ParseBasicAuth(*node);
}

std::string ErrorOf(const std::string& text) {
  auto r = Parse(text);
  return r ? "(no error)" : r.error().message;
}

TEST(ParseBasicAuthTest, UsernameAndInlinePassword) {
  auto c = Parse("basic_auth: {username: monitor, password: s3cret}\n");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->username, "monitor");
  EXPECT_EQ(*c->password.Resolve(), "s3cret");
}

TEST(ParseBasicAuthTest, PasswordFromAFile) {
  testing::TempDir dir;
  std::string file = dir.Write("pw", "from-file\n");
  auto c = Parse("basic_auth: {username: am, password_file: " + file + "}\n");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(*c->password.Resolve(), "from-file");
  EXPECT_EQ(c->password.Describe(), "file " + file);
}

TEST(ParseBasicAuthTest, LocatedErrorsThatNeverShowThePassword) {
  std::string e = ErrorOf("basic_auth:\n  username: u\n  pasword: hunter2\n");
  EXPECT_NE(e.find("probe.yml:3:3: basic_auth.pasword: unknown key \"pasword\""), std::string::npos)
      << e;
  EXPECT_EQ(e.find("hunter2"), std::string::npos) << e;
  e = ErrorOf("basic_auth:\n  password: hunter2\n");
  EXPECT_NE(e.find("probe.yml:2:3"), std::string::npos) << e;
  EXPECT_NE(e.find("username"), std::string::npos) << e;
  EXPECT_EQ(e.find("hunter2"), std::string::npos) << e;
  e = ErrorOf("basic_auth:\n  username: u\n");
  EXPECT_NE(e.find("probe.yml:2:3"), std::string::npos) << e;
  EXPECT_NE(e.find("basic_auth needs password, password_file or password_env"), std::string::npos)
      << e;
  e = ErrorOf("basic_auth:\n  username: u\n  password: a\n  password_env: B\n");
  EXPECT_NE(e.find("set only one of"), std::string::npos) << e;
  EXPECT_EQ(e.find("\"a\""), std::string::npos) << e;
  e = ErrorOf("basic_auth:\n  username: [x]\n  password: a\n");
  EXPECT_NE(e.find("probe.yml:2:13"), std::string::npos) << e;
}

TEST(ParseBasicAuthorizationTest, UserAndPassword) {
  auto c = ParseBasicAuthorization(testing::BasicAuthorization("alertmanager:pa:ss"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->username, "alertmanager");
  EXPECT_EQ(c->password, "pa:ss");  // the first ':' separates them
  c = ParseBasicAuthorization(testing::BasicAuthorization(":"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->username, "");
  EXPECT_EQ(c->password, "");
}

TEST(ParseBasicAuthorizationTest, TheSchemeIsCaseInsensitive) {
  for (const char* scheme : {"Basic", "basic", "BASIC"}) {
    auto c = ParseBasicAuthorization(testing::BasicAuthorization("u:p", scheme));
    ASSERT_TRUE(c) << scheme;
    EXPECT_EQ(c->username, "u");
  }
}

TEST(ParseBasicAuthorizationTest, RefusesOtherSchemesAndMalformedValues) {
  EXPECT_FALSE(ParseBasicAuthorization(""));
  EXPECT_FALSE(ParseBasicAuthorization("Basic"));
  EXPECT_FALSE(ParseBasicAuthorization(testing::BasicAuthorization("u:p", "Bearer")));
  EXPECT_FALSE(ParseBasicAuthorization(testing::BasicAuthorization("no-colon")));
  EXPECT_FALSE(ParseBasicAuthorization("Basic !!!notbase64"));
  EXPECT_FALSE(ParseBasicAuthorization("Basic "));
}

}  // namespace
}  // namespace failover
