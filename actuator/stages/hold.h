// Stage "hold/brake" (an execution about to start; after the dry-run and cancel checks):
// while automation is on hold (Engine::SetHold; a setting in the journal, shared by HA
// actuators, only a human releases it), no execution an alert triggered starts. The brake
// puts the hold on when the automatic executions of runbooks that count against it
// (RunbookConfig::brake) reached brake.max_executions within brake.window. A held
// execution is recorded `held` and paged. Runs a human asked for (API) or approved pass.
#pragma once

#include "actuator/config.h"
#include "actuator/engine.h"
#include "actuator/journal.h"

namespace failover {

// True when `e` may go on; false when it was held (recorded and paged) or when the worker
// must stop before the hold could be read (shutdown, lost lock).
bool PassHoldAndBrake(Engine& engine, ExecutionRecord& e, const RunbookConfig& rb);

}  // namespace failover
