// libFuzzer target: Alertmanager's webhook body (actuator/webhook.cc), the first thing the
// actuator reads from the network. Any input must give an AlertGroup or an Error, never a
// crash, an exception or undefined behaviour; a parsed group keeps the parser's promises.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "actuator/alert.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto group = failover::ParseAlertmanagerWebhook(body);
  if (!group) {
    if (group.error().message.empty()) std::abort();  // errors always say what is wrong
    return 0;
  }
  if (group->version != "4" || group->alerts.empty() || group->truncated_alerts < 0) std::abort();
  if (group->status != "firing" && group->status != "resolved") std::abort();
  for (const failover::Alert& a : group->alerts) {
    if (a.status != "firing" && a.status != "resolved") std::abort();
    if (a.labels.empty() || a.fingerprint.empty() || a.fingerprint.size() > 32) std::abort();
  }
  return 0;
}
