// The AWS credential chain (common/aws_credentials.h, AwsCredentialSource): the shared
// credentials and config files with a profile, IMDSv2 and AssumeRoleWithWebIdentity
// against loopback fakes, caching until shortly before expiry, and a signed call made
// with each (the fake Route 53 checks the signature and the session token).
#include "common/aws_credentials.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <string>

#include "common/aws_api.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_imds.h"
#include "tests/support/fake_route53.h"
#include "tests/support/fake_sts.h"
#include "tests/support/temp_dir.h"

namespace failover {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

YamlNode Load(const std::string& yaml) {
  auto n = YamlNode::LoadString(yaml, "creds.yml");
  EXPECT_TRUE(n) << n.error().message;
  return *n;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(AwsSharedFilesTest, ProfileFromTheCredentialsFileThenTheConfigFile) {
  testing::TempDir dir;
  std::string creds = dir.Write("credentials",
                                "[default]\naws_access_key_id = AKIDDEFAULT\n"
                                "aws_secret_access_key = secretDefault\n\n"
                                "# the shop's account\n[shop]\naws_access_key_id=AKIDSHOP\n"
                                "aws_secret_access_key=secretShop\naws_session_token = tokShop\n");
  std::string config = dir.Write("config",
                                 "[default]\nregion = us-east-1\n[profile ops]\n"
                                 "aws_access_key_id = AKIDOPS\naws_secret_access_key = secretOps\n"
                                 "[profile assumed]\nrole_arn = arn:aws:iam::1:role/x\n"
                                 "source_profile = default\n");
  auto shop = ReadSharedCredentialsFiles(creds, config, "shop");
  ASSERT_TRUE(shop) << shop.error().message;
  EXPECT_EQ(shop->access_key_id, "AKIDSHOP");
  EXPECT_EQ(shop->secret_access_key, "secretShop");
  EXPECT_EQ(shop->session_token, "tokShop");
  auto ops = ReadSharedCredentialsFiles(creds, config, "ops");
  ASSERT_TRUE(ops) << ops.error().message;
  EXPECT_EQ(ops->access_key_id, "AKIDOPS");
  auto missing = ReadSharedCredentialsFiles(creds, config, "nope");
  ASSERT_FALSE(missing);
  EXPECT_TRUE(Contains(missing.error().message, "no profile \"nope\" in " + creds));
  auto assumed = ReadSharedCredentialsFiles(creds, config, "assumed");
  ASSERT_FALSE(assumed);
  EXPECT_TRUE(Contains(assumed.error().message, "role_arn, SSO and credential_process"));
  for (const auto* e : {&missing, &assumed}) {
    EXPECT_FALSE(Contains(e->error().message, "secretDefault")) << e->error().message;
    EXPECT_FALSE(Contains(e->error().message, "secretShop")) << e->error().message;
  }

  // The same through a provider's configuration, and through the chain with AWS_PROFILE.
  auto src = AwsCredentialSource::FromYaml(
      Load("{profile: shop, shared_credentials_file: " + creds + ", config_file: " + config + "}"));
  ASSERT_TRUE(src) << src.error().message;
  auto c = src->Resolve();
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->access_key_id, "AKIDSHOP");
  EXPECT_FALSE(Contains(src->Describe(), "secretShop"));

  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
  setenv("AWS_SHARED_CREDENTIALS_FILE", creds.c_str(), 1);
  setenv("AWS_CONFIG_FILE", config.c_str(), 1);
  setenv("AWS_PROFILE", "ops", 1);
  auto chain = AwsCredentialSource::FromYaml(Load("{other: 1}"));
  ASSERT_TRUE(chain);
  auto cc = chain->Resolve();
  ASSERT_TRUE(cc) << cc.error().message;
  EXPECT_EQ(cc->access_key_id, "AKIDOPS");
  unsetenv("AWS_PROFILE");
  cc = chain->Resolve();
  ASSERT_TRUE(cc) << cc.error().message;
  EXPECT_EQ(cc->access_key_id, "AKIDDEFAULT");
  unsetenv("AWS_SHARED_CREDENTIALS_FILE");
  unsetenv("AWS_CONFIG_FILE");
}

TEST(AwsCredentialConfigTest, ErrorsNameTheKey) {
  struct Case {
    std::string yaml, error;
  } cases[] = {
      {"{profile: a, access_key_id: x, secret_access_key: y}", "choose one of"},
      {"{credential_source: imds}",
       "creds.yml:1:21: credential_source: expected "
       "ec2_instance_metadata or web_identity"},
      {"{imds_url: http://127.0.0.1:1}", "imds_url needs credential_source: ec2_instance_metadata"},
      // A profile's credentials do not come from IMDS or STS: their keys are refused with it.
      {"{profile: a, imds_url: http://127.0.0.1:1}",
       "imds_url needs credential_source: ec2_instance_metadata"},
      {"{profile: a, sts_url: http://127.0.0.1:1}",
       "sts_url needs credential_source: web_identity"},
      {"{config_file: /x}", "config_file needs profile"},
      // With a profile, the keys of the other sources are refused too (not ignored).
      {"{profile: ops, imds_url: http://127.0.0.1:1}",
       "creds.yml:1:26: imds_url: imds_url needs credential_source: ec2_instance_metadata"},
      {"{profile: ops, role_arn: arn:aws:iam::1:role/x}",
       "role_arn needs credential_source: web_identity"},
      {"{credential_source: ec2_instance_metadata, imds_url: ftp://x}",
       "expected an http:// or https:// URL"},
  };
  for (const Case& c : cases) {
    auto src = AwsCredentialSource::FromYaml(Load(c.yaml));
    ASSERT_FALSE(src) << c.yaml;
    EXPECT_TRUE(Contains(src.error().message, c.error)) << src.error().message;
  }
  unsetenv("AWS_ROLE_ARN");
  unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
  auto web = AwsCredentialSource::FromYaml(Load("{credential_source: web_identity}"));
  ASSERT_FALSE(web);
  EXPECT_TRUE(Contains(web.error().message, "web_identity needs role_arn (or AWS_ROLE_ARN"));
}

TEST(AwsImdsTest, TokenFirstThenRoleCredentialsCachedUntilNearExpiry) {
  testing::FakeImds imds;
  testing::FakeClock clock;
  CurlHttpClient http;
  imds.SetExpiration(clock.WallNow() + hours(1));
  auto src = AwsCredentialSource::FromYaml(
      Load("{credential_source: ec2_instance_metadata, imds_url: " + imds.base_url() + "}"));
  ASSERT_TRUE(src) << src.error().message;
  auto c = src->Resolve(&http, &clock);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->access_key_id, "ASIAFAKE1");
  EXPECT_EQ(c->session_token, "fakeImdsSessionToken1");
  EXPECT_EQ(imds.TokenRequests(), 1);
  EXPECT_EQ(imds.RefusedWithoutToken(), 0) << "every GET carries the IMDSv2 token";

  // Cached: 50 minutes later (10 before expiry) nothing is fetched; a copy shares the cache.
  clock.Advance(minutes(50));
  AwsCredentialSource copy = *src;
  c = copy.Resolve(&http, &clock);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->access_key_id, "ASIAFAKE1");
  EXPECT_EQ(imds.CredentialRequests(), 1);
  // Within 5 minutes of expiry: fetched again, before they run out.
  imds.SetExpiration(clock.WallNow() + hours(2));
  clock.Advance(minutes(6));
  c = src->Resolve(&http, &clock);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->access_key_id, "ASIAFAKE2");
  EXPECT_EQ(imds.CredentialRequests(), 2);
  EXPECT_EQ(imds.TokenRequests(), 2);

  // No role attached: a clear error, no secret in it.
  testing::FakeImds bare;
  bare.SetNoRole(true);
  auto none = AwsCredentialSource::FromYaml(
      Load("{credential_source: ec2_instance_metadata, imds_url: " + bare.base_url() + "}"));
  ASSERT_TRUE(none);
  auto e = none->Resolve(&http, &clock);
  ASSERT_FALSE(e);
  EXPECT_TRUE(Contains(e.error().message, "no instance role attached")) << e.error().message;
}

TEST(AwsWebIdentityTest, AssumesTheRoleWithTheTokenFileAndSignsWithTheResult) {
  testing::TempDir dir;
  std::string token_file = dir.Write("token", "eyJhbGciOiJSUzI1NiJ9.fake.jwt\n");
  const std::string role = "arn:aws:iam::123456789012:role/failover";
  testing::FakeSts sts(role, "eyJhbGciOiJSUzI1NiJ9.fake.jwt");
  testing::FakeClock clock;
  CurlHttpClient http;
  sts.SetExpiration(clock.WallNow() + hours(1));
  // As in an EKS pod: the environment names the role and the token file.
  unsetenv("AWS_ACCESS_KEY_ID");
  setenv("AWS_ROLE_ARN", role.c_str(), 1);
  setenv("AWS_WEB_IDENTITY_TOKEN_FILE", token_file.c_str(), 1);
  setenv("AWS_ROLE_SESSION_NAME", "actuator-1", 1);
  auto src = AwsCredentialSource::FromYaml(
      Load("{credential_source: web_identity, sts_url: " + sts.base_url() + "}"));
  unsetenv("AWS_ROLE_ARN");
  unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
  unsetenv("AWS_ROLE_SESSION_NAME");
  ASSERT_TRUE(src) << src.error().message;
  auto c = src->Resolve(&http, &clock);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->access_key_id, "ASIASTSFAKE1");
  EXPECT_EQ(c->session_token, "fakeStsSessionToken1");
  EXPECT_EQ(sts.LastSessionName(), "actuator-1");
  c = src->Resolve(&http, &clock);
  EXPECT_EQ(sts.Calls(), 1) << "cached";

  // The token file is rotated and the credentials near their end: the new token is sent.
  sts.SetToken("rotated.jwt");
  dir.Write("token", "rotated.jwt");
  clock.Advance(minutes(56));
  sts.SetExpiration(clock.WallNow() + hours(1));
  c = src->Resolve(&http, &clock);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->access_key_id, "ASIASTSFAKE2");

  // STS down while the cached ones are still valid: they are used; once expired: an error
  // that may be retried.
  sts.FailNext(100);
  clock.Advance(minutes(56));
  c = src->Resolve(&http, &clock);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->access_key_id, "ASIASTSFAKE2");
  clock.Advance(minutes(5));
  c = src->Resolve(&http, &clock);
  ASSERT_FALSE(c);
  EXPECT_TRUE(c.error().retryable);
  EXPECT_TRUE(Contains(c.error().message, "HTTP 503")) << c.error().message;
  EXPECT_FALSE(Contains(c.error().message, "rotated.jwt"));
}

TEST(AwsWebIdentityTest, SignedRoute53CallWithAssumedRoleCredentials) {
  // STS hands out the key pair the fake Route 53 verifies, with a session token Route 53
  // then requires: the listing succeeds only when signed with what STS returned.
  testing::TempDir dir;
  std::string token_file = dir.Write("token", "jwt");
  testing::FakeSts sts("arn:aws:iam::1:role/r", "jwt");
  sts.IssueKeys(testing::kFakeAwsAccessKeyId, testing::kFakeAwsSecretAccessKey);
  testing::FakeRoute53 r53;
  r53.RequireSessionToken("fakeStsSessionToken1");
  r53.Put("www.example.com.", "A", 60, {"192.0.2.1"});
  testing::FakeClock clock;
  CurlHttpClient http;
  sts.SetExpiration(clock.WallNow() + hours(1));
  auto src = AwsCredentialSource::FromYaml(
      Load("{credential_source: web_identity, role_arn: \"arn:aws:iam::1:role/r\", "
           "web_identity_token_file: " +
           token_file + ", sts_url: " + sts.base_url() + "}"));
  ASSERT_TRUE(src) << src.error().message;
  AwsApi api("route53", r53.base_url(), "us-east-1", "route53", *src, &http, &clock);
  AwsCall call;
  call.path = std::string("/2013-04-01/hostedzone/") + testing::FakeRoute53::kZoneId + "/rrset";
  call.query = "maxitems=1";
  call.what = "listing";
  auto resp = api.Send(call, clock.Now() + minutes(1));
  ASSERT_TRUE(resp) << resp.error().message;
  EXPECT_TRUE(Contains(resp->body, "192.0.2.1"));
  EXPECT_EQ(sts.Calls(), 1);
  EXPECT_EQ(r53.RejectedAuth(), 0);
}

}  // namespace
}  // namespace failover
