#pragma once

#include <string>
#include <vector>

#include "actuator/config.h"
#include "actuator/engine.h"
#include "actuator/journal.h"

namespace failover {

// The page at "/": runbooks with their last executions, pending approvals, brake state.
std::string RenderActuatorStatusPage(const ActuatorConfig& config,
                                     const std::vector<ExecutionRecord>& recent,
                                     const std::vector<ExecutionRecord>& pending,
                                     const Engine::BrakeState& brake, bool forced_dry_run);

}  // namespace failover
