// --web.config.file parsing (exporter-toolkit format), located errors, bcrypt checks and
// the verified-credentials cache.
#include "common/web_config.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "common/flags.h"
#include "tests/support/basic_auth.h"

namespace failover {
namespace {

Result<WebConfig> Parse(const std::string& text) {
  auto root = YamlNode::LoadString(text, "web.yml");
  if (!root) return root.error();
  return ParseWebConfig(*root);
}

std::string ErrorOf(const std::string& text) {
  auto r = Parse(text);
  if (r) return "(no error)";
  return r.error().message;
}

std::string BasicHeader(const std::string& user, const std::string& password) {
  return testing::BasicAuthorization(user + ":" + password);
}

TEST(WebConfigTest, EmptyFileChangesNothing) {
  auto c = Parse("");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_FALSE(c->tls);
  EXPECT_TRUE(c->headers.empty());
  EXPECT_TRUE(c->basic_auth_users.empty());
}

TEST(WebConfigTest, ParsesEverySupportedKey) {
  auto hash = BcryptHash("secret", 4);
  ASSERT_TRUE(hash);
  auto c = Parse(
      "tls_server_config:\n"
      "  cert_file: /etc/failover/tls/server.crt\n"
      "  key_file: /etc/failover/tls/server.key\n"
      "  client_auth_type: RequireAndVerifyClientCert\n"
      "  client_ca_file: /etc/failover/tls/clients-ca.crt\n"
      "  min_version: TLS13\n"
      "  max_version: TLS13\n"
      "http_server_config:\n"
      "  http2: false\n"
      "  headers:\n"
      "    X-Frame-Options: deny\n"
      "    Content-Security-Policy: \"\"\n"
      "    Strict-Transport-Security: max-age=31536000\n"
      "basic_auth_users:\n"
      "  prometheus: " +
      *hash + "\n");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_TRUE(c->tls);
  EXPECT_EQ(c->tls->cert_file, "/etc/failover/tls/server.crt");
  EXPECT_EQ(c->tls->key_file, "/etc/failover/tls/server.key");
  EXPECT_EQ(c->tls->client_auth, ClientAuthType::kRequireAndVerifyClientCert);
  EXPECT_EQ(c->tls->client_ca_file, "/etc/failover/tls/clients-ca.crt");
  EXPECT_EQ(c->tls->min_version, TlsVersion::kTls13);
  EXPECT_EQ(c->tls->max_version, TlsVersion::kTls13);
  // A blank header value means "unset", as in exporter-toolkit.
  ASSERT_EQ(c->headers.size(), 2u);
  EXPECT_EQ(c->headers[0], (std::pair<std::string, std::string>{"X-Frame-Options", "deny"}));
  EXPECT_EQ(c->headers[1].first, "Strict-Transport-Security");
  EXPECT_EQ(c->basic_auth_users.at("prometheus"), *hash);
}

TEST(WebConfigTest, TlsDefaults) {
  auto c = Parse("tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->tls->client_auth, ClientAuthType::kNoClientCert);
  EXPECT_EQ(c->tls->min_version, TlsVersion::kTls12);
  EXPECT_EQ(c->tls->max_version, TlsVersion::kTls13);
}

TEST(WebConfigTest, EveryClientAuthType) {
  const std::pair<const char*, ClientAuthType> cases[] = {
      {"NoClientCert", ClientAuthType::kNoClientCert},
      {"RequestClientCert", ClientAuthType::kRequestClientCert},
      {"RequireAnyClientCert", ClientAuthType::kRequireAnyClientCert},
      {"VerifyClientCertIfGiven", ClientAuthType::kVerifyClientCertIfGiven},
      {"RequireAndVerifyClientCert", ClientAuthType::kRequireAndVerifyClientCert},
  };
  for (const auto& [name, type] : cases) {
    bool verifies = type == ClientAuthType::kVerifyClientCertIfGiven ||
                    type == ClientAuthType::kRequireAndVerifyClientCert;
    auto c = Parse(std::string("tls_server_config:\n  cert_file: c\n  key_file: k\n") +
                   "  client_auth_type: " + name + "\n" +
                   (verifies ? "  client_ca_file: ca.pem\n" : ""));
    ASSERT_TRUE(c) << name << ": " << c.error().message;
    EXPECT_EQ(c->tls->client_auth, type) << name;
  }
}

TEST(WebConfigTest, UnknownKeysNameFileLineColumnAndKey) {
  EXPECT_EQ(ErrorOf("basic_auth_users: {}\ntls_config:\n  cert_file: x\n"),
            "web.yml:2:1: tls_config: unknown key \"tls_config\" (known keys: "
            "tls_server_config, http_server_config, basic_auth_users)");
  std::string e = ErrorOf("tls_server_config:\n  cert_file: c\n  key_file: k\n  keyfile: k\n");
  EXPECT_NE(e.find("web.yml:4:3: tls_server_config.keyfile: unknown key \"keyfile\""),
            std::string::npos)
      << e;
  e = ErrorOf("http_server_config:\n  headerz: {}\n");
  EXPECT_NE(e.find("web.yml:2:3: http_server_config.headerz: unknown key"), std::string::npos) << e;
}

TEST(WebConfigTest, RefusesWhatItCannotHonour) {
  std::string e =
      ErrorOf("tls_server_config:\n  cert_file: c\n  key_file: k\n  cipher_suites: []\n");
  EXPECT_NE(e.find("web.yml:4:18: tls_server_config.cipher_suites: \"cipher_suites\" is not "
                   "supported"),
            std::string::npos)
      << e;
  e = ErrorOf("rate_limit:\n  interval: 1s\n  burst: 20\n");
  EXPECT_NE(e.find("web.yml:2:3: rate_limit: \"rate_limit\" is not supported"), std::string::npos)
      << e;
}

TEST(WebConfigTest, InvalidTlsSettingsAreLocated) {
  EXPECT_EQ(ErrorOf("tls_server_config:\n  key_file: k\n"),
            "web.yml:2:3: tls_server_config: missing required key \"cert_file\"");
  EXPECT_NE(ErrorOf("tls_server_config:\n  cert_file: c\n  key_file: k\n"
                    "  client_auth_type: Maybe\n")
                .find("web.yml:4:21: tls_server_config.client_auth_type: unknown "
                      "client_auth_type \"Maybe\""),
            std::string::npos);
  EXPECT_NE(ErrorOf("tls_server_config:\n  cert_file: c\n  key_file: k\n"
                    "  client_ca_file: ca.pem\n")
                .find("web.yml:4:19: tls_server_config.client_ca_file: client_ca_file is set "
                      "but client_auth_type is NoClientCert"),
            std::string::npos);
  EXPECT_NE(ErrorOf("tls_server_config:\n  cert_file: c\n  key_file: k\n"
                    "  client_auth_type: RequireAndVerifyClientCert\n")
                .find("set client_ca_file"),
            std::string::npos);
  EXPECT_NE(ErrorOf("tls_server_config:\n  cert_file: c\n  key_file: k\n  min_version: SSL3\n")
                .find("web.yml:4:16: tls_server_config.min_version: unknown TLS version \"SSL3\""),
            std::string::npos);
  EXPECT_NE(ErrorOf("tls_server_config:\n  cert_file: c\n  key_file: k\n  min_version: TLS13\n"
                    "  max_version: TLS12\n")
                .find("web.yml:5:16: tls_server_config.max_version: max_version is below "
                      "min_version"),
            std::string::npos);
}

TEST(WebConfigTest, BasicAuthUsersMustBeBcryptAndTheValueIsNotEchoed) {
  std::string e = ErrorOf("basic_auth_users:\n  alice: plaintext-password\n");
  EXPECT_NE(e.find("web.yml:2:10: basic_auth_users.alice: the password of \"alice\" must be a "
                   "bcrypt hash"),
            std::string::npos)
      << e;
  EXPECT_EQ(e.find("plaintext-password"), std::string::npos) << e;
  EXPECT_NE(ErrorOf("basic_auth_users:\n  alice: [1]\n").find("web.yml:2:10"), std::string::npos);
}

TEST(WebConfigTest, HeaderValuesAreChecked) {
  EXPECT_NE(ErrorOf("http_server_config:\n  headers:\n    Content-Type: text/html\n")
                .find("web.yml:3:19: http_server_config.headers.Content-Type: header "
                      "\"Content-Type\" cannot be set here"),
            std::string::npos);
  EXPECT_NE(ErrorOf("http_server_config:\n  http2: maybe\n").find("web.yml:2:10"),
            std::string::npos);
}

TEST(WebConfigTest, LoadFileNamesTheFile) {
  auto r = LoadWebConfigFile("/nonexistent/web.yml");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("/nonexistent/web.yml"), std::string::npos);
}

TEST(BcryptTest, VerifiesRightAndWrongPasswords) {
  auto hash = BcryptHash("correct horse", 4);
  ASSERT_TRUE(hash) << hash.error().message;
  EXPECT_EQ(hash->rfind("$2b$04$", 0), 0u);
  EXPECT_EQ(hash->size(), 60u);
  EXPECT_TRUE(BcryptMatches("correct horse", *hash));
  EXPECT_FALSE(BcryptMatches("correct horsE", *hash));
  EXPECT_FALSE(BcryptMatches("", *hash));
  // htpasswd -B writes $2y$, which is the same algorithm.
  std::string y = "$2y$" + hash->substr(4);
  EXPECT_TRUE(BcryptMatches("correct horse", y));
  EXPECT_FALSE(BcryptMatches("wrong", y));
  EXPECT_FALSE(BcryptMatches("correct horse", "not a hash"));
}

TEST(BasicAuthVerifierTest, CachesOnlySuccessfulVerifications) {
  auto alice = BcryptHash("alice-pw", 4);
  auto bob = BcryptHash("bob-pw", 4);
  ASSERT_TRUE(alice && bob);
  BasicAuthVerifier v({{"alice", *alice}, {"bob", *bob}});
  ASSERT_TRUE(v.enabled());

  EXPECT_TRUE(v.Verify("alice", "alice-pw"));
  EXPECT_EQ(v.bcrypt_runs(), 1u);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(v.Verify("alice", "alice-pw"));
  EXPECT_EQ(v.bcrypt_runs(), 1u) << "a repeated scrape must not cost a bcrypt";

  // Wrong passwords are never cached: every guess costs a bcrypt.
  EXPECT_FALSE(v.Verify("alice", "guess"));
  EXPECT_FALSE(v.Verify("alice", "guess"));
  EXPECT_EQ(v.bcrypt_runs(), 3u);
  // Another user's password is wrong for alice, cached or not.
  EXPECT_TRUE(v.Verify("bob", "bob-pw"));
  EXPECT_FALSE(v.Verify("alice", "bob-pw"));
  // Unknown users cost a bcrypt too and never succeed, even with a known password.
  uint64_t before = v.bcrypt_runs();
  EXPECT_FALSE(v.Verify("mallory", "alice-pw"));
  EXPECT_FALSE(v.Verify("mallory", "alice-pw"));
  EXPECT_EQ(v.bcrypt_runs(), before + 2);
}

TEST(BasicAuthVerifierTest, ChecksAuthorizationHeaders) {
  auto hash = BcryptHash("pa:ss", 4);
  ASSERT_TRUE(hash);
  BasicAuthVerifier v({{"prometheus", *hash}});
  EXPECT_TRUE(v.CheckHeader(BasicHeader("prometheus", "pa:ss")));
  EXPECT_FALSE(v.CheckHeader(BasicHeader("prometheus", "pa")));
  EXPECT_FALSE(v.CheckHeader(""));
  EXPECT_FALSE(v.CheckHeader("Bearer abc"));
  EXPECT_FALSE(v.CheckHeader("Basic !!!!"));
  EXPECT_FALSE(BasicAuthVerifier({}).enabled());
}

TEST(WebFlagsTest, ParsesAndValidates) {
  WebFlags wf;
  Flags flags("t", "t");
  wf.Register(flags, 8);
  const char* argv[] = {"t", "--web.config.file=w.yml", "--web.max-connections=32",
                        "--web.request-timeout=3s", "--web.max-header-bytes=8192"};
  ASSERT_TRUE(flags.Parse(5, argv));
  auto o = wf.Parse();
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->config_file, "w.yml");
  EXPECT_EQ(o->max_connections, 32);
  EXPECT_EQ(o->request_timeout, std::chrono::seconds(3));
  EXPECT_EQ(o->max_header_bytes, 8192u);
  EXPECT_NE(flags.Usage().find("--web.max-connections=VALUE"), std::string::npos);

  WebFlags bad;
  bad.max_connections = "0";
  EXPECT_NE(bad.Parse().error().message.find("--web.max-connections"), std::string::npos);
  bad.max_connections = "4";
  bad.request_timeout = "soon";
  EXPECT_NE(bad.Parse().error().message.find("--web.request-timeout"), std::string::npos);
}

}  // namespace
}  // namespace failover
