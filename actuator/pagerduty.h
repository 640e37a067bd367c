// PagerDuty Events API v2 (docs/contracts/pagerduty.md): trigger / acknowledge / resolve, and
// change events. The URL is configurable so tests point it at a local fake.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/http_client.h"
#include "common/result.h"
#include "common/secret.h"

namespace failover {

struct PagerDutyEvent {
  std::string action = "trigger";  // trigger | acknowledge | resolve
  std::string dedup_key;           // <= 255 chars
  std::string summary;             // trigger: required, <= 1024 chars (truncated)
  std::string source = "failover_actuator";
  std::string severity = "critical";  // critical | error | warning | info
  std::string component;
  std::string group;
  std::string event_class;
  nlohmann::json custom_details = nlohmann::json::object();
  // Events API v2 `links` of a trigger: {href, text} pairs (the execution's console page).
  std::vector<std::pair<std::string, std::string>> links;
};

class PagerDutyClient {
 public:
  PagerDutyClient(HttpClient& http, Clock& clock, std::string url, SecretRef routing_key)
      : http_(http), clock_(clock), url_(std::move(url)), routing_key_(std::move(routing_key)) {}

  // Sends one event. 202 -> ok; 400 -> error with PagerDuty's message, not retried;
  // 429 / 5xx / network -> retried with backoff until `deadline`, then a retryable error.
  // The routing key is never part of an error message.
  Status Enqueue(const PagerDutyEvent& event, MonoTime deadline);
  // The JSON body that Enqueue sends (routing key included): exposed for tests.
  Result<nlohmann::json> Body(const PagerDutyEvent& event) const;

 private:
  HttpClient& http_;
  Clock& clock_;
  std::string url_;
  SecretRef routing_key_;
};

}  // namespace failover
