// The http probe's URLs: the configured one and a redirect's Location resolved against it
// (exporter/probers/http_url.h).
#include "exporter/probers/http_url.h"

#include <gtest/gtest.h>

namespace failover {
namespace {

HttpTarget Parse(const std::string& url) {
  auto t = ParseHttpTarget(url, nullptr);
  EXPECT_TRUE(t) << url << ": " << t.error().message;
  return t ? *t : HttpTarget{};
}

std::string Error(const std::string& url, const std::string* base = nullptr) {
  auto t = ParseHttpTarget(url, base);
  EXPECT_FALSE(t) << url << " was accepted";
  return t ? "" : t.error().message;
}

TEST(HttpUrlTest, SplitsWhatTheRequestNeeds) {
  HttpTarget t = Parse("http://shop.example.test/healthz?full=1#top");
  EXPECT_FALSE(t.https);
  EXPECT_EQ(t.host, "shop.example.test");
  EXPECT_EQ(t.port, 80);
  EXPECT_EQ(t.host_header, "shop.example.test");
  EXPECT_EQ(t.path, "/healthz?full=1");

  t = Parse("HTTPS://127.0.0.1:8443");
  EXPECT_TRUE(t.https);
  EXPECT_EQ(t.port, 8443);
  EXPECT_EQ(t.host_header, "127.0.0.1:8443");
  EXPECT_EQ(t.path, "/");
  EXPECT_EQ(t.Url(), "https://127.0.0.1:8443/");

  // The default port is not repeated in Host; an empty port is the default.
  EXPECT_EQ(Parse("https://a.test:443/x").host_header, "a.test");
  EXPECT_EQ(Parse("http://a.test:/x").port, 80);
  EXPECT_EQ(Parse("http://a.test:443/x").host_header, "a.test:443");

  t = Parse("http://[::1]:8080/p?");
  EXPECT_EQ(t.host, "::1");
  EXPECT_EQ(t.host_header, "[::1]:8080");
  EXPECT_EQ(t.path, "/p");
  EXPECT_EQ(Parse("https://[fd00::5]/").host_header, "[fd00::5]");
}

TEST(HttpUrlTest, NormalisesThePath) {
  EXPECT_EQ(Parse("http://a.test/x/../y/./z").path, "/y/z");
  EXPECT_EQ(Parse("http://a.test/../../x").path, "/x");
  // Percent-encoded text is sent as written; raw bytes from 0x80 up are encoded.
  EXPECT_EQ(Parse("http://a.test/caf%C3%A9?q=%20").path, "/caf%C3%A9?q=%20");
  EXPECT_EQ(Parse("http://a.test/caf\xC3\xA9?q=\xC3\xA9").path, "/caf%C3%A9?q=%C3%A9");
}

TEST(HttpUrlTest, RefusesWithTheReason) {
  EXPECT_EQ(Error("not a url"),
            "invalid URL \"not a url\": it contains a space or a control character");
  EXPECT_EQ(Error("example.test/healthz"),
            "invalid URL \"example.test/healthz\": no scheme (http:// or https://)");
  EXPECT_EQ(Error("ftp://127.0.0.1/x"),
            "invalid URL \"ftp://127.0.0.1/x\": scheme must be http or https");
  EXPECT_EQ(Error("http:///x"), "invalid URL \"http:///x\": no host");
  EXPECT_EQ(Error("http:x"), "invalid URL \"http:x\": no host");
  EXPECT_EQ(Error("http://a.test:0/"),
            "invalid URL \"http://a.test:0/\": the port must be a number from 1 to 65535");
  EXPECT_EQ(Error("http://a.test:65536/"),
            "invalid URL \"http://a.test:65536/\": the port must be a number from 1 to 65535");
  EXPECT_EQ(Error("http://a.test:8o/"),
            "invalid URL \"http://a.test:8o/\": the port must be a number from 1 to 65535");
  EXPECT_EQ(Error("http://[::1/"),
            "invalid URL \"http://[::1/\": an IPv6 address without its closing ]");
  EXPECT_EQ(Error("http://[::1]x/"), "invalid URL \"http://[::1]x/\": text after the IPv6 address");
  EXPECT_EQ(Error("http://[zz]/"), "invalid URL \"http://[zz]/\": a bad IPv6 address");
  EXPECT_EQ(Error("http://[fe80::1%<]/"), "invalid URL \"http://[fe80::1%<]/\": a bad IPv6 zone");
  EXPECT_EQ(Parse("http://[fe80::1%25eth0]:81/").host, "fe80::1%25eth0");
  EXPECT_EQ(Error("http://a<b/"), "invalid URL \"http://a<b/\": the host has a '<'");
  EXPECT_EQ(Error("http://caf\xC3\xA9.test/"),
            "invalid URL \"http://caf\xC3\xA9.test/\": the host must be ASCII (an international "
            "name in its xn-- form)");
  EXPECT_EQ(Error("http://a.test/\x01"),
            "invalid URL \"http://a.test/\x01\": it contains a space or a control character");
}

TEST(HttpUrlTest, AUserOrPasswordIsRefusedWithoutRepeatingIt) {
  std::string e = Error("https://alice:s3cret@a.test/");
  EXPECT_EQ(e.find("s3cret"), std::string::npos) << e;
  EXPECT_NE(e.find("basic_auth"), std::string::npos) << e;
  e = Error("/x", nullptr);  // a relative reference needs a base
  EXPECT_NE(e.find("no scheme"), std::string::npos) << e;
  const std::string no_scheme = ",http://a/?p";  // a base without a scheme (found by the fuzzer)
  e = Error("g", &no_scheme);
  EXPECT_NE(e.find("no scheme"), std::string::npos) << e;
}

// RFC 3986 section 5.4's examples (those with an http result), base http://a/b/c/d;p?q.
TEST(HttpUrlTest, ResolvesRedirectsAsRfc3986Does) {
  const std::string base = "http://a/b/c/d;p?q";
  const std::pair<const char*, const char*> cases[] = {
      {"g", "http://a/b/c/g"},
      {"./g", "http://a/b/c/g"},
      {"g/", "http://a/b/c/g/"},
      {"/g", "http://a/g"},
      {"//g", "http://g/"},
      {"?y", "http://a/b/c/d;p?y"},
      {"g?y", "http://a/b/c/g?y"},
      {"#s", "http://a/b/c/d;p?q"},
      {"g#s", "http://a/b/c/g"},
      {"g?y#s", "http://a/b/c/g?y"},
      {";x", "http://a/b/c/;x"},
      {"g;x", "http://a/b/c/g;x"},
      {".", "http://a/b/c/"},
      {"./", "http://a/b/c/"},
      {"..", "http://a/b/"},
      {"../", "http://a/b/"},
      {"../g", "http://a/b/g"},
      {"../..", "http://a/"},
      {"../../", "http://a/"},
      {"../../g", "http://a/g"},
      {"../../../g", "http://a/g"},
      {"../../../../g", "http://a/g"},
      {"/./g", "http://a/g"},
      {"/../g", "http://a/g"},
      {"g.", "http://a/b/c/g."},
      {".g", "http://a/b/c/.g"},
      {"g..", "http://a/b/c/g.."},
      {"..g", "http://a/b/c/..g"},
      {"./../g", "http://a/b/g"},
      {"./g/.", "http://a/b/c/g/"},
      {"g/./h", "http://a/b/c/g/h"},
      {"g/../h", "http://a/b/c/h"},
      {"g;x=1/./y", "http://a/b/c/g;x=1/y"},
      {"g;x=1/../y", "http://a/b/c/y"},
      {"g?y/./x", "http://a/b/c/g?y/./x"},
      {"g#s/../x", "http://a/b/c/g"},
      {"https://b:8443/z", "https://b:8443/z"},
  };
  for (const auto& [ref, want] : cases) {
    auto t = ParseHttpTarget(ref, &base);
    ASSERT_TRUE(t) << ref << ": " << t.error().message;
    EXPECT_EQ(t->Url(), want) << ref;
  }
  // A redirect to another scheme: the port follows the new scheme's default.
  auto t = ParseHttpTarget("https://a/x", &base);
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->https);
  EXPECT_EQ(t->port, 443);
  // What is refused in a URL is refused in a Location too.
  EXPECT_NE(Error("g:h", &base).find("scheme must be http or https"), std::string::npos);
  EXPECT_NE(Error("//u:p@g/", &base).find("basic_auth"), std::string::npos);
  EXPECT_NE(Error("/a b", &base).find("a space"), std::string::npos);
}

}  // namespace
}  // namespace failover
