// wait_for: polls a PromQL condition until it holds or the step times out.
#pragma once

#include <memory>

#include "actuator/steps/step.h"

namespace failover {

Result<std::unique_ptr<Step>> NewWaitForStep(const YamlNode& body, const StepFactoryContext& ctx);

}  // namespace failover
