// Standard process_* metrics (CPU, RSS, open fds, start time) read from /proc/self,
// as every Prometheus exporter exposes them.
#pragma once

#include <prometheus/collectable.h>

namespace failover {

class ProcessCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace failover
