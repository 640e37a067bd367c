// The closed vocabularies of an execution: its mode, state, trigger and phase. Inside the
// actuator they are enums; their wire strings (one table per enum in exec_enums.cc) are
// a contract: the journal's SQLite columns and etcd JSON, the HTTP API's JSON, the console,
// metric label values, log fields and the runbook's `mode:` all use exactly these strings,
// and journals written by older versions hold them. Convert only at those boundaries:
// ToString on the way out, Parse* on the way in (which fails on an unknown string).
#pragma once

#include <ostream>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace failover {

// How an execution runs, as decided at acceptance (a runbook's `mode:`, or dry-run by the
// --dry-run flag or an API request).
enum class ExecMode {
  kAuto,     // "auto": runs at once
  kApprove,  // "approve": waits in pending_approval for a human
  kDryRun,   // "dry-run": renders and records only, changes nothing
};

// Terminal: succeeded, failed, refused, suppressed, dry_run, held, rejected, cancelled.
enum class ExecState {
  kQueued,           // "queued": accepted, waiting to run
  kPendingApproval,  // "pending_approval": mode approve
  kRunning,          // "running"
  kSucceeded,        // "succeeded"
  kFailed,           // "failed"
  kRefused,          // "refused": guard false, Prometheus down
  kSuppressed,       // "suppressed": cooldown
  kDryRun,           // "dry_run": rendered only
  kHeld,             // "held": automation on hold (or the brake put it on): not run
  kRejected,         // "rejected": approval refused or expired
  kCancelled,        // "cancelled": stopped by a human between steps
};

// What created the execution.
enum class ExecTrigger {
  kWebhook,      // "webhook": an alert from Alertmanager
  kApi,          // "api": POST /api/v1/runbooks/<name>/run
  kRegionAgent,  // "region_agent": the region agent's own fence/unfence records
};

// Which list of the runbook's steps an execution (or a step record) is in.
enum class ExecPhase {
  kMain,       // "main": the runbook's steps
  kOnFailure,  // "on_failure": after a step of main failed
};

const char* ToString(ExecMode m);
const char* ToString(ExecState s);
const char* ToString(ExecTrigger t);
const char* ToString(ExecPhase p);

// Exactly the wire string; anything else is an error naming the known values.
Result<ExecMode> ParseExecMode(std::string_view s);
Result<ExecState> ParseExecState(std::string_view s);
Result<ExecTrigger> ParseExecTrigger(std::string_view s);
Result<ExecPhase> ParseExecPhase(std::string_view s);

// Every state, in declaration order (metrics pre-create one series per terminal state).
const std::vector<ExecState>& AllExecStates();
bool IsTerminalState(ExecState s);

// The wire string (logs, test failure messages).
std::ostream& operator<<(std::ostream& out, ExecMode m);
std::ostream& operator<<(std::ostream& out, ExecState s);
std::ostream& operator<<(std::ostream& out, ExecTrigger t);
std::ostream& operator<<(std::ostream& out, ExecPhase p);

}  // namespace failover
