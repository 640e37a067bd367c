#include "actuator/exec_enums.h"

#include <string>
#include <utility>

namespace failover {
namespace {

// One table per enum: value and wire string. Never change a string (see exec_enums.h).
constexpr std::pair<ExecMode, const char*> kModes[] = {
    {ExecMode::kAuto, "auto"},
    {ExecMode::kApprove, "approve"},
    {ExecMode::kDryRun, "dry-run"},
};

constexpr std::pair<ExecState, const char*> kStates[] = {
    {ExecState::kQueued, "queued"},
    {ExecState::kPendingApproval, "pending_approval"},
    {ExecState::kRunning, "running"},
    {ExecState::kSucceeded, "succeeded"},
    {ExecState::kFailed, "failed"},
    {ExecState::kRefused, "refused"},
    {ExecState::kSuppressed, "suppressed"},
    {ExecState::kDryRun, "dry_run"},
    {ExecState::kHeld, "held"},
    {ExecState::kRejected, "rejected"},
    {ExecState::kCancelled, "cancelled"},
};

constexpr std::pair<ExecTrigger, const char*> kTriggers[] = {
    {ExecTrigger::kWebhook, "webhook"},
    {ExecTrigger::kApi, "api"},
    {ExecTrigger::kRegionAgent, "region_agent"},
};

constexpr std::pair<ExecPhase, const char*> kPhases[] = {
    {ExecPhase::kMain, "main"},
    {ExecPhase::kOnFailure, "on_failure"},
};

template <typename E, size_t N>
const char* Name(const std::pair<E, const char*> (&table)[N], E v) {
  for (const auto& [value, name] : table) {
    if (value == v) return name;
  }
  return "?";  // unreachable: every enumerator is in its table (exec_enums_test.cc)
}

template <typename E, size_t N>
Result<E> Parse(const std::pair<E, const char*> (&table)[N], std::string_view s, const char* what) {
  std::string known;
  for (const auto& [value, name] : table) {
    if (s == name) return value;
    known += (known.empty() ? "" : ", ") + std::string(name);
  }
  return Error::Invalid("unknown execution " + std::string(what) + " \"" + std::string(s) +
                        "\" (known: " + known + ")");
}

}  // namespace

const char* ToString(ExecMode m) { return Name(kModes, m); }
const char* ToString(ExecState s) { return Name(kStates, s); }
const char* ToString(ExecTrigger t) { return Name(kTriggers, t); }
const char* ToString(ExecPhase p) { return Name(kPhases, p); }

Result<ExecMode> ParseExecMode(std::string_view s) { return Parse(kModes, s, "mode"); }
Result<ExecState> ParseExecState(std::string_view s) { return Parse(kStates, s, "state"); }
Result<ExecTrigger> ParseExecTrigger(std::string_view s) { return Parse(kTriggers, s, "trigger"); }
Result<ExecPhase> ParseExecPhase(std::string_view s) { return Parse(kPhases, s, "phase"); }

const std::vector<ExecState>& AllExecStates() {
  static const std::vector<ExecState> all = [] {
    std::vector<ExecState> v;
    for (const auto& [value, name] : kStates) v.push_back(value);
    return v;
  }();
  return all;
}

bool IsTerminalState(ExecState s) {
  return s != ExecState::kQueued && s != ExecState::kPendingApproval && s != ExecState::kRunning;
}

std::ostream& operator<<(std::ostream& out, ExecMode m) { return out << ToString(m); }
std::ostream& operator<<(std::ostream& out, ExecState s) { return out << ToString(s); }
std::ostream& operator<<(std::ostream& out, ExecTrigger t) { return out << ToString(t); }
std::ostream& operator<<(std::ostream& out, ExecPhase p) { return out << ToString(p); }

}  // namespace failover
