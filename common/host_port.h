// "host:port" / "[v6]:port" parsing shared by the exporter's probes and the actuator.
#pragma once

#include <string>
#include <utility>

#include "common/result.h"

namespace failover {

// Splits "host:port" or "[v6]:port"; the port must be 1..65535.
Result<std::pair<std::string, int>> SplitHostPort(const std::string& address);

}  // namespace failover
