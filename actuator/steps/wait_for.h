// wait_for: polls a PromQL condition until it holds or the step times out.
//   wait_for: {promql: 'failover_dns_record_matches_expected == 1', timeout: 60s, interval: 2s}
// The condition holds when the query returns at least one sample (a scalar: non-zero).
// Prometheus errors while polling do not end the step; at the deadline it fails (not
// retryable) with "condition not met within 60s, last result: ..." (or "last error: ...").
// Needs a prometheus section in the config (a located config error otherwise).
#pragma once

#include <memory>

#include "actuator/steps/step.h"

namespace failover {

Result<std::unique_ptr<Step>> NewWaitForStep(const YamlNode& body, const StepFactoryContext& ctx);

}  // namespace failover
