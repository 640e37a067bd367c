// dns_weights: shifts traffic between weighted record sets (Route 53 `Weight` +
// `SetIdentifier`) in stages, checking a PromQL condition after each one:
//
//   - dns_weights:
//       provider: r53
//       zone: example.com.
//       name: www.example.com.
//       type: A
//       shift: {from: us-east, to: eu-west, steps: [10, 50, 100]}   # to gets the step,
//                                                                   # from 100 - step
//       # or stages: [{us-east: 90, eu-west: 10}, {us-east: 0, eu-west: 100}]
//       hold: 5m                     # each stage, before its condition is checked
//       wait_for: {promql: 'sum(rate(http_errors{region="eu-west"}[1m])) < 1',
//                  timeout: 2m, interval: 10s}
//
// Each stage is one atomic batch of weight changes, read back (ListResourceRecordSets);
// held for `hold` (default 0); then wait_for must hold within its timeout. When it does not, the
// weights go back to the last stage that held (the weights found at the start, before the first
// stage) and the step fails. Every stage's weights before and after are in the details. A run that
// finds the weights of a stage already in place resumes at that stage. Needs a provider
// whose Supports(kWeighted) is true (refused at load otherwise) and a prometheus
// section. See docs/actuator-steps.md.
#pragma once

#include <memory>

#include "actuator/steps/step.h"

namespace failover {

Result<std::unique_ptr<Step>> NewDnsWeightsStep(const YamlNode& body,
                                                const StepFactoryContext& ctx);

}  // namespace failover
