// failover_exporter with --web.config.file: /metrics over TLS with basic auth, the web
// config re-read at SIGHUP, and --config.check honouring it.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <signal.h>

#include <regex>

#include "common/http_client.h"
#include "common/http_server.h"
#include "common/web_config.h"
#include "tests/support/basic_auth.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tls_cert.h"
#include "tests/support/wait.h"

namespace failover {
namespace {

using testing::Basic;
using testing::Binary;
using testing::Subprocess;
using testing::TlsCert;
using testing::WaitFor;

constexpr const char* kPassword = "scr4pe-Pa55-7c1d";
constexpr const char* kNewPassword = "rot4ted-Pa55-9e2f";

class ExporterWebTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cert_ = std::make_unique<TlsCert>(dir_.path());
    dir_.Write("exporter.yml",
               "defaults: {interval: 200ms, timeout: 150ms}\nregions: {us-east: {}}\nprobes:\n"
               "  - name: self\n    region: us-east\n    tcp: {address: \"127.0.0.1:1\"}\n");
  }
  void WriteWeb(const std::string& password) {
    auto hash = BcryptHash(password, 4);
    ASSERT_TRUE(hash);
    dir_.Write("web.yml", "tls_server_config:\n  cert_file: " + cert_->cert_path() +
                              "\n  key_file: " + cert_->key_path() +
                              "\nbasic_auth_users:\n  prometheus: " + *hash +
                              "\nhttp_server_config:\n  headers:\n    X-Content-Type-Options: "
                              "nosniff\n");
  }
  Result<HttpResponse> Scrape(int port, const std::string& scheme, const std::string& auth) {
    HttpRequest req;
    req.url = scheme + "://localhost:" + std::to_string(port) + "/metrics";
    req.tls.ca_file = cert_->cert_path();
    if (!auth.empty()) req.headers.emplace_back("Authorization", auth);
    req.timeout = std::chrono::seconds(10);
    return CurlHttpClient().Send(req);
  }

  testing::TempDir dir_;
  std::unique_ptr<TlsCert> cert_;
};

TEST_F(ExporterWebTest, ScrapesOverTlsWithBasicAuthAndReloadsTheWebConfig) {
  WriteWeb(kPassword);
  Subprocess p({Binary("failover_exporter"), "--config.file=" + dir_.path() + "/exporter.yml",
                "--web.config.file=" + dir_.path() + "/web.yml", "--web.listen-address=127.0.0.1:0",
                "--web.max-connections=4", "--web.request-timeout=5s"},
               dir_.path());
  int port = testing::WaitForListeningPort(p);
  ASSERT_NE(port, 0) << p.Stderr();

  auto ok = Scrape(port, "https", Basic("prometheus", kPassword));
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->status, 200);
  EXPECT_NE(ok->body.find("failover_exporter_config_last_reload_successful 1"), std::string::npos);
  EXPECT_EQ(ok->Header("x-content-type-options"), "nosniff");

  auto anonymous = Scrape(port, "https", "");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  EXPECT_EQ(anonymous->Header("www-authenticate"), "Basic realm=\"failover\"");
  EXPECT_EQ(anonymous->body.find("failover_exporter"), std::string::npos);
  auto plain = Scrape(port, "http", Basic("prometheus", kPassword));
  EXPECT_TRUE(!plain || plain->status != 200) << "plain HTTP served on the TLS listener";

  // A rotated password takes effect at SIGHUP; the old one stops working.
  WriteWeb(kNewPassword);
  p.Signal(SIGHUP);
  ASSERT_TRUE(WaitFor([&] {
    auto r = Scrape(port, "https", Basic("prometheus", kNewPassword));
    return r && r->status == 200;
  })) << p.Stderr();
  EXPECT_EQ(Scrape(port, "https", Basic("prometheus", kPassword))->status, 401);

  // An invalid web config is refused at reload; the running one keeps serving.
  dir_.Write("web.yml", "basic_auth_users:\n  prometheus: hunter2\n");
  p.Signal(SIGHUP);
  ASSERT_TRUE(WaitFor([&] {
    return p.Stderr().find("web.yml:2:15: basic_auth_users.prometheus") != std::string::npos;
  })) << p.Stderr();
  EXPECT_EQ(Scrape(port, "https", Basic("prometheus", kNewPassword))->status, 200);

  for (const std::string& secret :
       {std::string(kPassword), std::string(kNewPassword), std::string("hunter2")}) {
    EXPECT_EQ(p.Stderr().find(secret), std::string::npos) << "secret in the log";
  }
}

TEST_F(ExporterWebTest, ConfigCheckHonoursTheWebConfig) {
  WriteWeb(kPassword);
  auto good = Subprocess::Run({Binary("failover_exporter"), "--config.check",
                               "--config.file=" + dir_.path() + "/exporter.yml",
                               "--web.config.file=" + dir_.path() + "/web.yml"},
                              dir_.path());
  EXPECT_EQ(good.status, 0) << good.err;
  EXPECT_NE(good.out.find("web.yml: OK, TLS, basic auth"), std::string::npos) << good.out;

  dir_.Write("web.yml", "tls_server_config:\n  cert_file: c\n  key_file: k\n  keyfile: k\n");
  auto bad = Subprocess::Run({Binary("failover_exporter"), "--config.check",
                              "--config.file=" + dir_.path() + "/exporter.yml",
                              "--web.config.file=" + dir_.path() + "/web.yml"},
                             dir_.path());
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("web.yml:4:3: tls_server_config.keyfile: unknown key"), std::string::npos)
      << bad.err;

  auto flag = Subprocess::Run(
      {Binary("failover_exporter"), "--config.check",
       "--config.file=" + dir_.path() + "/exporter.yml", "--web.max-connections=lots"},
      dir_.path());
  EXPECT_EQ(flag.status, 2);
  EXPECT_NE(flag.err.find("--web.max-connections"), std::string::npos) << flag.err;
}

TEST_F(ExporterWebTest, UnloadableCertificateStopsTheStart) {
  dir_.Write("web.yml",
             "tls_server_config:\n  cert_file: /nonexistent/missing.pem\n  key_file: k.pem\n");
  Subprocess p(
      {Binary("failover_exporter"), "--config.file=" + dir_.path() + "/exporter.yml",
       "--web.config.file=" + dir_.path() + "/web.yml", "--web.listen-address=127.0.0.1:0"},
      dir_.path());
  auto status = p.Wait();
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 1);
  EXPECT_NE(p.Stderr().find("cert_file \\\"/nonexistent/missing.pem\\\" cannot be loaded"),
            std::string::npos)
      << p.Stderr();
}

}  // namespace
}  // namespace failover
