// `tcp:` probes: connect (and with `tls: true` complete a TLS handshake) on the curl loop.
#pragma once

#include "exporter/prober.h"

namespace failover {

Result<std::shared_ptr<Prober>> NewTcpProber(const YamlNode& node, const ProberContext& ctx);

// Splits "host:port" / "[v6]:port"; errors say what is wrong.
Result<std::pair<std::string, int>> SplitHostPort(const std::string& address);

}  // namespace failover
