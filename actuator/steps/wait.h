// wait: sleeps for a fixed duration (on the step's Clock, in slices, cancellable).
//   wait: {duration: 30s}
// The timeout defaults to duration + 30s and may not be shorter than the duration; the
// step never sleeps past its deadline (it ends retryable if the deadline comes first).
#pragma once

#include <memory>

#include "actuator/steps/step.h"

namespace failover {

Result<std::unique_ptr<Step>> NewWaitStep(const YamlNode& body, const StepFactoryContext& ctx);

}  // namespace failover
