// pagerduty: sends a PagerDuty Events API v2 trigger / acknowledge / resolve.
//   pagerduty: {action: trigger, severity: info, summary: "Failed over {{labels.region}}",
//               dedup_key: "failover/{{execution_id}}", source: ..., component: ...,
//               group: ..., class: ..., custom_details: {key: template}}
// Defaults: action trigger, severity critical, dedup_key "failover/{{execution_id}}" (so a
// later acknowledge/resolve of the same execution reaches the same incident), summary
// "failover runbook {{runbook}} (execution {{execution_id}})" plus ": <annotation summary>"
// when the alert has one. custom_details always carry runbook, execution_id, the alert's
// labels and annotations. 400 from PagerDuty fails; 429/5xx/network are retried inside the
// step until its deadline, then the outcome is retryable. Needs a pagerduty section.
#pragma once

#include <memory>

#include "actuator/steps/step.h"

namespace failover {

Result<std::unique_ptr<Step>> NewPagerDutyStep(const YamlNode& body, const StepFactoryContext& ctx);

}  // namespace failover
