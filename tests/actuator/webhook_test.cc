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
       "alerts[0].startsAt: not an RFC 3339 timestamp: \"yesterday\""},
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

// Only RFC 3339 date-times pass: what used to pass a shape check (dash at 4, T at 10) no
// longer does, and the message names the field and quotes the value, escaped.
TEST(WebhookTest, StartsAtMustBeRfc3339) {
  for (const char* bad :
       {"2026-11-21T25:99:00Zjunk", "2026-11-21T22:40:00", "2026-02-29T00:00:00Z",
        "2026-13-01T00:00:00Z", "2026-11-21T22:40:00.Z", "2026-11-21T22:40:00+0100",
        "2026-11-21 22:40:00Z", "2026-11-21T22:40:00Z\x1b[2J", "9999-99-99T99:99:99+99:99"}) {
    json j = Sample();
    j["alerts"][1]["startsAt"] = bad;
    auto g = ParseAlertmanagerWebhook(j.dump());
    ASSERT_FALSE(g) << bad;
    EXPECT_EQ(g.error().message.rfind("alerts[1].startsAt: not an RFC 3339 timestamp: \"", 0), 0u)
        << g.error().message;
    EXPECT_EQ(g.error().message.find('\x1b'), std::string::npos) << g.error().message;
  }
  json j = Sample();
  j["alerts"][0]["endsAt"] = "soon";
  auto g = ParseAlertmanagerWebhook(j.dump());
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().message, "alerts[0].endsAt: not an RFC 3339 timestamp: \"soon\"");

  for (const char* good : {"2026-11-21T22:40:00Z", "2024-02-29T23:59:60.5z",
                           "2026-11-21t22:40:00.123456789-05:30", "0001-01-01T00:00:00Z"}) {
    json ok = Sample();
    ok["alerts"][0]["startsAt"] = good;
    ok["alerts"][0]["endsAt"] = good;
    auto r = ParseAlertmanagerWebhook(ok.dump());
    EXPECT_TRUE(r) << good << ": " << r.error().message;
  }
}

// A 1 MiB body of "[" is refused by a scan, before nlohmann builds a million arrays, and
// the message names the limit; brackets inside strings do not count.
TEST(WebhookTest, DeepNestingIsRefusedNamingTheLimit) {
  auto deep = ParseAlertmanagerWebhook(std::string(1 << 20, '['));
  ASSERT_FALSE(deep);
  EXPECT_EQ(
      deep.error().message.rfind("body nests JSON deeper than 32 levels (the nesting limit)", 0),
      0u)
      << deep.error().message;

  json j = Sample();
  json nested = json::array();
  for (int i = 0; i < 40; ++i) nested = json::array({nested});
  j["extra"] = nested;  // valid JSON, closed, but 42 levels deep
  auto balanced = ParseAlertmanagerWebhook(j.dump());
  ASSERT_FALSE(balanced);
  EXPECT_NE(balanced.error().message.find("nesting limit"), std::string::npos)
      << balanced.error().message;

  json ok = Sample();
  ok["alerts"][0]["annotations"]["description"] = std::string(5000, '[') + "\"{";
  auto g = ParseAlertmanagerWebhook(ok.dump());
  ASSERT_TRUE(g) << g.error().message;
  EXPECT_EQ(g->alerts[0].annotations.at("description").size(), 5002u);
}

TEST(WebhookTest, NotJson) {
  for (const char* body : {"", "{", "[1,2]", "null", "\"x\"", "{\"version\":\"4\"} trailing"}) {
    EXPECT_FALSE(ParseAlertmanagerWebhook(body)) << body;
  }
  EXPECT_EQ(ParseAlertmanagerWebhook("{").error().message, "body is not valid JSON");
}

}  // namespace
}  // namespace failover
