// AWS Signature Version 4 against AWS' published test suite.
//
// Source of the vectors: the "AWS Signature Version 4 test suite"
// (https://docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html), files
// <case>/<case>.{req,creq,sts,authz}, as mirrored in bazelbuild/bazel under
// third_party/aws-sig-v4-test-suite/ (get-vanilla-query-order-key, post-x-www-form-
// urlencoded, post-sts-token/post-sts-header-before, get-vanilla-empty-query-key,
// get-utf8, get-header-value-trim, get-header-key-duplicate), plus get-vanilla, post-vanilla and
// the IAM key-derivation example of AWS's SigV4 documentation.
// Every case signs with key AKIDEXAMPLE, secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY,
// region us-east-1, service "service", at 20150830T123600Z.
#include "common/aws_sigv4.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "tests/support/temp_dir.h"

namespace failover {
namespace {

const AwsCredentials kCreds{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
constexpr const char* kDate = "20150830T123600Z";
constexpr const char* kEmptySha =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

SigV4Request Req(std::string method, std::string query = "") {
  SigV4Request r;
  r.method = std::move(method);
  r.path = "/";
  r.query = std::move(query);
  r.headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", kDate}};
  return r;
}

TEST(AwsSigV4Test, GetVanilla) {
  auto sig = SignV4(Req("GET"), kCreds, "us-east-1", "service", kDate);
  EXPECT_EQ(sig.canonical_request,
            std::string("GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
                        "host;x-amz-date\n") +
                kEmptySha);
  EXPECT_EQ(Sha256Hex(sig.canonical_request),
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  EXPECT_EQ(sig.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  EXPECT_EQ(HexEncode(AwsSigningKey(kCreds.secret_access_key, "20150830", "us-east-1", "service")),
            "938127b5336810ddb6a5d6af445fcac9e371f9ed418ed386b022aed82901be75");
  EXPECT_EQ(sig.signature, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  EXPECT_EQ(sig.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(AwsSigV4Test, GetVanillaQueryOrderKey) {
  // req: GET /?Param1=value2&Param1=Value1 — parameters sort by name, then by value.
  auto sig =
      SignV4(Req("GET", "Param1=value2&Param1=Value1"), kCreds, "us-east-1", "service", kDate);
  EXPECT_EQ(sig.canonical_request,
            std::string("GET\n/\nParam1=Value1&Param1=value2\nhost:example.amazonaws.com\n"
                        "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n") +
                kEmptySha);
  EXPECT_EQ(sig.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "704b4cef673542d84cdff252633f065e8daeba5f168b77116f8b1bcaf3d38f89");
  EXPECT_EQ(sig.signature, "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1");
}

TEST(AwsSigV4Test, GetVanillaQueryOrderKeyCaseFromContract) {
  // The contract's "GET /?Param2=value2&Param1=value1" (get-vanilla-query-order-key-case).
  auto sig =
      SignV4(Req("GET", "Param2=value2&Param1=value1"), kCreds, "us-east-1", "service", kDate);
  EXPECT_EQ(sig.signature, "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

TEST(AwsSigV4Test, PostVanilla) {
  auto sig = SignV4(Req("POST"), kCreds, "us-east-1", "service", kDate);
  EXPECT_EQ(sig.signature, "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
}

TEST(AwsSigV4Test, PostXWwwFormUrlencoded) {
  SigV4Request r = Req("POST");
  r.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  r.body = "Param1=value1";
  auto sig = SignV4(r, kCreds, "us-east-1", "service", kDate);
  EXPECT_EQ(sig.canonical_request,
            "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\n"
            "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "content-type;host;x-amz-date\n"
            "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
  EXPECT_EQ(sig.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281");
  EXPECT_EQ(sig.signature, "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
}

TEST(AwsSigV4Test, PostStsHeaderBefore) {
  // Session credentials: X-Amz-Security-Token is part of the signed headers.
  const std::string token =
      "AQoDYXdzEPT//////////"
      "wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfI"
      "eoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7W"
      "Z0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8"
      "FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";
  SigV4Request r = Req("POST");
  r.headers.emplace_back("X-Amz-Security-Token", token);
  auto sig = SignV4(r, kCreds, "us-east-1", "service", kDate);
  EXPECT_EQ(sig.signed_headers, "host;x-amz-date;x-amz-security-token");
  EXPECT_EQ(sig.signature, "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead");
}

TEST(AwsSigV4Test, MoreSuiteCases) {
  // get-vanilla-empty-query-key: GET /?Param1=value1
  EXPECT_EQ(SignV4(Req("GET", "Param1=value1"), kCreds, "us-east-1", "service", kDate).signature,
            "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb");
  // get-utf8: GET /\xe1\x88\xb4 (U+1234): the path segment is percent-encoded.
  SigV4Request utf8 = Req("GET");
  utf8.path = "/\xe1\x88\xb4";
  auto u = SignV4(utf8, kCreds, "us-east-1", "service", kDate);
  EXPECT_EQ(u.canonical_request.substr(0, 15), "GET\n/%E1%88%B4\n");
  EXPECT_EQ(u.signature, "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85");
  // get-header-value-trim: values trimmed, inner runs of blanks collapsed.
  SigV4Request trim = Req("GET");
  trim.headers.emplace_back("My-Header1", " value1");
  trim.headers.emplace_back("My-Header2", " \"a   b   c\"");
  auto t = SignV4(trim, kCreds, "us-east-1", "service", kDate);
  EXPECT_EQ(t.signed_headers, "host;my-header1;my-header2;x-amz-date");
  EXPECT_EQ(t.signature, "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736");
  // get-header-key-duplicate: repeated headers joined with ',' in the order sent.
  SigV4Request dup = Req("GET");
  dup.headers.emplace_back("My-Header1", "value2");
  dup.headers.emplace_back("My-Header1", "value2");
  dup.headers.emplace_back("My-Header1", "value1");
  EXPECT_EQ(SignV4(dup, kCreds, "us-east-1", "service", kDate).signature,
            "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea");
}

TEST(AwsSigV4Test, KeyDerivationExample) {
  EXPECT_EQ(HexEncode(AwsSigningKey(kCreds.secret_access_key, "20120215", "us-east-1", "iam")),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

TEST(AwsSigV4Test, SignHttpRequestSetsHeadersAsTheVectorsExpect) {
  HttpRequest req;
  req.method = "GET";
  req.url = "https://example.amazonaws.com/?Param1=value2&Param1=Value1";
  WallTime t = WallTime() + std::chrono::seconds(1440938160);  // 2015-08-30T12:36:00Z
  ASSERT_TRUE(SignHttpRequest(req, kCreds, "us-east-1", "service", t));
  std::map<std::string, std::string> h(req.headers.begin(), req.headers.end());
  EXPECT_EQ(h["Host"], "example.amazonaws.com");
  EXPECT_EQ(h["X-Amz-Date"], kDate);
  EXPECT_EQ(h.count("X-Amz-Security-Token"), 0u);
  EXPECT_EQ(h["Authorization"],
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1");

  // A port is part of Host; session credentials add the token header.
  HttpRequest local;
  local.url = "http://127.0.0.1:8080/2013-04-01/change/C1";
  AwsCredentials session = kCreds;
  session.session_token = "TOKEN";
  ASSERT_TRUE(SignHttpRequest(local, session, "us-east-1", "route53", t));
  std::map<std::string, std::string> lh(local.headers.begin(), local.headers.end());
  EXPECT_EQ(lh["Host"], "127.0.0.1:8080");
  EXPECT_EQ(lh["X-Amz-Security-Token"], "TOKEN");
  EXPECT_NE(lh["Authorization"].find("SignedHeaders=host;x-amz-date;x-amz-security-token,"),
            std::string::npos);
}

TEST(AwsSigV4Test, ParseAuthorization) {
  auto a = ParseSigV4Authorization(
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
      "SignedHeaders=host;x-amz-date, Signature=abc");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(a->date, "20150830");
  EXPECT_EQ(a->region, "us-east-1");
  EXPECT_EQ(a->service, "service");
  EXPECT_EQ(a->signed_headers, (std::vector<std::string>{"host", "x-amz-date"}));
  EXPECT_EQ(a->signature, "abc");
  EXPECT_FALSE(ParseSigV4Authorization("Bearer x"));
  EXPECT_FALSE(ParseSigV4Authorization("AWS4-HMAC-SHA256 Credential=AKID/x, Signature=abc"));
}

YamlNode Load(const std::string& text) { return *YamlNode::LoadString(text, "a.yml"); }

TEST(AwsCredentialsTest, FilesAndEnvFallback) {
  testing::TempDir dir;
  std::string id = dir.Write("id", "AKIDFILE\n");
  std::string secret = dir.Write("secret", "SECRETFILEVALUE\n");
  auto src = AwsCredentialSource::FromYaml(
      Load("{access_key_id_file: " + id + ", secret_access_key_file: " + secret + "}"));
  ASSERT_TRUE(src) << src.error().message;
  auto c = src->Resolve();
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->access_key_id, "AKIDFILE");
  EXPECT_EQ(c->secret_access_key, "SECRETFILEVALUE");
  EXPECT_EQ(c->session_token, "");
  EXPECT_EQ(src->Describe().find("SECRETFILEVALUE"), std::string::npos);

  setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "SECRETENVVALUE", 1);
  setenv("AWS_SESSION_TOKEN", "TOKENENV", 1);
  auto env = AwsCredentialSource::FromYaml(Load("{other: 1}"));
  ASSERT_TRUE(env);
  auto e = env->Resolve();
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->access_key_id, "AKIDENV");
  EXPECT_EQ(e->secret_access_key, "SECRETENVVALUE");
  EXPECT_EQ(e->session_token, "TOKENENV");
  unsetenv("AWS_SECRET_ACCESS_KEY");
  auto missing = env->Resolve();
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("AWS_SECRET_ACCESS_KEY"), std::string::npos);
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SESSION_TOKEN");
}

TEST(AwsCredentialsTest, HalfAConfigurationIsALocatedError) {
  testing::TempDir dir;
  std::string id = dir.Write("id", "AKID");
  auto src = AwsCredentialSource::FromYaml(Load("a: 1\naccess_key_id_file: " + id + "\n"));
  ASSERT_FALSE(src);
  EXPECT_NE(src.error().message.find("a.yml:1:1"), std::string::npos) << src.error().message;
  EXPECT_NE(src.error().message.find("secret_access_key"), std::string::npos);
  auto missing_file = AwsCredentialSource::FromYaml(
      Load("{access_key_id: AKID, secret_access_key_file: /nonexistent/secret}"));
  ASSERT_FALSE(missing_file);
  EXPECT_NE(missing_file.error().message.find("/nonexistent/secret"), std::string::npos);
}

TEST(AwsCredentialsTest, RedactCredentials) {
  AwsCredentials c{"AKID", "SECRET", "TOKEN"};
  EXPECT_EQ(RedactCredentials("x SECRET y TOKEN z SECRET", c),
            "x <redacted> y <redacted> z <redacted>");
}

}  // namespace
}  // namespace failover
