// failover_actuator's own metrics (failover_actuator_*), pre-initialised per runbook.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "actuator/exec_enums.h"

namespace failover {

class ActuatorMetrics {
 public:
  ActuatorMetrics();
  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }
  // What /metrics serves: the registry, with the gauges computed at scrape time (the brake)
  // brought up to date first.
  std::vector<prometheus::MetricFamily> Collect() const;

  // Creates the per-runbook series (value 0) and removes those of runbooks that are gone.
  void SetRunbooks(const std::vector<std::string>& runbooks,
                   const std::vector<std::string>& step_kinds);

  void WebhookRequest(int code);
  void Alert(const std::string& result);  // matched | unmatched | deduplicated
  void ExecutionFinished(const std::string& runbook, ExecState result, double unix_time);
  void StepDuration(const std::string& kind, double seconds);
  void InProgress(const std::string& runbook, int delta);
  void Escalation(const std::string& result);  // sent | failed | not_configured
  // failover_actuator_brake_engaged is computed from this at every Collect() (the same
  // state the status page and /api/v1/status show); nullptr: 0.
  void SetBrakeSource(std::function<bool()> engaged);
  // failover_actuator_automation_held, likewise computed at every Collect() (from the
  // journal: shared by HA actuators); nullptr: 0.
  void SetHeldSource(std::function<bool()> held);
  void JournalWriteFailure();
  // A group commit of accepted webhooks: `commits` journal commits wrote `webhooks`
  // webhooks (SQLite: one commit for the group; etcd: one or more per webhook).
  void JournalAcceptCommits(int commits, int webhooks);
  void SetJournalFailing(bool failing);
  void JournalPruned(std::int64_t records);
  void SetPendingApprovals(int n);
  void ConfigReload(bool ok, double unix_time);
  void PromotionLag(const std::string& database, double seconds);

  // The `result` label values of failover_actuator_executions_total (ToString of each).
  static const std::vector<ExecState>& ExecutionResults();

 private:
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Counter>* webhook_requests_;
  prometheus::Family<prometheus::Counter>* alerts_;
  prometheus::Family<prometheus::Counter>* executions_;
  prometheus::Family<prometheus::Histogram>* step_duration_;
  prometheus::Family<prometheus::Gauge>* in_progress_;
  prometheus::Family<prometheus::Gauge>* last_execution_;
  prometheus::Family<prometheus::Counter>* escalations_;
  prometheus::Gauge* brake_;
  mutable std::mutex brake_mu_;
  std::function<bool()> brake_source_;
  prometheus::Gauge* held_;
  std::function<bool()> held_source_;
  prometheus::Counter* journal_write_failures_;
  prometheus::Counter* journal_commits_;
  prometheus::Histogram* journal_group_size_;
  prometheus::Gauge* journal_failing_;
  prometheus::Counter* journal_pruned_;
  prometheus::Gauge* pending_approvals_;
  prometheus::Gauge* reload_ok_;
  prometheus::Gauge* reload_ts_;
  prometheus::Family<prometheus::Gauge>* promotion_lag_;
  std::vector<std::string> runbooks_;
};

}  // namespace failover
