// pagerduty: sends a PagerDuty Events API v2 trigger / acknowledge / resolve.
#pragma once

#include <memory>

#include "actuator/steps/step.h"

namespace failover {

Result<std::unique_ptr<Step>> NewPagerDutyStep(const YamlNode& body, const StepFactoryContext& ctx);

}  // namespace failover
