// Stage "run steps" (last; the execution passed mode, hold/brake and guards): records
// `running` before any step (a restart must know it started), then runs the runbook's
// steps in order, each with its timeout and its retries (retryable failures, backoff
// doubling), every attempt journaled before and after it runs. All succeed: `succeeded`.
// A step fails: on_failure runs (best effort, every step tried) and the execution ends
// `failed` and is paged. A human's cancel stops it before its next step (`cancelled`,
// on_failure does not run). Shutdown or a lost lock stop it between (or inside) steps
// without finishing it: the next holder resumes at the step in flight (steps are
// desired-state, so running one again is safe).
#pragma once

#include <string>

#include "actuator/config.h"
#include "actuator/engine.h"
#include "actuator/journal.h"
#include "actuator/template.h"

namespace failover {

// "step 2 (dns_update)", "on_failure step 1 (pagerduty)": how journal events and messages
// name a step.
std::string StepLabel(ExecPhase phase, size_t index, const std::string& kind);

// Records the start (state running, main phase, step 1); false when it could not be
// recorded and no step may run.
bool StartRunning(Engine& engine, ExecutionRecord& e, const RunbookConfig& rb);
// Runs (or resumes, at e.phase / e.next_step) the steps and finishes the execution.
void RunSteps(Engine& engine, ExecutionRecord& e, const RunbookConfig& rb,
              const TemplateVars& vars);

}  // namespace failover
