// Standard process_* metrics (CPU, RSS, virtual memory and its limit, open fds and their
// limit, start time) read from /proc/self and getrlimit(2),
// as every Prometheus exporter exposes them.
#pragma once

#include <prometheus/collectable.h>

namespace failover {

class ProcessCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace failover
