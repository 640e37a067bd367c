// `tcp:` probes: connect (and with `tls: true` complete a TLS handshake) on the curl loop.
#pragma once

#include "common/host_port.h"
#include "exporter/prober.h"

namespace failover {

Result<std::shared_ptr<Prober>> NewTcpProber(const YamlNode& node, const ProberContext& ctx);

}  // namespace failover
