// `http:` probes: one request per run on the curl multi loop.
#pragma once

#include "exporter/prober.h"

namespace failover {

extern const MetricDesc kHttpStatusMetric;
extern const MetricDesc kHttpPhaseMetric;

Result<std::shared_ptr<Prober>> NewHttpProber(const YamlNode& node, const ProberContext& ctx);

}  // namespace failover
