#include "common/secret.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>

#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace failover {
namespace {

YamlNode Load(const std::string& text) { return *YamlNode::LoadString(text, "s.yml"); }

TEST(SecretTest, InlineFileAndEnv) {
  testing::TempDir dir;
  std::string file = dir.Write("token", "s3cr3t-file\n");
  setenv("FAILOVER_TEST_SECRET", "s3cr3t-env", 1);
  auto a = SecretRef::FromYaml(Load("token: s3cr3t-inline"), "token");
  auto b = SecretRef::FromYaml(Load("token_file: " + file), "token");
  auto c = SecretRef::FromYaml(Load("token_env: FAILOVER_TEST_SECRET"), "token");
  ASSERT_TRUE(a && *a && b && *b && c && *c);
  EXPECT_EQ(*(*a)->Resolve(), "s3cr3t-inline");
  EXPECT_EQ(*(*b)->Resolve(), "s3cr3t-file");  // trailing newline dropped
  EXPECT_EQ(*(*c)->Resolve(), "s3cr3t-env");
  EXPECT_EQ((*b)->Describe(), "file " + file);
}

TEST(SecretTest, AbsentIsNotAnError) {
  auto r = SecretRef::FromYaml(Load("other: 1"), "token");
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
}

TEST(SecretTest, RotatedFileIsReadAgain) {
  testing::TempDir dir;
  std::string file = dir.Write("token", "first");
  auto r = SecretRef::FromYaml(Load("token_file: " + file), "token");
  ASSERT_TRUE(r && *r);
  EXPECT_EQ(*(*r)->Resolve(), "first");
  dir.Write("token", "second");
  EXPECT_EQ(*(*r)->Resolve(), "second");
}

// A file's value is kept while the file is unchanged (the webhook's token is read on every
// request), but a rewrite of the same size, in place, is read at once, even twice within
// one clock tick.
TEST(SecretTest, SameSizeRewritesInPlaceAreReadAgain) {
  testing::TempDir dir;
  std::string file = dir.Write("token", "aaaa");
  auto r = SecretRef::FromYaml(Load("token_file: " + file), "token");
  ASSERT_TRUE(r && *r);
  // Older than a second: the value read now is kept.
  auto written = std::filesystem::last_write_time(file);
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        return std::filesystem::file_time_type::clock::now() - written >
               std::chrono::milliseconds(1100);
      },
      std::chrono::seconds(5)));
  EXPECT_EQ(*(*r)->Resolve(), "aaaa");
  EXPECT_EQ(*(*r)->Resolve(), "aaaa");
  dir.Write("token", "bbbb");
  EXPECT_EQ(*(*r)->Resolve(), "bbbb") << "a kept value outlived a rewrite";
  dir.Write("token", "cccc");
  EXPECT_EQ(*(*r)->Resolve(), "cccc") << "a value read right after a write was kept";
  std::filesystem::remove(file);
  auto gone = (*r)->Resolve();
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().message, "cannot read secret file " + file);
}

TEST(SecretTest, ErrorsNameTheSourceNeverTheValue) {
  auto two = SecretRef::FromYaml(Load("token: abc\ntoken_file: /x\n"), "token");
  ASSERT_FALSE(two);
  EXPECT_NE(two.error().message.find("set only one of"), std::string::npos);
  EXPECT_EQ(two.error().message.find("abc"), std::string::npos);

  auto missing = SecretRef::FromYaml(Load("token_file: /nonexistent/token\n"), "token");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message,
            "s.yml:1:13: token_file: cannot read secret file /nonexistent/token");

  unsetenv("FAILOVER_TEST_UNSET");
  auto env = SecretRef::FromYaml(Load("token_env: FAILOVER_TEST_UNSET\n"), "token");
  ASSERT_FALSE(env);
  EXPECT_NE(env.error().message.find("environment variable FAILOVER_TEST_UNSET is not set"),
            std::string::npos);

  testing::TempDir dir;
  std::string empty = dir.Write("empty", "\n");
  auto e = SecretRef::FromYaml(Load("token_file: " + empty), "token");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("is empty"), std::string::npos);
}

}  // namespace
}  // namespace failover
