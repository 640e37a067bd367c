// Stage "escalate" (the last word of every execution that did not end as it should:
// refused, held, failed, waiting for approval, expired, runbook gone): a PagerDuty
// trigger event, dedup key failover/<execution id>, with a link to the execution on the
// console. Without pagerduty configured, nobody is paged and the journal says so. The
// result is a journal event (escalated | escalation_failed) and
// failover_actuator_escalations_total{result}.
#pragma once

#include <string>

#include "actuator/engine.h"
#include "actuator/journal.h"

namespace failover {

// Pages for `e`; nothing when this worker lost the execution's lock (the next holder
// decides, and pages if it must).
void Escalate(Engine& engine, const ExecutionRecord& e, const std::string& summary);

}  // namespace failover
