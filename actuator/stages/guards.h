// Stage "guards" (after hold/brake, before approval and the steps): every PromQL guard of
// the runbook is asked of Prometheus (actuator/prometheus_client.h), in order; each answer
// is a journal event. A guard that is false (empty or zero result), or that cannot be
// evaluated (Prometheus down), refuses the execution: it ends `refused`, naming the
// guard's message and what Prometheus said, and is paged. Not acting is the safe side.
#pragma once

#include "actuator/config.h"
#include "actuator/engine.h"
#include "actuator/journal.h"

namespace failover {

// True when every guard holds (or there are none). `record_only` (a dry run): a refusal
// is only noted in e.message ("would refuse: ..."), nothing is finished or paged.
bool PassGuards(Engine& engine, ExecutionRecord& e, const RunbookConfig& rb, bool record_only);

}  // namespace failover
