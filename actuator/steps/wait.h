// wait: sleeps for a fixed duration (bounded by the step deadline, cancellable).
#pragma once

#include <memory>

#include "actuator/steps/step.h"

namespace failover {

Result<std::unique_ptr<Step>> NewWaitStep(const YamlNode& body, const StepFactoryContext& ctx);

}  // namespace failover
