// Stage "route" (the first of acceptance; actuator/engine.cc: Engine::CommitAccepts): which
// runbooks an alert triggers. A runbook matches when its `on:` is the alert's status
// (firing | resolved) and every matcher of its `match:` holds (actuator/router.h); each
// matching runbook gets its own execution. No match: the alert counts as unmatched.
#pragma once

#include <vector>

#include "actuator/alert.h"
#include "actuator/config.h"

namespace failover {

// The matching runbooks, in the configuration's order.
std::vector<const RunbookConfig*> Route(const ActuatorConfig& config, const Alert& alert);

}  // namespace failover
