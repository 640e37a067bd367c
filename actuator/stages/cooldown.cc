#include "actuator/stages/cooldown.h"

#include <vector>

#include "common/duration.h"

namespace failover {
namespace {

// States of an execution that ran or may still run: these block.
const std::vector<ExecState> kActiveStates = {ExecState::kQueued, ExecState::kPendingApproval,
                                              ExecState::kRunning, ExecState::kSucceeded,
                                              ExecState::kFailed};

}  // namespace

Result<std::string> Cooldown::Blocker(const RunbookConfig& rb, const ExecutionRecord& e,
                                      double now) {
  if (auto it = in_webhook_.find(rb.name); it != in_webhook_.end()) return it->second.first;
  if (rb.cooldown.count() <= 0 || e.mode == ExecMode::kDryRun) return std::string();
  if (auto g = in_group_.find(rb.name); g != in_group_.end()) return g->second;
  ExecutionQuery q;
  q.runbook = rb.name;
  q.states = kActiveStates;
  q.created_since = now - ToSeconds(rb.cooldown);
  q.limit = 1;
  auto recent = journal_.List(q);
  if (!recent) return recent.error();
  if (!recent->empty() && (*recent)[0].mode != ExecMode::kDryRun) return (*recent)[0].id;
  return std::string();
}

void Cooldown::Queued(const RunbookConfig& rb, const ExecutionRecord& e) {
  if (e.mode == ExecMode::kDryRun) return;
  in_webhook_[rb.name] = {e.id, rb.cooldown.count() > 0};
}

void Cooldown::EndWebhook() {
  for (const auto& [runbook, queued] : in_webhook_) {
    if (queued.second) in_group_[runbook] = queued.first;
  }
  in_webhook_.clear();
}

void Cooldown::Suppress(ExecutionRecord& e, const RunbookConfig& rb, const std::string& blocker,
                        double now) {
  e.state = ExecState::kSuppressed;
  e.finished_at = now;
  e.message = "within the cooldown of " + FormatDuration(rb.cooldown) + " after execution " +
              blocker + "; not run";
}

}  // namespace failover
