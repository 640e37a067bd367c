// Turns accepted alerts into executions and runs them: dedup, cooldown, brake, guards,
// modes (auto / approve / dry-run), one execution at a time per lock scope, per-step
// timeouts and retries, on_failure, escalation, and resuming after a restart. Every
// decision and transition is written to the journal first. The policy is a sequence of
// stages, one file each in actuator/stages/ (route, dedup, cooldown, hold, mode, guards,
// run_steps, escalate); Engine::CommitAccepts and Engine::Execute call them in order.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "actuator/alert.h"
#include "actuator/config.h"
#include "actuator/journal.h"
#include "actuator/lock.h"
#include "actuator/metrics.h"
#include "common/clock.h"
#include "common/http_client.h"

namespace failover {

class Cooldown;

struct EngineOptions {
  bool force_dry_run = false;  // --dry-run: every runbook behaves as mode dry-run
  // Execution locks; nullptr = file locks in the config's lock_dir. A manager with a scan
  // interval (etcd) also makes the engine take over executions no live process runs.
  LockManager* locks = nullptr;
};

class Engine {
 public:
  Engine(Journal& journal, Clock& clock, HttpClient& http, ActuatorMetrics& metrics,
         EngineOptions options);
  ~Engine();

  // Installs a (re)loaded configuration. Executions already running keep their steps.
  void SetConfig(std::shared_ptr<const ActuatorConfig> config);
  std::shared_ptr<const ActuatorConfig> config() const;

  // Resumes what the journal says was interrupted, then starts the workers.
  Status Start();
  void Stop();

  struct WebhookOutcome {
    int matched = 0;
    int unmatched = 0;
    int deduplicated = 0;
    std::vector<std::string> execution_ids;  // created by this request
  };
  // Routes every alert of the group and commits the result to the journal in one
  // transaction. Returns once durable; no step has run yet. A journal error is returned
  // as is (retryable errors mean: answer 503 so Alertmanager retries).
  Result<WebhookOutcome> HandleWebhook(const AlertGroup& group, const std::string& raw_body);
  // The same, without waiting: `done` is called once, with the outcome, after the commit
  // (on the thread that made it, maybe this one before the call returns). `group` and
  // `raw_body` must stay valid until then. The caller that finds no commit in progress
  // makes the commits, of its webhook and of every one queued meanwhile, until none is
  // left; the others return at once.
  using AcceptDone = std::function<void(Result<WebhookOutcome>)>;
  void AcceptWebhook(const AlertGroup& group, const std::string& raw_body, AcceptDone done);

  // A run requested through the API (drills, failback). Not subject to cooldown or the
  // brake: a human asked for it. Guards still apply.
  Result<ExecutionRecord> RunManually(const std::string& runbook, const LabelSet& labels,
                                      const LabelSet& annotations, bool dry_run,
                                      const std::string& requested_by);
  Result<ExecutionRecord> Approve(const std::string& id, const std::string& approved_by);
  // A pending approval refused: state rejected, nothing runs. `reason` is required.
  Result<ExecutionRecord> Reject(const std::string& id, const std::string& rejected_by,
                                 const std::string& reason);
  // Stops an execution between steps: a pending one is rejected at once; a queued or
  // running one is marked (journal setting cancel/<id>, seen by whichever actuator runs it)
  // and ends `cancelled` before its next step; the step in flight finishes, on_failure
  // does not run. Returns the execution as it is now.
  Result<ExecutionRecord> Cancel(const std::string& id, const std::string& cancelled_by,
                                 const std::string& reason);

  // The automation hold: a switch only a human releases. While it is on, no execution an
  // alert triggered starts (each is recorded `held` and paged); runs a human asked for
  // (API, approvals) still do. The brake engages it. Kept in the journal (setting "hold"),
  // so it survives restarts and HA actuators share it.
  struct HoldState {
    bool held = false;
    std::string by;  // who put it on ("brake" when the brake did)
    std::string reason;
    double since = 0;        // Unix seconds
    std::string resumed_by;  // the last release
    double resumed_at = 0;   // the brake counts only executions created after it
  };
  Result<HoldState> Hold();
  // Both record a journal event (kind hold / resume) naming the user. Hold while held
  // keeps the first holder; Resume while not held is an error.
  Result<HoldState> SetHold(const std::string& by, const std::string& reason);
  Result<HoldState> Resume(const std::string& by, const std::string& reason);
  // Rejects pending approvals older than approval_timeout (and pages); runs every second
  // in the background, exposed for tests. Returns how many expired.
  int ExpireApprovals();

  struct BrakeState {
    bool engaged = false;
    int executions_in_window = 0;
    int max_executions = 0;
    Duration window{};
  };
  // From the journal, now: what the status page, /api/v1/status and (at every scrape)
  // failover_actuator_brake_engaged show. Only executions of runbooks that count against
  // the brake (RunbookConfig::brake) are counted.
  BrakeState Brake();

  // Removes what the retention (journal: {retention: ...}) lets go: webhooks and finished
  // executions older than it, at most `max_records` of each per pass. Runs at Start and
  // hourly; returns how many records went.
  Result<std::int64_t> PruneJournal(int max_records = 1000);

  // For tests: blocks until no execution is queued or running (or the limit passes).
  bool WaitIdle(Duration limit);
  // For tests: webhooks waiting to join a group commit (not counting the group being
  // written).
  int AcceptsWaiting() const;

  // A group commit takes queued webhooks up to these bounds (at least one webhook).
  static constexpr size_t kMaxGroupAlerts = 1000;
  static constexpr size_t kMaxGroupBytes = 1 << 20;  // webhook bodies

  // ---- What the stages (actuator/stages/) use of the engine.
  Journal& journal() { return journal_; }
  Clock& clock() { return clock_; }
  HttpClient& http() { return http_; }
  ActuatorMetrics& metrics() { return metrics_; }
  double Now() const;  // Unix seconds
  // Journal writes of a running execution. Each returns once the write is committed,
  // retrying with backoff while the journal fails (the execution does not advance); false
  // only when the worker must stop (shutdown, lost lock) before it could be written.
  bool Event(const std::string& id, const std::string& kind, const std::string& message);
  bool Save(ExecutionRecord& e);
  bool PutStep(const StepRecord& rec);
  bool Durable(const std::string& what, const std::string& execution,
               const std::function<Status()>& write);
  // The end of an execution: state, message, finish time, its event, metric and log line,
  // with `steps` (step records not written yet: a dry run's) in the same journal write.
  // False when it could not be recorded (the journal's last record is where it resumes).
  bool Finish(ExecutionRecord& e, ExecState state, const std::string& message,
              const std::vector<StepRecord>& steps = {});
  bool Halted() const;  // stopping, or the execution lock of this worker is lost
  std::string HaltReason() const;
  bool LockLost() const;  // this worker's execution lock is lost: the next holder decides
  // For StepContext::cancelled (made on the worker thread): shutdown or the lock lost.
  std::function<bool()> StepCancelled() const;
  bool SleepUntil(MonoTime t);  // false when stopping
  // "cancelled by <who>: <reason>" once a human asked (Cancel), else nullopt.
  std::optional<std::string> CancelRequested(const std::string& id);
  void UpdatePendingGauge();

 private:
  struct Scope {
    std::deque<std::string> queue;
    std::thread thread;
    bool busy = false;
    std::string current;  // the execution the worker holds (or waits for) the lock of
  };

  // One webhook waiting for its group commit (see AcceptWebhook).
  struct PendingAccept {
    const AlertGroup* group = nullptr;
    const std::string* body = nullptr;
    AcceptDone done;
  };
  struct Decided;
  // Decides and writes a group of webhooks in one journal transaction (accept_mu_ taken
  // inside); one result per webhook, in order.
  std::vector<Result<WebhookOutcome>> CommitAccepts(const std::vector<PendingAccept>& batch);
  // One webhook: route, dedup key, mode and cooldown of each alert.
  Decided Decide(const ActuatorConfig& cfg, const AlertGroup& group, const std::string& body,
                 Cooldown& cooldown);
  ExecutionRecord NewAlertExecution(const RunbookConfig& rb, const Alert& alert,
                                    const std::string& group_key, double now);
  // The group's transaction (ids drawn again when one exists); one result per webhook.
  std::vector<Result<std::vector<bool>>> WriteGroup(std::vector<Decided>& decided);
  // A webhook's answer, logs and metrics; what it created goes to `to_run`.
  Result<WebhookOutcome> Outcome(const Decided& d, const Result<std::vector<bool>>& inserted,
                                 std::vector<const ExecutionRecord*>& to_run);
  void Enqueue(const std::string& scope, const std::string& id);  // mu_ held
  void WorkerLoop(const std::string& scope);
  void Execute(const std::string& id);
  // The execution to run now, resumed (and recorded so) when it was running; nullopt when
  // there is nothing to run (finished, pending approval, gone).
  std::optional<ExecutionRecord> LoadToRun(const std::string& id);
  // A writer's attempt failed (`first`: its first failed attempt); pages once when the
  // journal has failed for journal_page_after.
  void JournalFailing(const std::string& err, bool first);
  // A writer that had failed is done: it wrote (`written`) or stopped.
  void JournalRecovered(bool written);
  std::string NewId();
  std::string ScopeOf(const std::string& runbook) const;
  void ScanLoop();
  void ExpiryLoop();
  Result<ExecutionRecord> RejectLocked(const std::string& id, const std::string& by,
                                       const std::string& reason, const std::string& kind);
  void PruneLoop();
  void PublishJournalFailing();  // journal_mu_ held
  void ScanOrphans();

  Journal& journal_;
  Clock& clock_;
  HttpClient& http_;
  ActuatorMetrics& metrics_;
  EngineOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<const ActuatorConfig> config_;
  std::map<std::string, Scope> scopes_;
  std::mutex hold_mu_;        // serialises this process' hold/resume read-modify-writes
  std::mutex accept_mu_;      // serialises dedup/cooldown decisions with their journal writes
  mutable std::mutex gc_mu_;  // the group commit's queue and leader
  std::deque<PendingAccept> gc_queue_;
  bool gc_leading_ = false;
  std::atomic<bool> stopping_{false};
  bool started_ = false;
  std::unique_ptr<LockManager> file_locks_;
  LockManager* locks_;
  std::thread scanner_;
  std::thread pruner_;
  std::thread expirer_;

  std::mutex journal_mu_;  // guards the journal-failure state below
  int failing_writers_ = 0;
  bool accept_failing_ = false;
  MonoTime failing_since_{};
  bool failing_paged_ = false;
  std::string failing_error_;
};

}  // namespace failover
