// failover_actuator with --web.config.file: TLS and basic_auth_users on every route, on
// top of (not instead of) the webhook's own auth. And its web layer against hostile
// clients (issue 14): slow bodies, cross-site requests, anonymous readers, 413s counted.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <regex>
#include <thread>

#include "common/http_client.h"
#include "common/web_config.h"
#include "tests/support/basic_auth.h"
#include "tests/support/raw_conn.h"
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

constexpr const char* kScrapePassword = "scr4pe-Pa55-41aa";
constexpr const char* kWebhookPassword = "w3bhook-Pa55-77bc";

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
  std::unique_ptr<Subprocess> Start(const std::string& config, bool web_config = true) {
    std::vector<std::string> argv = {Binary("failover_actuator"), "--config.file=" + config,
                                     "--web.listen-address=127.0.0.1:0"};
    if (web_config) argv.push_back("--web.config.file=" + d_ + "/web.yml");
    auto p = std::make_unique<Subprocess>(argv, d_);
    port_ = testing::WaitForListeningPort(*p);
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

using testing::RawConn;

constexpr const char* kWebhookToken = "wh-token-0123456789";
constexpr const char* kApiToken = "api-token-9876543210";

// Plain HTTP, no web config: the webhook and the API each with a bearer token.
class ActuatorHostileClientsTest : public ActuatorWebTest {
 protected:
  void SetUp() override {
    ActuatorWebTest::SetUp();
    dir_.Write("webhook.token", kWebhookToken);
    dir_.Write("api.token", kApiToken);
    config_ = dir_.Write("actuator.yml", "webhook: {bearer_token_file: " + d_ +
                                             "/webhook.token}\napi: {bearer_token_file: " + d_ +
                                             "/api.token}\njournal: " + d_ +
                                             "/journal.db\nrunbooks:\n"
                                             "  - name: noop\n"
                                             "    match: {alertname: RegionDown}\n"
                                             "    steps:\n"
                                             "      - exec: {argv: [/bin/true]}\n");
  }
  Result<HttpResponse> Plain(const std::string& method, const std::string& path,
                             std::vector<std::pair<std::string, std::string>> headers,
                             const std::string& body = "") {
    HttpRequest req;
    req.method = method;
    req.url = "http://localhost:" + std::to_string(port_) + path;
    req.headers = std::move(headers);
    req.body = body;
    // Generous: the bound shows "not blocked" (a blocked request waits for the slow
    // clients' 10 s request timeout), it is no performance assertion.
    req.timeout = std::chrono::seconds(5);
    return CurlHttpClient().Send(req);
  }
  std::pair<std::string, std::string> Hook() const {
    return {"Authorization", std::string("Bearer ") + kWebhookToken};
  }
  std::pair<std::string, std::string> Api() const {
    return {"Authorization", std::string("Bearer ") + kApiToken};
  }
  std::pair<std::string, std::string> Json() const { return {"Content-Type", "application/json"}; }
  std::string Metric(const std::string& series) {
    auto m = Plain("GET", "/metrics", {});
    if (!m) return "";
    size_t at = m->body.find("\n" + series + " ");
    if (at == std::string::npos) return "";
    at += series.size() + 2;
    return m->body.substr(at, m->body.find('\n', at) - at);
  }

  std::string config_;
};

TEST_F(ActuatorHostileClientsTest, SlowBodiesDoNotBlockHealthApiOrAnAuthenticatedWebhook) {
  auto p = Start(config_, false);
  ASSERT_NE(port_, 0) << p->Stderr();
  // 48 connections, three times the actuator's 16 worker threads: unauthenticated
  // webhooks and API calls that announce a body and trickle it (Content-Length and
  // chunked), authenticated ones that do the same, and a header trickle.
  std::vector<std::unique_ptr<RawConn>> slow;
  const std::string hook = std::string("Authorization: Bearer ") + kWebhookToken + "\r\n";
  for (int i = 0; i < 48; ++i) {
    slow.push_back(std::make_unique<RawConn>(port_));
    ASSERT_TRUE(slow.back()->connected());
    std::string head;
    switch (i % 6) {
      case 0:
        head = "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n{";
        break;
      case 1:
        head = "POST /webhook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1388\r\n{";
        break;
      case 2:
        head =
            "POST /api/v1/runbooks/noop/run HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n{";
        break;
      case 3:
        head = "POST /webhook HTTP/1.1\r\nHost: x\r\n" + hook +
               "Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{";
        break;
      case 4:
        head = "POST /webhook HTTP/1.1\r\nHost: x\r\n" + hook +
               "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1388\r\n{";
        break;
      default:
        head = "GET /-/healthy HTTP/1.1\r\nHost: x\r\nX-Slow: ";
        break;
    }
    slow.back()->Send(head);
  }
  std::atomic<bool> done{false};
  std::thread trickler([&] {
    while (!done) {
      for (auto& c : slow) c->Send(" ");
      for (int w = 0; w < 50 && !done; ++w)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  struct StopAndJoin {
    std::atomic<bool>& done;
    std::thread& thread;
    ~StopAndJoin() {  // also when an assertion below returns early
      done = true;
      thread.join();
    }
  } stop{done, trickler};
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto healthy = Plain("GET", "/-/healthy", {});
  ASSERT_TRUE(healthy) << "blocked by slow clients: " << healthy.error().message;
  EXPECT_EQ(healthy->status, 200);
  auto metrics = Plain("GET", "/metrics", {});
  ASSERT_TRUE(metrics) << "blocked by slow clients: " << metrics.error().message;
  EXPECT_EQ(metrics->status, 200);
  auto api = Plain("GET", "/api/v1/executions", {Api()});
  ASSERT_TRUE(api) << "blocked by slow clients: " << api.error().message;
  EXPECT_EQ(api->status, 200);
  auto webhook = Plain("POST", "/webhook", {Hook(), Json()}, kAlert);
  ASSERT_TRUE(webhook) << "blocked by slow clients: " << webhook.error().message;
  EXPECT_EQ(webhook->status, 202) << webhook->body;
}

TEST_F(ActuatorHostileClientsTest, CredentialsAreCheckedBeforeTheBodyAndRefusalsCount) {
  auto p = Start(config_, false);
  ASSERT_NE(port_, 0) << p->Stderr();
  // Headers only: the announced body never comes, the answer must not wait for it.
  RawConn anon(port_);
  ASSERT_TRUE(anon.connected());
  anon.Send(
      "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 4000\r\n\r\n");
  std::string answer = anon.Answer();
  EXPECT_EQ(answer.rfind("HTTP/1.1 401 ", 0), 0u) << answer;
  RawConn api(port_);
  ASSERT_TRUE(api.connected());
  api.Send(
      "POST /api/v1/runbooks/noop/run HTTP/1.1\r\nHost: x\r\n"
      "Content-Type: application/json\r\nContent-Length: 4000\r\n\r\n");
  answer = api.Answer();
  EXPECT_EQ(answer.rfind("HTTP/1.1 401 ", 0), 0u) << answer;
  // A body over the listener's limit is refused by the HTTP layer before any handler:
  // it counts like the handler's answers.
  RawConn big(port_);
  ASSERT_TRUE(big.connected());
  big.Send("POST /webhook HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
           std::string(kWebhookToken) +
           "\r\nContent-Type: application/json\r\nContent-Length: 50000000\r\n\r\n");
  answer = big.Answer();
  EXPECT_EQ(answer.rfind("HTTP/1.1 413 ", 0), 0u) << answer;
  EXPECT_EQ(Metric("failover_actuator_webhook_requests_total{code=\"413\"}"), "1");
  EXPECT_EQ(Metric("failover_actuator_webhook_requests_total{code=\"401\"}"), "1");
}

TEST_F(ActuatorHostileClientsTest, CrossSiteRequestsAndOtherContentTypesRunNothing) {
  auto p = Start(config_, false);
  ASSERT_NE(port_, 0) << p->Stderr();
  const std::string run = "/api/v1/runbooks/noop/run";
  const std::string body = R"({"labels":{"region":"x"}})";
  // A page of another site posting with the operator's credentials (a browser would
  // attach basic auth on its own).
  auto evil = Plain("POST", run, {Api(), Json(), {"Origin", "http://evil.example"}}, body);
  ASSERT_TRUE(evil) << evil.error().message;
  EXPECT_EQ(evil->status, 403) << evil->body;
  auto referer =
      Plain("POST", run, {Api(), Json(), {"Referer", "https://evil.example/x.html"}}, body);
  ASSERT_TRUE(referer);
  EXPECT_EQ(referer->status, 403) << referer->body;
  // A form post (no preflight in a browser) is not JSON.
  auto form =
      Plain("POST", run, {Api(), {"Content-Type", "application/x-www-form-urlencoded"}}, body);
  ASSERT_TRUE(form);
  EXPECT_EQ(form->status, 415) << form->body;
  auto text = Plain("POST", "/webhook", {Hook(), {"Content-Type", "text/plain"}}, kAlert);
  ASSERT_TRUE(text);
  EXPECT_EQ(text->status, 415) << text->body;
  auto list = Plain("GET", "/api/v1/executions", {Api()});
  ASSERT_TRUE(list);
  EXPECT_EQ(list->body.find("noop"), std::string::npos) << "a refused request ran: " << list->body;
  // No CORS: a preflight is not answered with Access-Control-Allow-*.
  auto pre = Plain("OPTIONS", run,
                   {{"Origin", "http://evil.example"}, {"Access-Control-Request-Method", "POST"}});
  ASSERT_TRUE(pre) << pre.error().message;
  EXPECT_EQ(pre->Header("access-control-allow-origin"), "");
  EXPECT_EQ(pre->Header("access-control-allow-methods"), "");
  // The CLI (no Origin) and the daemon's own page keep working.
  auto cli = Plain("POST", run, {Api(), Json()}, body);
  ASSERT_TRUE(cli);
  EXPECT_EQ(cli->status, 202) << cli->body;
  auto own = Plain("POST", run,
                   {Api(), Json(), {"Origin", "http://localhost:" + std::to_string(port_)}}, body);
  ASSERT_TRUE(own);
  EXPECT_EQ(own->status, 202) << own->body;
}

TEST_F(ActuatorHostileClientsTest, StatusPageAndReloadNeedTheApiCredentials) {
  auto p = Start(config_, false);
  ASSERT_NE(port_, 0) << p->Stderr();
  auto page = Plain("GET", "/", {});
  ASSERT_TRUE(page) << page.error().message;
  EXPECT_EQ(page->status, 401);
  EXPECT_EQ(page->body.find("noop"), std::string::npos) << "runbooks shown to anyone";
  auto reload = Plain("POST", "/-/reload", {});
  ASSERT_TRUE(reload);
  EXPECT_EQ(reload->status, 401);
  auto wrong = Plain("GET", "/", {{"Authorization", "Bearer nope"}});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  auto ok = Plain("GET", "/", {Api()});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_NE(ok->body.find("noop"), std::string::npos);
  auto reloaded = Plain("POST", "/-/reload", {Api()});
  ASSERT_TRUE(reloaded);
  EXPECT_EQ(reloaded->status, 200) << reloaded->body;
  // PUT reloads as POST does, behind the same credentials.
  auto put = Plain("PUT", "/-/reload", {});
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 401);
  auto put_ok = Plain("PUT", "/-/reload", {Api()});
  ASSERT_TRUE(put_ok);
  EXPECT_EQ(put_ok->status, 200) << put_ok->body;
  // Health and metrics stay open to probes and scrapers.
  EXPECT_EQ(Plain("GET", "/-/healthy", {})->status, 200);
  EXPECT_EQ(Plain("GET", "/metrics", {})->status, 200);
}

}  // namespace
}  // namespace failover
