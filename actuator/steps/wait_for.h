// wait_for: polls a PromQL condition until it holds or the step times out.
//   wait_for: {promql: 'failover_dns_record_matches_expected == 1', timeout: 60s, interval: 2s}
// The condition holds when the query returns at least one sample (a scalar: non-zero).
// Prometheus errors while polling do not end the step; at the deadline it fails (not
// retryable) with "condition not met within 60s, last result: ..." (or "last error: ...").
// Needs a prometheus section in the config (a located config error otherwise).
// The condition itself (PromCondition) is shared with dns_weights, which checks one
// between its stages.
#pragma once

#include <memory>

#include "actuator/steps/step.h"

namespace failover {

Result<std::unique_ptr<Step>> NewWaitForStep(const YamlNode& body, const StepFactoryContext& ctx);

struct PromCondition {
  Template promql;  // a template in the PromQL context (values only inside string literals)
  Duration interval = std::chrono::seconds(2);
  Duration timeout = std::chrono::seconds(60);  // dns_weights' own; wait_for uses the step's
};

// `promql` and `interval` of `node` (and `timeout` when `with_timeout`), with located errors.
// Needs ctx.have_prometheus.
Result<PromCondition> ParsePromCondition(const YamlNode& node, const StepFactoryContext& ctx,
                                         bool with_timeout);

// Polls the condition every interval until it holds (ok), Prometheus rejects the query or
// `until` passes (failed, "condition not met within <timeout>, last result: ..."), or
// shutdown (retryable). `shown` is the timeout the failure message names. Details: promql,
// polls, result/last.
StepOutcome WaitForCondition(StepContext& ctx, const PromCondition& c, MonoTime until,
                             Duration shown);

}  // namespace failover
