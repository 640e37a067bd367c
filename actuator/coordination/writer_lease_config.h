// The `writer_lease:` section's settings (parsed in region_agent_config.cc), apart so that
// actuator/config.h can hold them without the etcd client's declarations.
#pragma once

#include <string>
#include <vector>

#include "common/duration.h"

namespace failover {

// writer_lease: {etcd: {endpoints: [...], prefix: /failover/}, ttl: 10s}: the actuator that
// runs runbooks (the writer_lease step, db_promote's check).
struct WriterLeaseConfig {
  std::vector<std::string> endpoints;
  std::string prefix = "/failover/";
  Duration ttl = std::chrono::seconds(10);  // of the leases this actuator grants
  bool operator==(const WriterLeaseConfig&) const = default;
};

}  // namespace failover
