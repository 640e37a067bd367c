// `http:` probes: one HTTP/1.1 request per run (and one per redirect followed), on the
// event loop with a client of our own (exporter/probers/http_exchange.h) over OpenSSL.
#pragma once

#include "exporter/prober.h"

namespace failover {

extern const MetricDesc kHttpStatusMetric;
extern const MetricDesc kHttpPhaseMetric;

Result<std::shared_ptr<Prober>> NewHttpProber(const YamlNode& node, const ProberContext& ctx);

}  // namespace failover
