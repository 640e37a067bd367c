// An Alertmanager webhook (payload version 4) with one firing RegionDown{region="us-east"}
// alert: what the actuator's process tests send.
#pragma once

#include <cstddef>
#include <string>

namespace failover::testing {

struct RegionDownWebhookOptions {
  std::string starts_at = "2026-11-21T22:40:00Z";
  std::string fingerprint = "3f2a9c1d0b7e4a55";
  size_t annotation_bytes = 0;  // > 0: pads the alert with a "details" annotation this long
};

std::string RegionDownWebhook(const RegionDownWebhookOptions& options = {});

// Number of '\n' in the file (0 when it does not exist): how often a step appended a line.
int CountLines(const std::string& path);

}  // namespace failover::testing
