#include "tests/support/webhook_payload.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "tests/support/temp_dir.h"

namespace failover::testing {

std::string RegionDownWebhook(const RegionDownWebhookOptions& options) {
  nlohmann::json annotations = {{"summary", "us-east is down"}};
  if (options.annotation_bytes > 0) {
    annotations["details"] = std::string(options.annotation_bytes, 'x');
  }
  return nlohmann::json{{"version", "4"},
                        {"groupKey", "{}:{alertname=\"RegionDown\"}"},
                        {"status", "firing"},
                        {"receiver", "failover"},
                        {"alerts",
                         {{{"status", "firing"},
                           {"labels", {{"alertname", "RegionDown"}, {"region", "us-east"}}},
                           {"annotations", annotations},
                           {"startsAt", options.starts_at},
                           {"endsAt", "0001-01-01T00:00:00Z"},
                           {"fingerprint", options.fingerprint}}}}}
      .dump();
}

int CountLines(const std::string& path) {
  std::string s = ReadFile(path);
  return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
}

}  // namespace failover::testing
