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

TEST(Base64EncodeTest, PadsAndRoundTrips) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("a"), "YQ==");
  EXPECT_EQ(Base64Encode("ab"), "YWI=");
  EXPECT_EQ(Base64Encode("alice:wonderland"), "YWxpY2U6d29uZGVybGFuZA==");
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  EXPECT_EQ(Base64Decode(Base64Encode(bytes)), bytes);
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

TEST(SanitizeUtf8Test, KeepsValidUtf8NewlinesAndTabs) {
  EXPECT_EQ(SanitizeUtf8("plain\ttext\nr\xC3\xA9gion \xE2\x82\xAC \xF0\x9F\x98\x80"),
            "plain\ttext\nr\xC3\xA9gion \xE2\x82\xAC \xF0\x9F\x98\x80");
}

TEST(SanitizeUtf8Test, CarriageReturnsBecomeOneNewline) {
  EXPECT_EQ(SanitizeUtf8("a\r\nb"), "a\nb");
  EXPECT_EQ(SanitizeUtf8("10%\r20%\r"), "10%\n20%\n");
  EXPECT_EQ(SanitizeUtf8("\r\r\n"), "\n\n");
}

TEST(SanitizeUtf8Test, ReplacesControlsAndInvalidBytes) {
  EXPECT_EQ(SanitizeUtf8(std::string("a\0b\x1b[2J", 7)), "a?b?[2J");
  EXPECT_EQ(SanitizeUtf8("\xFF\xC3"), "??");    // invalid; truncated sequence
  EXPECT_EQ(SanitizeUtf8("\xE2\x82x"), "??x");  // continuation byte missing
  EXPECT_EQ(SanitizeUtf8(""), "");
}

TEST(EscapeMarkupTest, EscapesTheFiveCharacters) {
  EXPECT_EQ(EscapeMarkup("<a href=\"x\">'&'</a>", "&#39;"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  EXPECT_EQ(EscapeMarkup("it's", "&apos;"), "it&apos;s");
}

}  // namespace
}  // namespace failover
