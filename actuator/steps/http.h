// http: an HTTP request whose status is checked (templates in url, headers, body).
#pragma once

#include <memory>

#include "actuator/steps/step.h"

namespace failover {

Result<std::unique_ptr<Step>> NewHttpStep(const YamlNode& body, const StepFactoryContext& ctx);

}  // namespace failover
