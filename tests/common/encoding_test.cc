#include "common/encoding.h"

#include <gtest/gtest.h>

namespace failover {
namespace {

TEST(UrlEncodeTest, KeepsUnreservedAndEncodesTheRestUpperCase) {
  EXPECT_EQ(UrlEncode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(UrlEncode("www.example.test. A"), "www.example.test.%20A");
  EXPECT_EQ(UrlEncode("up{job=\"x\"} == 1"), "up%7Bjob%3D%22x%22%7D%20%3D%3D%201");
  EXPECT_EQ(UrlEncode("\xc3\xa9/+"), "%C3%A9%2F%2B");
  EXPECT_EQ(UrlEncode(""), "");
}

TEST(UrlEncodeTest, KeepsTheCharactersAskedFor) {
  EXPECT_EQ(UrlEncode("/2013-04-01/hostedzone/Z1 2", "/"), "/2013-04-01/hostedzone/Z1%202");
}

TEST(Base64DecodeTest, DecodesPaddedInput) {
  EXPECT_EQ(Base64Decode("dXNlcjpwYXNz"), "user:pass");
  EXPECT_EQ(Base64Decode("YQ=="), "a");
  EXPECT_EQ(Base64Decode("YWI="), "ab");
}

TEST(Base64DecodeTest, RejectsMalformedInput) {
  EXPECT_EQ(Base64Decode(""), "");
  EXPECT_EQ(Base64Decode("YQ="), "");                   // not a multiple of 4
  EXPECT_EQ(Base64Decode("Y!Q="), "");                  // not base64
  EXPECT_EQ(Base64Decode(std::string(4100, 'A')), "");  // too long for a credential
}

TEST(EscapeMarkupTest, EscapesTheFiveCharacters) {
  EXPECT_EQ(EscapeMarkup("<a href=\"x\">'&'</a>", "&#39;"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  EXPECT_EQ(EscapeMarkup("it's", "&apos;"), "it&apos;s");
}

}  // namespace
}  // namespace failover
