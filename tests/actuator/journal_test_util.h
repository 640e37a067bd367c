// What the journal tests (journal_test.cc, journal_etcd_test.cc) share: the records they
// write.
#pragma once

#include <string>

#include "actuator/journal.h"

namespace failover::journal_test {

inline constexpr double kT0 = 1'800'000'000;  // 2027-01-15T08:00:00Z

// A queued execution of failover-us-east for a RegionDown webhook, created at `created_at`.
inline ExecutionRecord MakeExecution(const std::string& id, const std::string& dedup_key,
                                     double created_at = kT0) {
  ExecutionRecord e;
  e.id = id;
  e.dedup_key = dedup_key;
  e.runbook = "failover-us-east";
  e.trigger = ExecTrigger::kWebhook;
  e.mode = ExecMode::kAuto;
  e.state = ExecState::kQueued;
  e.labels = {{"alertname", "RegionDown"}, {"region", "us-east"}};
  e.annotations = {{"summary", "us-east is down"}};
  e.alert_status = "firing";
  e.fingerprint = "0123456789abcdef";
  e.starts_at = "2027-01-15T07:59:00Z";
  e.created_at = created_at;
  e.updated_at = created_at;
  return e;
}

// A firing webhook from Alertmanager's "failover" receiver, received at kT0.
inline WebhookRecord MakeWebhook(const std::string& body = R"({"version":"4"})") {
  WebhookRecord w;
  w.received_at = kT0;
  w.group_key = "{}:{alertname=\"RegionDown\"}";
  w.status = "firing";
  w.receiver = "failover";
  w.alerts = 1;
  w.body = body;
  return w;
}

}  // namespace failover::journal_test
