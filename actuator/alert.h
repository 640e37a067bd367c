// Alertmanager's webhook payload (version 4), parsed. See docs/contracts/alertmanager-webhook.md.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace failover {

using LabelSet = std::map<std::string, std::string>;

struct Alert {
  std::string status;  // "firing" | "resolved" (decide on this, never on ends_at)
  LabelSet labels;
  LabelSet annotations;
  std::string starts_at;  // RFC 3339, as sent
  std::string ends_at;
  std::string generator_url;
  std::string fingerprint;  // 16 hex chars
};

struct AlertGroup {
  std::string version;
  std::string group_key;
  std::string status;
  std::string receiver;
  std::string external_url;
  long long truncated_alerts = 0;
  LabelSet group_labels;
  LabelSet common_labels;
  LabelSet common_annotations;
  std::vector<Alert> alerts;
};

// Pure: validates and parses a webhook body. Errors name the offending field, e.g.
// `alerts[0].fingerprint: missing`. Unknown keys are ignored (newer Alertmanagers add some).
Result<AlertGroup> ParseAlertmanagerWebhook(std::string_view body);

}  // namespace failover
