// failover_actuator as an operator runs it: the webhook's answers to good and bad input,
// the API, a SIGKILL in the middle of a runbook, and secrets kept out of every output.
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "common/http_client.h"
#include "tests/support/fake_cloudflare.h"
#include "tests/support/fake_pagerduty.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_http_server.h"
#include "tests/support/wait.h"
#include "tests/support/webhook_payload.h"

namespace failover {
namespace {

using nlohmann::json;
using testing::Binary;
using testing::CountLines;
using testing::ReadFile;
using testing::Subprocess;
using testing::WaitFor;

constexpr const char* kWebhookToken = "wh-T0KEN-5ecret-9f8e7d";
constexpr const char* kAdminToken = "adm-T0KEN-5ecret-1a2b3c";
constexpr const char* kDbPassword = "dbPa55-5ecret-4d4d4d";
constexpr const char* kFlushToken = "flush-T0KEN-5ecret-5e5e";

std::string Payload(const std::string& starts = "2026-11-21T22:40:00Z") {
  return testing::RegionDownWebhook({.starts_at = starts});
}

class ActuatorProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    d_ = dir_.path();
    dir_.Write("webhook.token", std::string(kWebhookToken) + "\n");
    dir_.Write("admin.token", kAdminToken);
    dir_.Write("pd.key", testing::FakePagerDuty::kRoutingKey);
    dir_.Write("cf.token", cf_.token());
    dir_.Write("db.password", kDbPassword);
    dir_.Write("flush.token", kFlushToken);
    web_.SetBearerToken(kFlushToken);
    cf_.AddRecord({0, "A", "www.example.com", "127.0.0.2", 60});
    // Four steps that leave traces: step 2 waits for a gate file so a test can kill the
    // process while it runs.
    std::string sh = "/bin/sh";
    config_ = "webhook: {bearer_token_file: " + d_ + "/webhook.token, max_body_bytes: 4096}\n" +
              "api: {bearer_token_file: " + d_ + "/admin.token}\n" + "journal: " + d_ +
              "/journal.db\n" + "pagerduty: {routing_key_file: " + d_ + "/pd.key, url: \"" +
              pd_.url() + "\"}\n" + "providers:\n  cf: {cloudflare: {api_token_file: " + d_ +
              "/cf.token, zone_id: " + testing::FakeCloudflare::kZoneId + ", url: \"" +
              cf_.base_url() + "\"}}\n" + "databases:\n  old-db: {mysql: {address: 127.0.0.1:" +
              std::to_string(testing::ClosedPort()) + ", user: failover, password_file: " + d_ +
              "/db.password}}\n" +
              "runbooks:\n"
              "  - name: failover-us-east\n"
              "    match: {alertname: RegionDown, region: us-east}\n"
              "    cooldown: 30m\n"
              "    steps:\n"
              "      - exec: {argv: [" +
              sh + ", -c, 'echo {{labels.region}} >> " + d_ +
              "/s1.log']}\n"
              "      - exec: {argv: [" +
              sh + ", -c, 'echo run >> " + d_ + "/s2.log; while [ ! -f " + d_ +
              "/gate ]; do sleep 0.02; done'], timeout: 60s}\n"
              "      - exec: {argv: [" +
              sh + ", -c, 'echo {{execution_id}} >> " + d_ +
              "/s3.log']}\n"
              "      - exec: {argv: [" +
              sh + ", -c, 'echo done >> " + d_ + "/s4.log']}\n" +
              // Every kind of secret in use, and a failure that pages.
              "  - name: secrets-drill\n"
              "    match: {alertname: SecretsDrill}\n"
              "    steps:\n"
              "      - dns_update: {provider: cf, zone: example.com., name: www.example.com., "
              "type: A, records: [127.0.0.3], ttl: 60}\n"
              "      - db_fence: {database: old-db, on_unreachable: continue, timeout: 5s}\n"
              "      - http: {method: POST, url: \"" +
              web_.url("/auth") + "\", bearer_token_file: " + d_ +
              "/flush.token, expect_status: [200]}\n"
              "      - pagerduty: {severity: info, summary: \"drill {{labels.region}}\"}\n"
              "      - http: {url: \"" +
              web_.url("/status/503") + "\", bearer_token_file: " + d_ +
              "/flush.token, retries: 0}\n"
              "    on_failure:\n"
              "      - pagerduty: {severity: critical}\n";
    config_path_ = dir_.Write("actuator.yml", config_);
  }

  std::unique_ptr<Subprocess> StartActuator() {
    auto p = std::make_unique<Subprocess>(
        std::vector<std::string>{Binary("failover_actuator"), "--config.file=" + config_path_,
                                 "--web.listen-address=127.0.0.1:0", "--log.level=debug"},
        d_);
    port_ = testing::WaitForListeningPort(*p);
    EXPECT_NE(port_, 0) << p->Stderr();
    return p;
  }

  Result<HttpResponse> Call(const std::string& method, const std::string& path,
                            const std::string& body = "", const std::string& auth = "") {
    HttpRequest req;
    req.method = method;
    req.url = "http://127.0.0.1:" + std::to_string(port_) + path;
    req.body = body;
    req.timeout = std::chrono::seconds(10);
    if (!auth.empty()) req.headers.emplace_back("Authorization", auth);
    req.headers.emplace_back("Content-Type", "application/json");
    return CurlHttpClient().Send(req);
  }
  std::string Bearer(const char* t) { return std::string("Bearer ") + t; }

  json Execution(const std::string& id) {
    auto r = Call("GET", "/api/v1/executions/" + id, "", Bearer(kAdminToken));
    return r && r->status == 200 ? json::parse(r->body) : json();
  }

  testing::TempDir dir_;
  testing::FakePagerDuty pd_;
  testing::FakeCloudflare cf_;
  testing::TestHttpServer web_;
  std::string d_, config_, config_path_;
  int port_ = 0;
};

TEST_F(ActuatorProcessTest, BadRequestsAreRejectedAndRunNothing) {
  auto p = StartActuator();
  auto code = [&](const std::string& body, const std::string& auth) {
    auto r = Call("POST", "/webhook", body, auth);
    return r ? r->status : -1;
  };
  EXPECT_EQ(code(Payload(), ""), 401);
  EXPECT_EQ(code(Payload(), Bearer("wrong-token")), 401);
  EXPECT_EQ(code(Payload(), "Basic dXNlcjpwYXNz"), 401);
  EXPECT_EQ(code(std::string(8192, ' '), Bearer(kWebhookToken)), 413);
  auto bad = Call("POST", "/webhook", "{\"version\":\"4\"}", Bearer(kWebhookToken));
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("status: missing"), std::string::npos) << bad->body;
  EXPECT_EQ(code("not json", Bearer(kWebhookToken)), 400);
  std::string wrong_version = Payload();
  wrong_version.replace(wrong_version.find("\"4\""), 3, "\"3\"");
  EXPECT_EQ(code(wrong_version, Bearer(kWebhookToken)), 400);
  EXPECT_EQ(Call("GET", "/api/v1/executions", "", "")->status, 401);
  EXPECT_EQ(Call("GET", "/api/v1/executions", "", Bearer(kWebhookToken))->status, 401);
  auto list = Call("GET", "/api/v1/executions", "", Bearer(kAdminToken));
  ASSERT_EQ(list->status, 200);
  EXPECT_TRUE(json::parse(list->body)["executions"].empty()) << "a rejected request left a trace";
  EXPECT_EQ(ReadFile(d_ + "/s1.log"), "");
  auto metrics = Call("GET", "/metrics")->body;
  EXPECT_NE(metrics.find("failover_actuator_webhook_requests_total{code=\"401\"} 3"),
            std::string::npos);
  EXPECT_NE(metrics.find("failover_actuator_webhook_requests_total{code=\"400\"} 3"),
            std::string::npos);
  EXPECT_NE(metrics.find("failover_actuator_webhook_requests_total{code=\"413\"} 1"),
            std::string::npos);
}

TEST_F(ActuatorProcessTest, SigkillMidRunbookResumesAndFinishesExactlyOnce) {
  auto p = StartActuator();
  auto r = Call("POST", "/webhook", Payload(), Bearer(kWebhookToken));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 202) << r->body;
  std::string id = json::parse(r->body)["executions"][0];
  // Alertmanager resends while the execution runs: deduplicated, not run twice.
  auto dup = Call("POST", "/webhook", Payload(), Bearer(kWebhookToken));
  EXPECT_EQ(json::parse(dup->body)["deduplicated"], 1);

  ASSERT_TRUE(WaitFor([&] { return CountLines(d_ + "/s2.log") == 1; })) << p->Stderr();
  p->Signal(SIGKILL);
  p->Wait();
  dir_.Write("gate", "");

  auto p2 = StartActuator();
  ASSERT_TRUE(WaitFor([&] { return Execution(id)["state"] == "succeeded"; }))
      << Execution(id).dump(2) << p2->Stderr();
  json e = Execution(id);
  EXPECT_EQ(e["resumes"], 1);
  EXPECT_EQ(CountLines(d_ + "/s1.log"), 1) << "step 1 ran again after the restart";
  EXPECT_EQ(CountLines(d_ + "/s2.log"), 2) << "the interrupted step is re-run once";
  EXPECT_EQ(ReadFile(d_ + "/s3.log"), id + "\n");
  EXPECT_EQ(CountLines(d_ + "/s4.log"), 1);
  bool resumed = false;
  for (const auto& ev : e["events"]) resumed |= ev["kind"] == "resumed";
  EXPECT_TRUE(resumed) << e.dump(2);
  ASSERT_EQ(e["steps"].size(), 4u);

  auto list = json::parse(Call("GET", "/api/v1/executions", "", Bearer(kAdminToken))->body);
  EXPECT_EQ(list["executions"].size(), 1u) << "exactly one execution";

  // The journal export is an audit trail in JSON lines.
  auto exported = Subprocess::Run(
      {Binary("failover_actuator"), "journal", "export", "--config.file=" + config_path_}, d_);
  EXPECT_EQ(exported.status, 0) << exported.err;
  int lines = 0;
  std::istringstream in(exported.out);
  for (std::string line; std::getline(in, line);) {
    EXPECT_TRUE(json::accept(line)) << line;
    ++lines;
  }
  EXPECT_GT(lines, 8);
  p2->Signal(SIGTERM);
  EXPECT_EQ(p2->Wait(), 0);
}

TEST_F(ActuatorProcessTest, ManualRunDryRunAndSecretsStayOut) {
  dir_.Write("gate", "");
  auto p = StartActuator();
  auto dry = Call("POST", "/api/v1/runbooks/failover-us-east/run?dry_run=1",
                  R"({"labels":{"region":"us-east"}})", Bearer(kAdminToken));
  ASSERT_EQ(dry->status, 202) << dry->body;
  std::string dry_id = json::parse(dry->body)["id"];
  ASSERT_TRUE(WaitFor([&] { return Execution(dry_id)["state"] == "dry_run"; }));
  EXPECT_EQ(ReadFile(d_ + "/s1.log"), "") << "dry run changed something";
  EXPECT_EQ(Execution(dry_id)["steps"][0]["rendered"]["argv"][2],
            "echo us-east >> " + d_ + "/s1.log");

  auto run = Call("POST", "/api/v1/runbooks/failover-us-east/run",
                  R"({"labels":{"region":"us-east"}})", Bearer(kAdminToken));
  ASSERT_EQ(run->status, 202);
  std::string id = json::parse(run->body)["id"];
  ASSERT_TRUE(WaitFor([&] { return Execution(id)["state"] == "succeeded"; }));
  EXPECT_EQ(Call("POST", "/api/v1/runbooks/nope/run", "{}", Bearer(kAdminToken))->status, 404);
  EXPECT_EQ(
      Call("POST", "/api/v1/runbooks/failover-us-east/run", "[]", Bearer(kAdminToken))->status,
      400);

  // A webhook (suppressed: the runbook is within its cooldown) and a drill that uses every
  // kind of secret (DNS provider token, database password, an http step's bearer token,
  // PagerDuty's routing key) and fails at its last step, so on_failure and the escalation
  // page too.
  EXPECT_EQ(Call("POST", "/webhook", Payload(), Bearer(kWebhookToken))->status, 202);
  auto drill = Call("POST", "/api/v1/runbooks/secrets-drill/run",
                    R"({"labels":{"region":"us-east"}})", Bearer(kAdminToken));
  ASSERT_EQ(drill->status, 202) << drill->body;
  std::string drill_id = json::parse(drill->body)["id"];
  ASSERT_TRUE(WaitFor([&] { return Execution(drill_id)["state"] == "failed"; }))
      << Execution(drill_id).dump(2);
  json d = Execution(drill_id);
  ASSERT_EQ(d["steps"].size(), 6u) << d.dump(2);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(d["steps"][i]["state"], "ok") << d.dump(2);
  EXPECT_EQ(cf_.Find("www.example.com", "A").at(0).content, "127.0.0.3");
  EXPECT_EQ(web_.RequestCount("/auth"), 1);
  ASSERT_TRUE(WaitFor([&] { return pd_.Events().size() >= 3; }));  // step, on_failure, page

  // Nothing the operator can see contains a secret.
  std::vector<std::string> outputs = {
      Call("GET", "/")->body, Call("GET", "/metrics")->body,
      Call("GET", "/api/v1/status", "", Bearer(kAdminToken))->body,
      Call("GET", "/api/v1/executions", "", Bearer(kAdminToken))->body};
  json all = json::parse(Call("GET", "/api/v1/executions", "", Bearer(kAdminToken))->body);
  for (const auto& e : all["executions"]) outputs.push_back(Execution(e["id"]).dump());
  EXPECT_GE(outputs.size(), 7u);
  // PagerDuty gets the routing key where it belongs, and no other secret anywhere.
  for (auto ev : pd_.Events()) {
    EXPECT_EQ(ev.body["routing_key"], testing::FakePagerDuty::kRoutingKey);
    ev.body.erase("routing_key");
    outputs.push_back(ev.body.dump());
  }
  p->Signal(SIGTERM);
  p->Wait();
  outputs.push_back(p->Stderr());
  outputs.push_back(p->Stdout());
  EXPECT_TRUE(p->Stderr().find("secrets-drill") != std::string::npos) << "the log is not empty";
  outputs.push_back(
      Subprocess::Run(
          {Binary("failover_actuator"), "journal", "export", "--config.file=" + config_path_}, d_)
          .out);
  for (const std::string& out : outputs) {
    for (const char* secret : {kWebhookToken, kAdminToken, testing::FakePagerDuty::kRoutingKey,
                               testing::FakeCloudflare::kToken, kDbPassword, kFlushToken}) {
      EXPECT_EQ(out.find(secret), std::string::npos)
          << "secret leaked into: " << out.substr(0, 300);
    }
  }
}

}  // namespace
}  // namespace failover
