// failover_actuator with --web.config.file: TLS and basic_auth_users on every route, on
// top of (not instead of) the webhook's own auth.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <regex>

#include "common/http_client.h"
#include "common/web_config.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tls_cert.h"
#include "tests/support/wait.h"

namespace failover {
namespace {

using testing::Binary;
using testing::Subprocess;
using testing::TlsCert;
using testing::WaitFor;

constexpr const char* kScrapePassword = "scr4pe-Pa55-41aa";
constexpr const char* kWebhookPassword = "w3bhook-Pa55-77bc";

std::string Basic(const std::string& user, const std::string& password) {
  std::string plain = user + ":" + password;
  std::string out(4 * ((plain.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(plain.data()),
                          static_cast<int>(plain.size()));
  out.resize(static_cast<size_t>(n));
  return "Basic " + out;
}

const char* kAlert =
    R"({"version":"4","groupKey":"{}:{}","status":"firing","receiver":"failover",)"
    R"("alerts":[{"status":"firing","labels":{"alertname":"Unrelated"},"annotations":{},)"
    R"("startsAt":"2026-11-21T22:40:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"1"}]})";

class ActuatorWebTest : public ::testing::Test {
 protected:
  void SetUp() override {
    d_ = dir_.path();
    cert_ = std::make_unique<TlsCert>(d_);
    dir_.Write("webhook.pw", kWebhookPassword);
    auto scrape = BcryptHash(kScrapePassword, 4);
    auto webhook = BcryptHash(kWebhookPassword, 4);
    ASSERT_TRUE(scrape && webhook);
    dir_.Write("web.yml", "tls_server_config:\n  cert_file: " + cert_->cert_path() +
                              "\n  key_file: " + cert_->key_path() +
                              "\nbasic_auth_users:\n  prometheus: " + *scrape +
                              "\n  alertmanager: " + *webhook + "\n");
  }
  std::string Config(const std::string& webhook_auth) {
    return dir_.Write("actuator.yml", "webhook: {" + webhook_auth + "}\njournal: " + d_ +
                                          "/journal.db\nrunbooks:\n"
                                          "  - name: noop\n"
                                          "    match: {alertname: RegionDown}\n"
                                          "    steps:\n"
                                          "      - exec: {argv: [/bin/true]}\n");
  }
  std::unique_ptr<Subprocess> Start(const std::string& config) {
    auto p = std::make_unique<Subprocess>(
        std::vector<std::string>{Binary("failover_actuator"), "--config.file=" + config,
                                 "--web.config.file=" + d_ + "/web.yml",
                                 "--web.listen-address=127.0.0.1:0"},
        d_);
    port_ = 0;
    WaitFor([&] {
      std::smatch m;
      std::string err = p->Stderr();
      static const std::regex re("msg=listening address=127\\.0\\.0\\.1:([0-9]+)");
      if (std::regex_search(err, m, re)) port_ = std::stoi(m[1]);
      return port_ != 0 || !p->Running();
    });
    return p;
  }
  Result<HttpResponse> Call(const std::string& method, const std::string& path,
                            const std::string& auth, const std::string& body = "") {
    HttpRequest req;
    req.method = method;
    req.url = "https://localhost:" + std::to_string(port_) + path;
    req.tls.ca_file = cert_->cert_path();
    req.body = body;
    if (!auth.empty()) req.headers.emplace_back("Authorization", auth);
    req.headers.emplace_back("Content-Type", "application/json");
    req.timeout = std::chrono::seconds(10);
    return CurlHttpClient().Send(req);
  }

  testing::TempDir dir_;
  std::string d_;
  std::unique_ptr<TlsCert> cert_;
  int port_ = 0;
};

TEST_F(ActuatorWebTest, TlsAndBasicAuthGuardEveryRouteAndTheWebhookAuthStillHolds) {
  auto p =
      Start(Config("basic_auth: {username: alertmanager, password_file: " + d_ + "/webhook.pw}"));
  ASSERT_NE(port_, 0) << p->Stderr();

  auto metrics = Call("GET", "/metrics", Basic("prometheus", kScrapePassword));
  ASSERT_TRUE(metrics) << metrics.error().message;
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("failover_actuator_"), std::string::npos);
  for (const char* path : {"/metrics", "/", "/-/healthy", "/api/v1/executions"}) {
    auto r = Call("GET", path, "");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->status, 401) << path;
  }

  // The webhook needs both: a user of basic_auth_users and the webhook's own credentials.
  auto hook = Call("POST", "/webhook", Basic("alertmanager", kWebhookPassword), kAlert);
  ASSERT_TRUE(hook) << hook.error().message;
  EXPECT_EQ(hook->status, 202) << hook->body;
  auto scraper = Call("POST", "/webhook", Basic("prometheus", kScrapePassword), kAlert);
  ASSERT_TRUE(scraper);
  EXPECT_EQ(scraper->status, 401) << "the listener's users passed the webhook's own auth";

  for (const char* secret : {kScrapePassword, kWebhookPassword}) {
    EXPECT_EQ(p->Stderr().find(secret), std::string::npos) << "secret in the log";
  }
}

TEST_F(ActuatorWebTest, BearerWebhookTokenWithBasicAuthUsersIsRefusedAtStart) {
  dir_.Write("webhook.token", "wh-token-0123456789");
  auto p = Start(Config("bearer_token_file: " + d_ + "/webhook.token"));
  auto status = p->Wait();
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 1);
  EXPECT_NE(p->Stderr().find("webhook: a bearer token cannot be combined with basic_auth_users"),
            std::string::npos)
      << p->Stderr();
  // --config.check (ExecStartPre in the unit) catches it before a start is attempted.
  auto check = Subprocess::Run(
      {Binary("failover_actuator"), "--config.check", "--config.file=" + d_ + "/actuator.yml",
       "--web.config.file=" + d_ + "/web.yml"},
      d_);
  EXPECT_EQ(check.status, 1);
  EXPECT_NE(check.err.find("webhook: a bearer token cannot be combined"), std::string::npos)
      << check.err;
}

}  // namespace
}  // namespace failover
