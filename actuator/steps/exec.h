// exec: runs a program with argv only (no shell), a clean environment and a timeout.
#pragma once

#include <memory>

#include "actuator/steps/step.h"

namespace failover {

Result<std::unique_ptr<Step>> NewExecStep(const YamlNode& body, const StepFactoryContext& ctx);

}  // namespace failover
