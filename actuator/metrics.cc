#include "actuator/metrics.h"

#include <algorithm>

#include "common/build_info.h"

namespace failover {

const std::vector<ExecState>& ActuatorMetrics::ExecutionResults() {
  static const std::vector<ExecState> kResults = {
      ExecState::kSucceeded, ExecState::kFailed,   ExecState::kRefused,  ExecState::kDryRun,
      ExecState::kHeld,      ExecState::kRejected, ExecState::kCancelled};
  return kResults;
}

ActuatorMetrics::ActuatorMetrics() {
  using prometheus::BuildCounter;
  using prometheus::BuildGauge;
  using prometheus::BuildHistogram;
  webhook_requests_ = &BuildCounter()
                           .Name("failover_actuator_webhook_requests_total")
                           .Help("Webhook requests by HTTP status code answered.")
                           .Register(*registry_);
  for (int code : {202, 400, 401, 413, 503})
    webhook_requests_->Add({{"code", std::to_string(code)}});
  alerts_ = &BuildCounter()
                 .Name("failover_actuator_alerts_total")
                 .Help(
                     "Alerts received, by routing result: matched (an execution was created), "
                     "unmatched (no runbook), deduplicated (a resend, or within the cooldown).")
                 .Register(*registry_);
  for (const char* r : {"matched", "unmatched", "deduplicated"}) alerts_->Add({{"result", r}});
  executions_ = &BuildCounter()
                     .Name("failover_actuator_executions_total")
                     .Help("Finished executions by runbook and result.")
                     .Register(*registry_);
  step_duration_ = &BuildHistogram()
                        .Name("failover_actuator_step_duration_seconds")
                        .Help("Duration of step attempts by kind.")
                        .Register(*registry_);
  in_progress_ = &BuildGauge()
                      .Name("failover_actuator_execution_in_progress")
                      .Help("1 while an execution of the runbook is running.")
                      .Register(*registry_);
  last_execution_ = &BuildGauge()
                         .Name("failover_actuator_last_execution_timestamp_seconds")
                         .Help("When an execution of the runbook last finished with this result.")
                         .Register(*registry_);
  escalations_ = &BuildCounter()
                      .Name("failover_actuator_escalations_total")
                      .Help(
                          "Escalations to PagerDuty when automation stopped or refused, by "
                          "result: sent, failed, not_configured.")
                      .Register(*registry_);
  for (const char* r : {"sent", "failed", "not_configured"}) escalations_->Add({{"result", r}});
  brake_ = &BuildGauge()
                .Name("failover_actuator_brake_engaged")
                .Help("1 while the global brake stops automatic executions.")
                .Register(*registry_)
                .Add({});
  held_ = &BuildGauge()
               .Name("failover_actuator_automation_held")
               .Help(
                   "1 while automation is on hold (by a human, or by the brake): no automatic "
                   "execution starts until a human resumes it.")
               .Register(*registry_)
               .Add({});
  journal_write_failures_ = &BuildCounter()
                                 .Name("failover_actuator_journal_write_failures_total")
                                 .Help(
                                     "Journal writes that failed (each attempt); an execution "
                                     "waits, retrying, until its write succeeds.")
                                 .Register(*registry_)
                                 .Add({});
  journal_commits_ = &BuildCounter()
                          .Name("failover_actuator_journal_commits_total")
                          .Help(
                              "Journal commits that accepted webhooks (one per group commit: "
                              "concurrent webhooks share one).")
                          .Register(*registry_)
                          .Add({});
  journal_group_size_ =
      &BuildHistogram()
           .Name("failover_actuator_journal_group_size")
           .Help("Webhooks written by one accept commit (group commit).")
           .Register(*registry_)
           .Add({}, prometheus::Histogram::BucketBoundaries{1, 2, 5, 10, 20, 50, 100, 200, 500});
  journal_failing_ = &BuildGauge()
                          .Name("failover_actuator_journal_failing")
                          .Help(
                              "1 while journal writes fail: executions are paused until their "
                              "next transition is recorded, webhooks get 503.")
                          .Register(*registry_)
                          .Add({});
  journal_pruned_ = &BuildCounter()
                         .Name("failover_actuator_journal_pruned_records_total")
                         .Help(
                             "Webhooks and finished executions removed from the journal after "
                             "the retention.")
                         .Register(*registry_)
                         .Add({});
  pending_approvals_ = &BuildGauge()
                            .Name("failover_actuator_pending_approvals")
                            .Help("Executions waiting for a human approval.")
                            .Register(*registry_)
                            .Add({});
  reload_ok_ = &BuildGauge()
                    .Name("failover_actuator_config_last_reload_successful")
                    .Help("Whether the last configuration load or reload succeeded.")
                    .Register(*registry_)
                    .Add({});
  reload_ts_ = &BuildGauge()
                    .Name("failover_actuator_config_last_reload_success_timestamp_seconds")
                    .Help("When the configuration was last loaded successfully.")
                    .Register(*registry_)
                    .Add({});
  BuildGauge()
      .Name("failover_actuator_build_info")
      .Help(
          "Version, revision, branch, build date, compiler and platform of failover_actuator; "
          "always 1.")
      .Register(*registry_)
      .Add(BuildInfoLabels())
      .Set(1);
  promotion_lag_ = &BuildGauge()
                        .Name("failover_actuator_promotion_lag_seconds")
                        .Help(
                            "Replication lag seen when the database was promoted: the data-loss "
                            "estimate.")
                        .Register(*registry_);
}

void ActuatorMetrics::SetRunbooks(const std::vector<std::string>& runbooks,
                                  const std::vector<std::string>& step_kinds) {
  for (const std::string& old : runbooks_) {
    if (std::find(runbooks.begin(), runbooks.end(), old) != runbooks.end()) continue;
    for (ExecState r : ExecutionResults()) {
      executions_->Remove(&executions_->Add({{"runbook", old}, {"result", ToString(r)}}));
      last_execution_->Remove(&last_execution_->Add({{"runbook", old}, {"result", ToString(r)}}));
    }
    in_progress_->Remove(&in_progress_->Add({{"runbook", old}}));
  }
  for (const std::string& rb : runbooks) {
    for (ExecState r : ExecutionResults()) {
      executions_->Add({{"runbook", rb}, {"result", ToString(r)}});
      last_execution_->Add({{"runbook", rb}, {"result", ToString(r)}});
    }
    in_progress_->Add({{"runbook", rb}});
  }
  for (const std::string& k : step_kinds) {
    step_duration_->Add({{"kind", k}},
                        prometheus::Histogram::BucketBoundaries{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
                                                                5, 10, 30, 60, 120, 300});
  }
  runbooks_ = runbooks;
}

void ActuatorMetrics::WebhookRequest(int code) {
  webhook_requests_->Add({{"code", std::to_string(code)}}).Increment();
}
void ActuatorMetrics::Alert(const std::string& result) {
  alerts_->Add({{"result", result}}).Increment();
}
void ActuatorMetrics::ExecutionFinished(const std::string& runbook, ExecState result,
                                        double unix_time) {
  executions_->Add({{"runbook", runbook}, {"result", ToString(result)}}).Increment();
  last_execution_->Add({{"runbook", runbook}, {"result", ToString(result)}}).Set(unix_time);
}
void ActuatorMetrics::StepDuration(const std::string& kind, double seconds) {
  step_duration_
      ->Add({{"kind", kind}}, prometheus::Histogram::BucketBoundaries{0.01, 0.05, 0.1, 0.25, 0.5, 1,
                                                                      2.5, 5, 10, 30, 60, 120, 300})
      .Observe(seconds);
}
void ActuatorMetrics::InProgress(const std::string& runbook, int delta) {
  in_progress_->Add({{"runbook", runbook}}).Increment(delta);
}
void ActuatorMetrics::Escalation(const std::string& result) {
  escalations_->Add({{"result", result}}).Increment();
}
void ActuatorMetrics::SetBrakeSource(std::function<bool()> engaged) {
  std::lock_guard<std::mutex> l(brake_mu_);
  brake_source_ = std::move(engaged);
}
void ActuatorMetrics::SetHeldSource(std::function<bool()> held) {
  std::lock_guard<std::mutex> l(brake_mu_);
  held_source_ = std::move(held);
}
std::vector<prometheus::MetricFamily> ActuatorMetrics::Collect() const {
  {
    std::lock_guard<std::mutex> l(brake_mu_);
    brake_->Set(brake_source_ && brake_source_() ? 1 : 0);
    held_->Set(held_source_ && held_source_() ? 1 : 0);
  }
  return registry_->Collect();
}
void ActuatorMetrics::JournalWriteFailure() { journal_write_failures_->Increment(); }
void ActuatorMetrics::JournalAcceptCommits(int commits, int webhooks) {
  if (commits <= 0) return;
  journal_commits_->Increment(commits);
  if (commits == 1) {
    journal_group_size_->Observe(webhooks);
  } else {
    for (int i = 0; i < commits; ++i) journal_group_size_->Observe(1);
  }
}
void ActuatorMetrics::SetJournalFailing(bool failing) { journal_failing_->Set(failing ? 1 : 0); }
void ActuatorMetrics::JournalPruned(std::int64_t records) {
  journal_pruned_->Increment(static_cast<double>(records));
}
void ActuatorMetrics::SetPendingApprovals(int n) { pending_approvals_->Set(n); }
void ActuatorMetrics::ConfigReload(bool ok, double unix_time) {
  reload_ok_->Set(ok ? 1 : 0);
  if (ok) reload_ts_->Set(unix_time);
}
void ActuatorMetrics::PromotionLag(const std::string& database, double seconds) {
  promotion_lag_->Add({{"database", database}}).Set(seconds);
}

}  // namespace failover
