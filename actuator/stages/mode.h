// Stage "mode": how an execution runs, decided at acceptance and acted on before the
// steps. auto runs. dry-run (a runbook's `mode: dry-run`, the --dry-run flag, or an API
// request) renders every step and on_failure step, evaluates the guards for the record,
// records what would run and changes nothing: it ends `dry_run` (before hold, brake and
// cancellation, which concern runs that act). approve (after the guards passed) records
// `pending_approval` with the rendered plan and pages; the execution waits for a human
// (Engine::Approve / Reject, or approval_timeout), and once approved it runs.
#pragma once

#include "actuator/config.h"
#include "actuator/engine.h"
#include "actuator/journal.h"
#include "actuator/template.h"

namespace failover {

// The mode of an execution an alert triggered: the runbook's, or dry-run under --dry-run.
ExecMode AlertMode(const RunbookConfig& rb, bool force_dry_run);
// The mode of a run requested through the API: dry-run when asked, under --dry-run or for
// a dry-run runbook; otherwise auto (a human asked: no approval).
ExecMode ApiMode(const RunbookConfig& rb, bool dry_run_requested, bool force_dry_run);

// dry-run: renders and records every step, runs nothing, finishes `dry_run`.
void RunDry(Engine& engine, ExecutionRecord& e, const RunbookConfig& rb, const TemplateVars& vars);
// approve, not yet approved: records pending_approval and its plan, pages, and returns
// true (the execution stops here until a human decides; also true when the record could
// not be written). False when the execution goes on to its steps.
bool WaitsForApproval(Engine& engine, ExecutionRecord& e, const RunbookConfig& rb,
                      const TemplateVars& vars);

}  // namespace failover
