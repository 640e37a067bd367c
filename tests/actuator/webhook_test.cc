#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "actuator/alert.h"

namespace failover {
namespace {

using nlohmann::json;

json Sample() {
  return json::parse(
      R"({"version":"4","groupKey":"{}:{alertname=\"RegionDown\"}","truncatedAlerts":0,
 "status":"firing","receiver":"failover","groupLabels":{"alertname":"RegionDown"},
 "commonLabels":{"alertname":"RegionDown","region":"us-east"},"commonAnnotations":{},
 "externalURL":"http://127.0.0.1:9093","alerts":[{"status":"firing",
 "labels":{"alertname":"RegionDown","region":"us-east","severity":"critical"},
 "annotations":{"summary":"us-east is down"},"startsAt":"2026-11-21T22:40:00Z",
 "endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://127.0.0.1:9090/graph",
 "fingerprint":"3f2a9c1d0b7e4a55"},
 {"status":"resolved","labels":{"alertname":"RegionDown","region":"eu-west"},
 "annotations":{},"startsAt":"2026-11-21T22:00:00.123456789+01:00",
 "endsAt":"2026-11-21T22:30:00Z","generatorURL":"","fingerprint":"0000000000000001"}],
 "notification_reason":"new","routeLabels":{}})");
}

TEST(WebhookTest, ParsesTheContractExampleWithMixedStatuses) {
  auto g = ParseAlertmanagerWebhook(Sample().dump());
  ASSERT_TRUE(g) << g.error().message;
  EXPECT_EQ(g->status, "firing");
  EXPECT_EQ(g->group_key, "{}:{alertname=\"RegionDown\"}");
  EXPECT_EQ(g->receiver, "failover");
  ASSERT_EQ(g->alerts.size(), 2u);
  EXPECT_EQ(g->alerts[0].labels.at("region"), "us-east");
  EXPECT_EQ(g->alerts[0].annotations.at("summary"), "us-east is down");
  EXPECT_EQ(g->alerts[0].fingerprint, "3f2a9c1d0b7e4a55");
  EXPECT_EQ(g->alerts[0].starts_at, "2026-11-21T22:40:00Z");
  EXPECT_EQ(g->alerts[1].status, "resolved");
  EXPECT_EQ(g->common_labels.at("region"), "us-east");
}

struct BadCase {
  std::string name;
  std::function<void(json&)> mutate;
  std::string expected;
};

TEST(WebhookTest, EachMalformedPayloadNamesTheField) {
  std::vector<BadCase> cases = {
      {"version", [](json& j) { j["version"] = "3"; }, "version: \"3\" is not supported"},
      {"no version", [](json& j) { j.erase("version"); }, "version: missing"},
      {"status", [](json& j) { j["status"] = "pending"; }, "status: must be"},
      {"alerts missing", [](json& j) { j.erase("alerts"); }, "alerts: missing"},
      {"alerts type", [](json& j) { j["alerts"] = "x"; }, "alerts: must be an array"},
      {"alerts empty", [](json& j) { j["alerts"] = json::array(); }, "alerts: is empty"},
      {"fingerprint", [](json& j) { j["alerts"][0].erase("fingerprint"); },
       "alerts[0].fingerprint: missing"},
      {"fingerprint hex", [](json& j) { j["alerts"][1]["fingerprint"] = "zz"; },
       "alerts[1].fingerprint: must be hexadecimal"},
      {"startsAt", [](json& j) { j["alerts"][0]["startsAt"] = "yesterday"; },
       "alerts[0].startsAt: \"yesterday\" is not an RFC 3339 time"},
      {"labels", [](json& j) { j["alerts"][0]["labels"]["region"] = 5; },
       "alerts[0].labels.region: must be a string"},
      {"labels missing", [](json& j) { j["alerts"][0].erase("labels"); },
       "alerts[0].labels: missing"},
      {"alert status", [](json& j) { j["alerts"][0]["status"] = "up"; },
       "alerts[0].status: must be"},
      {"truncated", [](json& j) { j["truncatedAlerts"] = -1; }, "truncatedAlerts:"},
      {"common labels", [](json& j) { j["commonLabels"] = json::array(); },
       "commonLabels: must be an object"},
  };
  for (auto& c : cases) {
    json j = Sample();
    c.mutate(j);
    auto g = ParseAlertmanagerWebhook(j.dump());
    ASSERT_FALSE(g) << c.name;
    EXPECT_NE(g.error().message.find(c.expected), std::string::npos)
        << c.name << ": " << g.error().message;
  }
}

TEST(WebhookTest, NotJson) {
  for (const char* body : {"", "{", "[1,2]", "null", "\"x\"", "{\"version\":\"4\"} trailing"}) {
    EXPECT_FALSE(ParseAlertmanagerWebhook(body)) << body;
  }
  EXPECT_EQ(ParseAlertmanagerWebhook("{").error().message, "body is not valid JSON");
}

}  // namespace
}  // namespace failover
