// The whole decision-to-action path with real servers: Debian's Alertmanager delivers an
// alert to failover_actuator, a real Prometheus answers the guard, PowerDNS gets the record
// switched and its DNS answer changes. PagerDuty is the contract fake.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "common/dns_query.h"
#include "common/http_client.h"
#include "tests/support/fake_pagerduty.h"
#include "tests/support/http_call.h"
#include "tests/support/stack.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace failover {
namespace {

using nlohmann::json;
using testing::Http;
using testing::Stack;
using testing::Subprocess;
using testing::WaitFor;

constexpr const char* kWebhookToken = "am-to-actuator-T0KEN-77";

std::vector<std::string> Answer(const std::string& server) {
  auto a = QueryDns(server, "www.example.test", "A", std::chrono::seconds(2));
  return a ? a->records : std::vector<std::string>{};
}

class ActuatorAlertmanagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stack_ = &Stack::Get({"powerdns", "alertmanager", "prometheus"});
    dns_ = stack_->Env("PDNS_DNS_ADDR");
    // Start from us-east, whatever an earlier test in this stack left.
    json patch = {{"rrsets",
                   {{{"name", "www.example.test."},
                     {"type", "A"},
                     {"ttl", 60},
                     {"changetype", "REPLACE"},
                     {"records", {{{"content", "127.0.0.2"}, {"disabled", false}}}}}}}};
    auto r = Http(
        "PATCH", stack_->Env("PDNS_API_URL") + "/api/v1/servers/localhost/zones/example.test.",
        patch.dump(), {{"X-API-Key", stack_->Env("PDNS_API_KEY")}, {"Accept", "application/json"}});
    ASSERT_TRUE(r && r->status == 204) << (r ? r->body : r.error().message);
  }

  void StartActuator(const std::string& guard) {
    std::string d = dir_.path();
    dir_.Write("webhook.token", kWebhookToken);
    dir_.Write("pd.key", testing::FakePagerDuty::kRoutingKey);
    std::string cfg =
        "webhook: {bearer_token_file: " + d + "/webhook.token}\n" + "prometheus: {url: \"" +
        stack_->Env("PROMETHEUS_URL") + "\", timeout: 3s}\n" + "journal: " + d + "/journal.db\n" +
        "pagerduty: {routing_key_file: " + d + "/pd.key, url: \"" + pd_.url() + "\"}\n" +
        "providers:\n  pdns: {powerdns: {url: \"" + stack_->Env("PDNS_API_URL") +
        "\", api_key_file: " + stack_->Env("PDNS_API_KEY_FILE") + "}}\n" +
        "runbooks:\n"
        "  - name: failover-us-east\n"
        "    match: {alertname: RegionDown, region: us-east}\n"
        "    guards:\n"
        "      - promql: '" +
        guard +
        "'\n"
        "        message: Prometheus must see itself up\n"
        "    steps:\n"
        "      - dns_update: {provider: pdns, zone: example.test., name: www.example.test.,\n"
        "                     type: A, records: [\"127.0.0.3\"], ttl: 30,\n"
        "                     verify_nameserver: \"" +
        dns_ +
        "\", verify_timeout: 10s}\n"
        "      - pagerduty: {action: trigger, severity: info,\n"
        "                    summary: \"Failed over {{labels.region}} to eu-west\"}\n";
    std::string path = dir_.Write("actuator.yml", cfg);
    actuator_ = std::make_unique<Subprocess>(
        std::vector<std::string>{testing::Binary("failover_actuator"), "--config.file=" + path,
                                 "--web.listen-address=127.0.0.1:0"},
        d);
    port_ = testing::WaitForListeningPort(*actuator_);
    ASSERT_NE(port_, 0) << actuator_->Stderr();
    // Route RegionDown to the actuator, with bearer auth, delivering at once.
    std::string am =
        "route:\n  receiver: failover\n  group_by: [\"...\"]\n"
        "  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 1h\n"
        "receivers:\n  - name: failover\n    webhook_configs:\n"
        "      - url: http://127.0.0.1:" +
        std::to_string(port_) +
        "/webhook\n"
        "        http_config:\n          authorization:\n"
        "            credentials_file: " +
        d + "/webhook.token\n";
    std::string am_path = stack_->Env("ALERTMANAGER_CONFIG");
    std::ofstream(am_path, std::ios::trunc) << am;
    auto r = Http("POST", stack_->Env("ALERTMANAGER_URL") + "/-/reload");
    ASSERT_TRUE(r && r->status == 200) << (r ? r->body : r.error().message);
  }

  void FireRegionDown() {
    // A label unique to the test keeps alerts of earlier tests on this stack apart.
    std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    json alerts = json::array({{{"labels",
                                 {{"alertname", "RegionDown"},
                                  {"region", "us-east"},
                                  {"severity", "critical"},
                                  {"test", test}}},
                                {"annotations", {{"summary", "us-east is down"}}}}});
    auto r = Http("POST", stack_->Env("ALERTMANAGER_URL") + "/api/v2/alerts", alerts.dump(),
                  {{"Content-Type", "application/json"}});
    ASSERT_TRUE(r && r->status == 200) << (r ? r->body : r.error().message);
  }

  json Executions() {
    auto r = Http("GET", "http://127.0.0.1:" + std::to_string(port_) + "/api/v1/executions");
    return r && r->status == 200 ? json::parse(r->body)["executions"] : json::array();
  }

  Stack* stack_ = nullptr;
  std::string dns_;
  testing::TempDir dir_;
  testing::FakePagerDuty pd_;
  std::unique_ptr<Subprocess> actuator_;
  int port_ = 0;
};

TEST_F(ActuatorAlertmanagerTest, AlertSwitchesTheAuthoritativeDnsAnswerOnce) {
  ASSERT_EQ(Answer(dns_), std::vector<std::string>{"127.0.0.2"});
  StartActuator("up{job=\"prometheus\"} == 1");
  // The guard needs Prometheus to have scraped itself once.
  ASSERT_TRUE(WaitFor([&] {
    auto r = Http("GET", stack_->Env("PROMETHEUS_URL") + "/api/v1/query?query=up");
    return r && r->body.find("\"result\":[{") != std::string::npos;
  }));
  FireRegionDown();
  ASSERT_TRUE(WaitFor([&] { return Answer(dns_) == std::vector<std::string>{"127.0.0.3"}; },
                      std::chrono::seconds(30)))
      << actuator_->Stderr();
  ASSERT_TRUE(WaitFor([&] {
    json e = Executions();
    return e.size() == 1 && e[0]["state"] == "succeeded";
  })) << Executions().dump(2)
      << actuator_->Stderr();
  ASSERT_TRUE(WaitFor([&] { return !pd_.Events().empty(); }));
  auto events = pd_.Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].body["payload"]["severity"], "info");
  EXPECT_EQ(events[0].body["payload"]["summary"], "Failed over us-east to eu-west");
  // Alertmanager sends the same alert again: still exactly one execution.
  FireRegionDown();
  EXPECT_EQ(Executions().size(), 1u);
  actuator_->Signal(SIGTERM);
  EXPECT_EQ(actuator_->Wait(), 0);
}

TEST_F(ActuatorAlertmanagerTest, FalseGuardLeavesDnsAloneAndPages) {
  StartActuator("up{job=\"no-such-job\"} == 1");
  FireRegionDown();
  ASSERT_TRUE(WaitFor([&] {
    json e = Executions();
    return e.size() == 1 && e[0]["state"] == "refused";
  })) << Executions().dump(2)
      << actuator_->Stderr();
  EXPECT_EQ(Answer(dns_), std::vector<std::string>{"127.0.0.2"});
  ASSERT_TRUE(WaitFor([&] { return !pd_.Events().empty(); }));
  EXPECT_EQ(pd_.Events()[0].body["payload"]["severity"], "critical");
  EXPECT_NE(pd_.Events()[0].body["payload"]["summary"].get<std::string>().find(
                "Prometheus must see itself up"),
            std::string::npos);
}

}  // namespace
}  // namespace failover
