#include "actuator/engine.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <ctime>
#include <map>
#include <optional>
#include <random>

#include "actuator/lock.h"
#include "actuator/pagerduty.h"
#include "actuator/stages/cooldown.h"
#include "actuator/stages/dedup.h"
#include "actuator/stages/escalate.h"
#include "actuator/stages/guards.h"
#include "actuator/stages/hold.h"
#include "actuator/stages/mode.h"
#include "actuator/stages/route.h"
#include "actuator/stages/run_steps.h"
#include "common/log.h"

namespace failover {
namespace {

// What the worker thread running an execution holds: its lock, and whether a journal
// write was refused because the lock is lost. Set by WorkerLoop for Execute.
struct HeldLock {
  ExecutionLock* lock = nullptr;
  std::atomic<bool> lost_write{false};
  bool Lost() const { return lost_write || (lock != nullptr && lock->Lost()); }
};
thread_local HeldLock* tl_held = nullptr;

constexpr const char* kHoldSetting = "hold";
std::string CancelSetting(const std::string& id) { return "cancel/" + id; }

// Once this worker's lock is lost, its journal writes would be refused (fenced) or, worse,
// wait for an unreachable etcd: they are skipped; the next holder writes instead.
bool WorkerLockLost() { return tl_held != nullptr && tl_held->Lost(); }

}  // namespace

Engine::Engine(Journal& journal, Clock& clock, HttpClient& http, ActuatorMetrics& metrics,
               EngineOptions options)
    : journal_(journal), clock_(clock), http_(http), metrics_(metrics), options_(options) {
  locks_ = options_.locks;
  if (locks_ == nullptr) {
    file_locks_ = MakeFileLockManager([this] { return config()->lock_dir; });
    locks_ = file_locks_.get();
  }
}

bool Engine::Halted() const { return stopping_ || (tl_held != nullptr && tl_held->Lost()); }

bool Engine::LockLost() const { return WorkerLockLost(); }

std::function<bool()> Engine::StepCancelled() const {
  return [this, held = tl_held] { return stopping_.load() || (held != nullptr && held->Lost()); };
}

std::string Engine::HaltReason() const {
  if (stopping_) return "shutdown";
  if (tl_held != nullptr && tl_held->lock != nullptr && tl_held->lock->Lost())
    return tl_held->lock->LostReason();
  return kLostLockMessage;
}

bool Engine::PutStep(const StepRecord& rec) {
  return Durable("step " + rec.phase + "/" + std::to_string(rec.index + 1) + " " + rec.state,
                 rec.execution_id, [&] { return journal_.PutStep(rec); });
}

// Backoff between attempts of a failing journal write.
constexpr Duration kJournalRetryFirst = std::chrono::milliseconds(100);
constexpr Duration kJournalRetryMax = std::chrono::seconds(5);

bool Engine::Durable(const std::string& what, const std::string& execution,
                     const std::function<Status()>& write) {
  Duration backoff = kJournalRetryFirst;
  bool failing = false;
  bool written = false;
  struct Recovered {
    Engine* engine;
    bool& failing;
    bool& written;
    ~Recovered() {
      if (failing) engine->JournalRecovered(written);
    }
  } recovered{this, failing, written};
  for (int attempt = 1;; ++attempt) {
    if (WorkerLockLost()) return false;
    Status s = write();
    if (s) {
      written = true;
      if (failing) {
        log::Info("journal write succeeded again; the execution goes on",
                  {{"execution", execution}, {"write", what}, {"attempts", attempt}});
      }
      return true;
    }
    if (IsLostLock(s.error())) {
      if (tl_held != nullptr) tl_held->lost_write = true;
      log::Error("journal write refused: lost the execution lock",
                 {{"execution", execution}, {"err", s.error().message}});
      return false;
    }
    metrics_.JournalWriteFailure();
    bool first = !failing;
    failing = true;
    JournalFailing(s.error().message, first);
    if (Halted()) {
      log::Error(
          "journal write failed; stopping without it: the journal's last record is where "
          "this execution resumes",
          {{"execution", execution}, {"write", what}, {"err", s.error().message}});
      return false;
    }
    log::Error("journal write failed; the execution waits until it is recorded",
               {{"execution", execution},
                {"write", what},
                {"attempt", attempt},
                {"retry_in", FormatDuration(backoff)},
                {"err", s.error().message}});
    if (!SleepUntil(clock_.Now() + backoff)) return false;
    backoff = std::min(backoff * 2, kJournalRetryMax);
  }
}

void Engine::PublishJournalFailing() {
  metrics_.SetJournalFailing(failing_writers_ > 0 || accept_failing_);
}

void Engine::JournalFailing(const std::string& err, bool first) {
  std::string page;
  {
    std::lock_guard<std::mutex> l(journal_mu_);
    // Called once per failed attempt; the first attempt of a writer registers it.
    if (first && failing_writers_++ == 0) failing_since_ = clock_.Now();
    failing_error_ = err;
    PublishJournalFailing();
    if (failing_paged_ || failing_writers_ == 0) return;
    if (clock_.Now() - failing_since_ < config()->journal_page_after) return;
    failing_paged_ = true;
    page = "failover_actuator cannot write its journal for " +
           FormatDuration(config()->journal_page_after) +
           "; executions are paused until it can (last error: " + err + ")";
  }
  auto cfg = config();
  if (!cfg->pagerduty_routing_key) {
    metrics_.Escalation("not_configured");
    log::Error("journal failing, PagerDuty is not configured; nobody was paged", {{"err", err}});
    return;
  }
  PagerDutyClient pd(http_, clock_, cfg->pagerduty_url, *cfg->pagerduty_routing_key);
  PagerDutyEvent ev;
  ev.action = "trigger";
  ev.dedup_key = "failover/journal";
  ev.summary = page;
  ev.severity = "critical";
  ev.component = "journal";
  ev.group = "failover";
  ev.event_class = "journal_write_failed";
  ev.custom_details = {{"error", err}};
  if (auto s = pd.Enqueue(ev, clock_.Now() + std::chrono::seconds(30)); s) {
    metrics_.Escalation("sent");
    log::Error("journal failing: paged PagerDuty", {{"err", err}});
  } else {
    metrics_.Escalation("failed");
    log::Error("journal failing: paging PagerDuty failed",
               {{"err", err}, {"pagerduty_err", s.error().message}});
  }
}

void Engine::JournalRecovered(bool written) {
  bool resolve = false;
  {
    std::lock_guard<std::mutex> l(journal_mu_);
    if (failing_writers_ > 0) --failing_writers_;
    if (failing_writers_ == 0 && written) {
      resolve = failing_paged_;
      failing_paged_ = false;
    }
    PublishJournalFailing();
  }
  if (!resolve) return;
  auto cfg = config();
  if (!cfg->pagerduty_routing_key) return;
  PagerDutyClient pd(http_, clock_, cfg->pagerduty_url, *cfg->pagerduty_routing_key);
  PagerDutyEvent ev;
  ev.action = "resolve";
  ev.dedup_key = "failover/journal";
  ev.summary = "failover_actuator writes its journal again";
  (void)pd.Enqueue(ev, clock_.Now() + std::chrono::seconds(30));
}

Engine::~Engine() { Stop(); }

void Engine::SetConfig(std::shared_ptr<const ActuatorConfig> config) {
  for (const RunbookConfig& rb : config->runbooks) {
    if (rb.brake_explicit && !rb.brake && rb.ChangesSomething()) {
      log::Warn("runbook changes things but does not count against the brake (brake: false)",
                {{"runbook", rb.name}});
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  config_ = std::move(config);
}

std::shared_ptr<const ActuatorConfig> Engine::config() const {
  std::lock_guard<std::mutex> lock(mu_);
  return config_;
}

double Engine::Now() const { return UnixSeconds(clock_.WallNow()); }

// <UTC second>-<6 hex digits>: the digits are a per-process random start plus a counter,
// so ids of one process never repeat (2^24 per second), and two processes (HA, a restart
// within the second) rarely meet; HandleWebhook and RunManually retry with new ids if
// the journal says an id exists.
std::string Engine::NewId() {
  static const std::uint32_t base = std::random_device{}();
  static std::atomic<std::uint32_t> counter{0};
  std::time_t t = std::chrono::system_clock::to_time_t(clock_.WallNow());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[48];
  std::uint32_t r = (base + counter.fetch_add(1)) & 0xffffff;
  std::snprintf(buf, sizeof buf, "%04d%02d%02dT%02d%02d%02dZ-%06x", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, r);
  return buf;
}

std::string Engine::ScopeOf(const std::string& runbook) const {
  if (config_) {
    if (const RunbookConfig* rb = config_->FindRunbook(runbook)) return rb->lock;
  }
  return "default";
}

bool Engine::Event(const std::string& id, const std::string& kind, const std::string& message) {
  EventRecord ev{id, Now(), kind, message};
  return Durable("event " + kind, id, [&] { return journal_.AddEvent(ev); });
}

bool Engine::Save(ExecutionRecord& e) {
  e.updated_at = Now();
  return Durable(std::string("execution ") + ToString(e.state) + " at " + ToString(e.phase) +
                     " step " + std::to_string(e.next_step + 1),
                 e.id, [&] { return journal_.Update(e); });
}

Result<Engine::WebhookOutcome> Engine::HandleWebhook(const AlertGroup& group,
                                                     const std::string& raw_body) {
  std::mutex m;
  std::condition_variable cv;
  std::optional<Result<WebhookOutcome>> got;
  AcceptWebhook(group, raw_body, [&](Result<WebhookOutcome> r) {
    std::lock_guard<std::mutex> l(m);  // held while notifying: `cv` lives on this stack
    got = std::move(r);
    cv.notify_one();
  });
  std::unique_lock<std::mutex> l(m);
  cv.wait(l, [&] { return got.has_value(); });
  return std::move(*got);
}

void Engine::AcceptWebhook(const AlertGroup& group, const std::string& raw_body, AcceptDone done) {
  // Group commit: the webhook joins the queue; a caller that finds no leader becomes it,
  // takes the queued webhooks (bounded by kMaxGroupAlerts and kMaxGroupBytes), writes them
  // in one transaction with one commit, then hands each its own result, and goes on while
  // more are queued. No webhook's `done` runs before its commit is durable (or failed).
  std::unique_lock<std::mutex> l(gc_mu_);
  gc_queue_.push_back(PendingAccept{&group, &raw_body, std::move(done)});
  if (gc_leading_) return;
  gc_leading_ = true;
  while (!gc_queue_.empty()) {
    std::vector<PendingAccept> batch;
    size_t alerts = 0;
    size_t bytes = 0;
    while (!gc_queue_.empty()) {
      PendingAccept& p = gc_queue_.front();
      size_t a = p.group->alerts.size();
      size_t b = p.body->size();
      if (!batch.empty() && (alerts + a > kMaxGroupAlerts || bytes + b > kMaxGroupBytes)) break;
      batch.push_back(std::move(p));
      gc_queue_.pop_front();
      alerts += a;
      bytes += b;
    }
    l.unlock();
    std::vector<Result<WebhookOutcome>> results;
    try {
      results = CommitAccepts(batch);
    } catch (const std::exception& e) {
      results.assign(batch.size(), Error::Internal(std::string("accept: ") + e.what()));
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      try {
        batch[i].done(std::move(results[i]));
      } catch (const std::exception& e) {
        log::Error("webhook answer failed", {{"err", e.what()}});
      }
    }
    l.lock();
  }
  gc_leading_ = false;
}

int Engine::AcceptsWaiting() const {
  std::lock_guard<std::mutex> l(gc_mu_);
  return static_cast<int>(gc_queue_.size());
}

// One webhook of a group commit, decided before the transaction.
struct Engine::Decided {
  std::optional<Error> error;  // a cooldown lookup failed: this webhook is not written
  Journal::AcceptRequest request;
  std::vector<bool> suppressed;  // per candidate: within a cooldown
  int unmatched = 0;             // alerts no runbook matches
};

// Acceptance: the engine's policy for a group of webhooks, stage by stage (route, dedup,
// mode, cooldown; actuator/stages/), then one journal transaction for the whole group.
std::vector<Result<Engine::WebhookOutcome>> Engine::CommitAccepts(
    const std::vector<PendingAccept>& batch) {
  std::lock_guard<std::mutex> accept(accept_mu_);  // decisions together with their writes
  auto cfg = config();
  Cooldown cooldown(journal_);  // sees what the earlier webhooks of the group queued
  std::vector<Decided> decided;
  decided.reserve(batch.size());
  for (const PendingAccept& p : batch) {
    decided.push_back(Decide(*cfg, *p.group, *p.body, cooldown));
  }
  // One transaction and one commit; no webhook is answered before it (dedup: the journal
  // inserts only keys it does not have).
  std::vector<Result<std::vector<bool>>> inserted = WriteGroup(decided);
  std::vector<Result<WebhookOutcome>> results;
  std::vector<const ExecutionRecord*> to_run;
  for (size_t m = 0; m < decided.size(); ++m) {
    results.push_back(Outcome(decided[m], inserted[m], to_run));
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (const ExecutionRecord* e : to_run) Enqueue(ScopeOf(e->runbook), e->id);
  return results;
}

Engine::Decided Engine::Decide(const ActuatorConfig& cfg, const AlertGroup& group,
                               const std::string& body, Cooldown& cooldown) {
  Decided d;
  double now = Now();
  cooldown.BeginWebhook();
  for (const Alert& alert : group.alerts) {
    std::vector<const RunbookConfig*> runbooks = Route(cfg, alert);
    if (runbooks.empty()) ++d.unmatched;
    for (const RunbookConfig* rb : runbooks) {
      ExecutionRecord e = NewAlertExecution(*rb, alert, group.group_key, now);
      Result<std::string> blocker = cooldown.Blocker(*rb, e, now);
      if (!blocker) {
        d.error = blocker.error();
        return d;
      }
      if (blocker->empty()) {
        cooldown.Queued(*rb, e);
      } else {
        Cooldown::Suppress(e, *rb, *blocker, now);
      }
      d.suppressed.push_back(!blocker->empty());
      d.request.candidates.push_back(std::move(e));
    }
  }
  cooldown.EndWebhook();
  d.request.webhook = WebhookRecord{
      now, group.group_key, group.status, group.receiver, static_cast<int>(group.alerts.size()),
      body};
  return d;
}

ExecutionRecord Engine::NewAlertExecution(const RunbookConfig& rb, const Alert& alert,
                                          const std::string& group_key, double now) {
  ExecutionRecord e;
  e.id = NewId();
  e.dedup_key = DedupKey(rb, alert);
  e.runbook = rb.name;
  e.trigger = ExecTrigger::kWebhook;
  e.mode = AlertMode(rb, options_.force_dry_run);
  e.labels = alert.labels;
  e.annotations = alert.annotations;
  e.alert_status = alert.status;
  e.fingerprint = alert.fingerprint;
  e.starts_at = alert.starts_at;
  e.created_at = e.updated_at = now;
  e.state = ExecState::kQueued;
  e.message = "accepted from Alertmanager (group " + group_key + ")";
  return e;
}

std::vector<Result<std::vector<bool>>> Engine::WriteGroup(std::vector<Decided>& decided) {
  std::vector<Result<std::vector<bool>>> inserted(decided.size(),
                                                  Error::Internal("accept: not written"));
  std::vector<size_t> todo;  // indices into `decided` still to write
  for (size_t i = 0; i < decided.size(); ++i) {
    if (!decided[i].error) todo.push_back(i);
  }
  const std::vector<size_t> written_ones = todo;
  // One transaction for the whole group. An id that exists (another process' id of this
  // second) is drawn again, in every webhook that failed for it.
  for (int attempt = 0; !todo.empty(); ++attempt) {
    std::vector<Journal::AcceptRequest> part;
    part.reserve(todo.size());
    for (size_t i : todo) part.push_back(decided[i].request);
    int commits = 0;
    auto got = journal_.AcceptGroup(part, &commits);
    int written = 0;
    for (size_t k = 0; k < todo.size(); ++k) {
      if (got[k]) ++written;
      inserted[todo[k]] = std::move(got[k]);
    }
    metrics_.JournalAcceptCommits(commits, written);
    std::vector<size_t> again;
    for (size_t i : todo) {
      if (!inserted[i] && inserted[i].error().message.find(kIdExistsMessage) != std::string::npos)
        again.push_back(i);
    }
    if (again.empty() || attempt >= 4) break;
    std::map<std::string, std::string> renamed;
    for (size_t i : again) {
      for (ExecutionRecord& e : decided[i].request.candidates) e.id = renamed[e.id] = NewId();
    }
    for (size_t i : again) {  // a cooldown message naming a renamed id
      for (ExecutionRecord& e : decided[i].request.candidates) {
        if (e.state != ExecState::kSuppressed) continue;
        for (const auto& [from, to] : renamed) {
          if (auto at = e.message.find(from); at != std::string::npos) {
            e.message.replace(at, from.size(), to);
          }
        }
      }
    }
    todo = std::move(again);
  }
  bool failed = false;
  for (size_t i : written_ones) failed = failed || !inserted[i];
  std::lock_guard<std::mutex> l(journal_mu_);
  accept_failing_ = failed;
  PublishJournalFailing();
  return inserted;
}

Result<Engine::WebhookOutcome> Engine::Outcome(const Decided& d,
                                               const Result<std::vector<bool>>& inserted,
                                               std::vector<const ExecutionRecord*>& to_run) {
  if (d.error) return *d.error;
  if (!inserted) {
    metrics_.JournalWriteFailure();
    return inserted.error();
  }
  const std::vector<ExecutionRecord>& candidates = d.request.candidates;
  WebhookOutcome out;
  out.unmatched = d.unmatched;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const ExecutionRecord& e = candidates[i];
    if (!(*inserted)[i]) {
      ++out.deduplicated;
      log::Info(
          "alert deduplicated",
          {{"runbook", e.runbook}, {"fingerprint", e.fingerprint}, {"starts_at", e.starts_at}});
      continue;
    }
    if (d.suppressed[i]) {
      ++out.deduplicated;
      log::Info("alert suppressed by cooldown",
                {{"runbook", e.runbook}, {"execution", e.id}, {"reason", e.message}});
      continue;
    }
    ++out.matched;
    out.execution_ids.push_back(e.id);
    to_run.push_back(&e);
    log::Info("execution accepted", {{"execution", e.id},
                                     {"runbook", e.runbook},
                                     {"mode", ToString(e.mode)},
                                     {"fingerprint", e.fingerprint}});
  }
  for (int i = 0; i < out.matched; ++i) metrics_.Alert("matched");
  for (int i = 0; i < out.unmatched; ++i) metrics_.Alert("unmatched");
  for (int i = 0; i < out.deduplicated; ++i) metrics_.Alert("deduplicated");
  return out;
}

Result<ExecutionRecord> Engine::RunManually(const std::string& runbook, const LabelSet& labels,
                                            const LabelSet& annotations, bool dry_run,
                                            const std::string& requested_by) {
  auto cfg = config();
  const RunbookConfig* rb = cfg->FindRunbook(runbook);
  if (rb == nullptr) return Error{ErrorCode::kNotFound, "no runbook named \"" + runbook + "\""};
  ExecutionRecord e;
  e.id = NewId();
  e.dedup_key = ApiDedupKey(e.id);
  e.runbook = runbook;
  e.trigger = ExecTrigger::kApi;
  e.mode = ApiMode(*rb, dry_run, options_.force_dry_run);
  e.labels = labels;
  e.annotations = annotations;
  e.created_at = e.updated_at = Now();
  e.state = ExecState::kQueued;
  e.requested_by = requested_by;
  e.message = "requested through the API by " + requested_by;
  auto s = journal_.Insert(e);
  for (int retry = 0;
       retry < 5 && !s && s.error().message.find(kIdExistsMessage) != std::string::npos; ++retry) {
    e.id = NewId();
    e.dedup_key = ApiDedupKey(e.id);
    s = journal_.Insert(e);
  }
  if (!s) return s.error();
  if (auto ev = journal_.AddEvent({e.id, Now(), "accepted", e.message}); !ev) {
    log::Error("journal write failed", {{"execution", e.id}, {"err", ev.error().message}});
  }
  log::Info("manual execution requested", {{"execution", e.id},
                                           {"runbook", runbook},
                                           {"mode", ToString(e.mode)},
                                           {"by", requested_by}});
  std::lock_guard<std::mutex> lock(mu_);
  Enqueue(ScopeOf(runbook), e.id);
  return e;
}

Result<ExecutionRecord> Engine::Approve(const std::string& id, const std::string& approved_by) {
  std::lock_guard<std::mutex> accept(accept_mu_);
  auto got = journal_.Get(id);
  if (!got) return got.error();
  if (!*got) return Error{ErrorCode::kNotFound, "no execution " + id};
  ExecutionRecord e = **got;
  if (e.state != ExecState::kPendingApproval) {
    return Error::Invalid("execution " + id + " is " + ToString(e.state) +
                          ", not pending_approval");
  }
  e.approved = true;
  e.state = ExecState::kQueued;
  e.message = "approved by " + approved_by;
  e.updated_at = Now();
  if (auto s = journal_.Update(e); !s) return s.error();  // not approved: nothing runs
  if (auto ev = journal_.AddEvent({id, Now(), "approved", e.message}); !ev) {
    log::Error("journal write failed", {{"execution", id}, {"err", ev.error().message}});
  }
  log::Info("execution approved", {{"execution", id}, {"by", approved_by}});
  {
    std::lock_guard<std::mutex> lock(mu_);
    Enqueue(ScopeOf(e.runbook), id);
  }
  UpdatePendingGauge();
  return e;
}

Result<ExecutionRecord> Engine::RejectLocked(const std::string& id, const std::string& by,
                                             const std::string& reason, const std::string& kind) {
  auto got = journal_.Get(id);
  if (!got) return got.error();
  if (!*got) return Error{ErrorCode::kNotFound, "no execution " + id};
  ExecutionRecord e = **got;
  if (e.state != ExecState::kPendingApproval) {
    return Error::Invalid("execution " + id + " is " + ToString(e.state) +
                          ", not pending_approval");
  }
  e.state = ExecState::kRejected;
  e.message = kind == "expired" ? reason : "rejected by " + by + ": " + reason;
  e.requested_by = by;
  e.updated_at = e.finished_at = Now();
  if (auto s = journal_.Update(e); !s) return s.error();
  if (auto ev = journal_.AddEvent({id, Now(), kind, e.message}); !ev) {
    log::Error("journal write failed", {{"execution", id}, {"err", ev.error().message}});
  }
  metrics_.ExecutionFinished(e.runbook, e.state, e.finished_at);
  log::Info("execution rejected", {{"execution", id}, {"by", by}, {"reason", reason}});
  UpdatePendingGauge();
  return e;
}

Result<ExecutionRecord> Engine::Reject(const std::string& id, const std::string& rejected_by,
                                       const std::string& reason) {
  if (reason.empty()) return Error::Invalid("a rejection needs a reason");
  std::lock_guard<std::mutex> accept(accept_mu_);
  return RejectLocked(id, rejected_by, reason, "rejected");
}

std::optional<std::string> Engine::CancelRequested(const std::string& id) {
  auto v = journal_.GetSetting(CancelSetting(id));
  if (!v) {
    log::Warn("cannot read whether the execution was cancelled",
              {{"execution", id}, {"err", v.error().message}});
    return std::nullopt;
  }
  if (!*v) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(**v, nullptr, false);
  if (!j.is_object()) return "cancelled";
  return "cancelled by " + j.value("by", std::string("?")) + ": " +
         j.value("reason", std::string("no reason given"));
}

Result<ExecutionRecord> Engine::Cancel(const std::string& id, const std::string& cancelled_by,
                                       const std::string& reason) {
  if (reason.empty()) return Error::Invalid("a cancellation needs a reason");
  std::lock_guard<std::mutex> accept(accept_mu_);
  auto got = journal_.Get(id);
  if (!got) return got.error();
  if (!*got) return Error{ErrorCode::kNotFound, "no execution " + id};
  ExecutionRecord e = **got;
  if (e.state == ExecState::kPendingApproval) {
    return RejectLocked(id, cancelled_by, reason, "rejected");
  }
  if (IsTerminalState(e.state)) {
    return Error::Invalid("execution " + id + " is " + ToString(e.state) + ": nothing to cancel");
  }
  nlohmann::json j = {{"by", cancelled_by}, {"reason", reason}, {"at", Now()}};
  if (auto s = journal_.PutSetting(CancelSetting(id), j.dump()); !s) return s.error();
  std::string msg = "cancel requested by " + cancelled_by + ": " + reason +
                    "; the execution stops before its next step";
  if (auto ev = journal_.AddEvent({id, Now(), "cancel_requested", msg}); !ev) {
    log::Error("journal write failed", {{"execution", id}, {"err", ev.error().message}});
  }
  log::Info("execution cancel requested", {{"execution", id}, {"by", cancelled_by}});
  return e;
}

Result<Engine::HoldState> Engine::Hold() {
  auto v = journal_.GetSetting(kHoldSetting);
  if (!v) return v.error();
  HoldState h;
  if (!*v) return h;
  nlohmann::json j = nlohmann::json::parse(**v, nullptr, false);
  if (!j.is_object()) return Error::Internal("journal: setting hold is not a JSON object");
  h.held = j.value("held", false);
  h.by = j.value("by", "");
  h.reason = j.value("reason", "");
  h.since = j.value("since", 0.0);
  h.resumed_by = j.value("resumed_by", "");
  h.resumed_at = j.value("resumed_at", 0.0);
  return h;
}

namespace {
std::string HoldJson(const Engine::HoldState& h) {
  return nlohmann::json{{"held", h.held},
                        {"by", h.by},
                        {"reason", h.reason},
                        {"since", h.since},
                        {"resumed_by", h.resumed_by},
                        {"resumed_at", h.resumed_at}}
      .dump();
}
}  // namespace

Result<Engine::HoldState> Engine::SetHold(const std::string& by, const std::string& reason) {
  if (reason.empty()) return Error::Invalid("a hold needs a reason");
  std::lock_guard<std::mutex> l(hold_mu_);
  auto h = Hold();
  if (!h) return h.error();
  if (h->held) return *h;  // the first holder's reason stays
  h->held = true;
  h->by = by;
  h->reason = reason;
  h->since = Now();
  if (auto s = journal_.PutSetting(kHoldSetting, HoldJson(*h)); !s) return s.error();
  std::string msg = "automation put on hold by " + by + ": " + reason;
  if (auto ev = journal_.AddEvent({"", Now(), "hold", msg}); !ev) {
    log::Error("journal write failed", {{"event", "hold"}, {"err", ev.error().message}});
  }
  log::Warn("automation on hold", {{"by", by}, {"reason", reason}});
  return *h;
}

Result<Engine::HoldState> Engine::Resume(const std::string& by, const std::string& reason) {
  std::lock_guard<std::mutex> l(hold_mu_);
  auto h = Hold();
  if (!h) return h.error();
  if (!h->held) return Error::Invalid("automation is not on hold");
  std::string was = h->by + ": " + h->reason;
  h->held = false;
  h->resumed_by = by;
  h->resumed_at = Now();
  if (auto s = journal_.PutSetting(kHoldSetting, HoldJson(*h)); !s) return s.error();
  std::string msg = "automation resumed by " + by + (reason.empty() ? "" : ": " + reason) +
                    " (was on hold by " + was + ")";
  if (auto ev = journal_.AddEvent({"", Now(), "resume", msg}); !ev) {
    log::Error("journal write failed", {{"event", "resume"}, {"err", ev.error().message}});
  }
  log::Warn("automation resumed", {{"by", by}});
  return *h;
}

int Engine::ExpireApprovals() {
  auto cfg = config();
  if (!cfg || cfg->approval_timeout.count() <= 0) return 0;
  ExecutionQuery q;
  q.states = {ExecState::kPendingApproval};
  q.limit = 1000;
  auto pending = journal_.List(q);
  if (!pending) return 0;
  int n = 0;
  double now = Now();
  for (const ExecutionRecord& p : *pending) {
    if (now - p.updated_at < ToSeconds(cfg->approval_timeout)) continue;
    Result<ExecutionRecord> e = Error::Internal("");
    {
      std::lock_guard<std::mutex> accept(accept_mu_);
      e = RejectLocked(p.id, "approval_timeout",
                       "approval expired: nobody approved or rejected it within " +
                           FormatDuration(cfg->approval_timeout) + " (approval_timeout)",
                       "expired");
    }
    if (!e) continue;  // decided meanwhile
    ++n;
    Escalate(*this, *e, "failover runbook " + e->runbook + " not run: " + e->message);
  }
  return n;
}

void Engine::ExpiryLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_.load(); });
    if (stopping_) return;
    lock.unlock();
    ExpireApprovals();
    lock.lock();
  }
}

Engine::BrakeState Engine::Brake() {
  auto cfg = config();
  BrakeState b;
  if (!cfg) return b;
  b.max_executions = cfg->brake_max_executions;
  b.window = cfg->brake_window;
  ExecutionQuery q;
  q.trigger = ExecTrigger::kWebhook;
  q.mode = ExecMode::kAuto;
  q.states = {ExecState::kRunning, ExecState::kSucceeded, ExecState::kFailed};
  q.created_since = Now() - ToSeconds(cfg->brake_window);
  // A human who resumed automation released the brake: only what started since counts.
  if (auto h = Hold(); h && h->resumed_at > q.created_since) q.created_since = h->resumed_at;
  q.limit = 10000;
  if (auto r = journal_.List(q)) {
    for (const ExecutionRecord& e : *r) {
      // Runbooks that only notify or wait do not count; nor do runbooks no longer
      // configured that did not count when they ran (unknown now: they count).
      const RunbookConfig* rb = cfg->FindRunbook(e.runbook);
      if (rb != nullptr && !rb->brake) continue;
      if (++b.executions_in_window > b.max_executions) break;
    }
  }
  b.engaged = b.executions_in_window >= b.max_executions;
  return b;
}

Result<std::int64_t> Engine::PruneJournal(int max_records) {
  auto cfg = config();
  if (!cfg) return std::int64_t{0};
  double before = Now() - ToSeconds(cfg->journal_retention);
  auto n = journal_.Prune(before, max_records);
  if (!n) {
    log::Warn("cannot prune the journal", {{"err", n.error().message}});
    return n;
  }
  if (*n > 0) {
    metrics_.JournalPruned(*n);
    log::Info("pruned the journal",
              {{"records", *n}, {"retention", FormatDuration(cfg->journal_retention)}});
  }
  return n;
}

void Engine::PruneLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    // Bounded passes; one more right away while a pass removed all it was allowed to.
    for (int pass = 0; pass < 10 && !stopping_; ++pass) {
      auto n = PruneJournal(1000);
      if (!n || *n < 1000) break;
    }
    lock.lock();
    cv_.wait_for(lock, std::chrono::hours(1), [&] { return stopping_.load(); });
  }
}

void Engine::UpdatePendingGauge() {
  ExecutionQuery q;
  q.states = {ExecState::kPendingApproval};
  q.limit = 10000;
  if (auto r = journal_.List(q)) metrics_.SetPendingApprovals(static_cast<int>(r->size()));
}

Status Engine::Start() {
  ExecutionQuery q;
  q.states = {ExecState::kQueued, ExecState::kRunning};
  q.limit = 100000;
  auto unfinished = journal_.List(q);
  if (!unfinished) return unfinished.error();
  std::reverse(unfinished->begin(), unfinished->end());  // oldest first
  std::lock_guard<std::mutex> lock(mu_);
  started_ = true;
  for (const ExecutionRecord& e : *unfinished) Enqueue(ScopeOf(e.runbook), e.id);
  UpdatePendingGauge();
  metrics_.SetBrakeSource([this] { return Brake().engaged; });
  metrics_.SetHeldSource([this] {
    auto h = Hold();
    return h && h->held;
  });
  pruner_ = std::thread([this] { PruneLoop(); });
  expirer_ = std::thread([this] { ExpiryLoop(); });
  if (locks_->ScanInterval() > Duration::zero()) scanner_ = std::thread([this] { ScanLoop(); });
  return {};
}

void Engine::ScanLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, locks_->ScanInterval(), [&] { return stopping_.load(); });
    if (stopping_) return;
    lock.unlock();
    ScanOrphans();
    lock.lock();
  }
}

// Executions another process accepted (or was running) whose lock nobody holds: that
// process died or lost the lock before finishing them. They are resumed here.
void Engine::ScanOrphans() {
  ExecutionQuery q;
  q.states = {ExecState::kQueued, ExecState::kRunning};
  q.limit = 100000;
  auto unfinished = journal_.List(q);
  if (!unfinished) {
    log::Warn("cannot scan the journal for orphaned executions",
              {{"err", unfinished.error().message}});
    return;
  }
  std::reverse(unfinished->begin(), unfinished->end());  // oldest first
  std::map<std::string, bool> held;
  for (const ExecutionRecord& e : *unfinished) {
    std::string scope;
    {
      std::lock_guard<std::mutex> lock(mu_);
      scope = ScopeOf(e.runbook);
      auto it = scopes_.find(scope);
      if (it != scopes_.end() &&
          (it->second.current == e.id || std::find(it->second.queue.begin(), it->second.queue.end(),
                                                   e.id) != it->second.queue.end())) {
        continue;  // ours already
      }
    }
    if (!held.count(scope)) {
      auto h = locks_->Held(scope);
      if (!h) {
        log::Warn("cannot check the execution lock",
                  {{"scope", scope}, {"err", h.error().message}});
        return;
      }
      held[scope] = *h;
    }
    if (held[scope]) continue;  // a live process runs this scope; it will get to it
    log::Info("taking over an execution no live actuator runs", {{"execution", e.id},
                                                                 {"runbook", e.runbook},
                                                                 {"state", ToString(e.state)},
                                                                 {"scope", scope}});
    std::lock_guard<std::mutex> lock(mu_);
    Enqueue(scope, e.id);
  }
}

void Engine::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  metrics_.SetBrakeSource(nullptr);
  metrics_.SetHeldSource(nullptr);
  if (scanner_.joinable()) scanner_.join();
  if (expirer_.joinable()) expirer_.join();
  if (pruner_.joinable()) pruner_.join();
  for (auto& [name, scope] : scopes_) {
    if (scope.thread.joinable()) scope.thread.join();
  }
}

bool Engine::WaitIdle(Duration limit) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, limit, [&] {
    for (auto& [name, s] : scopes_) {
      if (s.busy || !s.queue.empty()) return false;
    }
    return true;
  });
}

void Engine::Enqueue(const std::string& scope, const std::string& id) {
  Scope& s = scopes_[scope];
  s.queue.push_back(id);
  if (started_ && !stopping_ && !s.thread.joinable()) {
    s.thread = std::thread([this, scope] { WorkerLoop(scope); });
  }
  cv_.notify_all();
}

void Engine::WorkerLoop(const std::string& scope) {
  for (;;) {
    std::string id;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !scopes_[scope].queue.empty(); });
      if (stopping_) return;
      id = scopes_[scope].queue.front();
      scopes_[scope].queue.pop_front();
      scopes_[scope].busy = true;
      scopes_[scope].current = id;
    }
    auto held = locks_->Acquire(scope, [this] { return stopping_.load(); });
    if (!held) {
      log::Error("cannot take the execution lock",
                 {{"scope", scope}, {"err", held.error().message}});
    } else {
      HeldLock h;
      h.lock = held->get();
      tl_held = &h;
      journal_.Fence(id, (*held)->fence_key(), (*held)->epoch());
      Execute(id);
      journal_.Fence(id, "", 0);
      if (h.Lost() && !stopping_) {
        log::Error("execution stopped: lost the execution lock; left for the next holder to resume",
                   {{"execution", id}, {"scope", scope}, {"reason", HaltReason()}});
      }
      tl_held = nullptr;
    }
    std::lock_guard<std::mutex> lock(mu_);
    scopes_[scope].busy = false;
    scopes_[scope].current.clear();
    cv_.notify_all();
  }
}

bool Engine::SleepUntil(MonoTime t) {
  while (clock_.Now() < t) {
    if (Halted()) return false;
    clock_.SleepUntil(std::min(t, clock_.Now() + std::chrono::milliseconds(50)));
  }
  return !Halted();
}

bool Engine::Finish(ExecutionRecord& e, ExecState state, const std::string& message,
                    const std::vector<StepRecord>& steps) {
  if (WorkerLockLost()) return false;  // the next holder decides
  ExecutionRecord before = e;
  e.state = state;
  e.message = message;
  e.finished_at = e.updated_at = Now();
  // The final state, its event and `steps` in one journal write (one commit with SQLite).
  EventRecord ev{e.id, e.finished_at, ToString(state), message};
  if (!Durable(std::string("execution ") + ToString(state) + " with its event", e.id,
               [&] { return journal_.UpdateWithEvent(e, steps, ev); })) {
    e = before;  // not recorded: resumed from the journal's last record
    return false;
  }
  metrics_.ExecutionFinished(e.runbook, state, e.finished_at);
  if (state == ExecState::kSucceeded || state == ExecState::kDryRun) {
    log::Info("execution finished", {{"execution", e.id},
                                     {"runbook", e.runbook},
                                     {"state", ToString(state)},
                                     {"message", message}});
  } else {
    log::Error("execution finished", {{"execution", e.id},
                                      {"runbook", e.runbook},
                                      {"state", ToString(state)},
                                      {"message", message}});
  }
  return true;
}

// An execution, from the journal's record to its end: the engine's policy, stage by stage
// (actuator/stages/, in this order; docs/development.md, "The engine's stages").
void Engine::Execute(const std::string& id) {
  std::optional<ExecutionRecord> loaded = LoadToRun(id);  // resumes an interrupted one
  if (!loaded) return;
  ExecutionRecord& e = *loaded;
  auto cfg = config();
  const RunbookConfig* rb = cfg->FindRunbook(e.runbook);
  if (rb == nullptr) {
    if (Finish(e, ExecState::kFailed, "runbook \"" + e.runbook + "\" is no longer configured"))
      Escalate(*this, e, "failover execution " + e.id + " cannot run: " + e.message);
    return;
  }
  TemplateVars vars{e.labels, e.annotations, e.runbook, e.id};
  if (e.state == ExecState::kQueued) {
    if (e.mode == ExecMode::kDryRun) return RunDry(*this, e, *rb, vars);  // mode: dry-run
    if (auto c = CancelRequested(e.id)) {
      Finish(e, ExecState::kCancelled, *c + " before it started");
      return;
    }
    if (!PassHoldAndBrake(*this, e, *rb)) return;       // hold/brake: held and paged
    if (!PassGuards(*this, e, *rb, false)) return;      // guards: refused and paged
    if (WaitsForApproval(*this, e, *rb, vars)) return;  // mode approve: waits for a human
    if (!StartRunning(*this, e, *rb)) return;
  }
  RunSteps(*this, e, *rb, vars);  // run steps, on_failure, escalate
}

std::optional<ExecutionRecord> Engine::LoadToRun(const std::string& id) {
  auto got = journal_.Get(id);
  if (!got || !*got) {
    log::Error("execution vanished from the journal", {{"execution", id}});
    return std::nullopt;
  }
  ExecutionRecord e = **got;
  if (IsTerminalState(e.state) || e.state == ExecState::kPendingApproval) return std::nullopt;
  if (e.state == ExecState::kRunning) {
    // Nobody else runs it (we hold its lock): its last holder was interrupted (restart,
    // crash, lost lock). Steps are desired-state, so it resumes at its next step.
    ++e.resumes;
    if (!Save(e)) return std::nullopt;
    std::string where = e.phase == ExecPhase::kMain
                            ? "step " + std::to_string(e.next_step + 1)
                            : "on_failure step " + std::to_string(e.next_step + 1);
    Event(e.id, "resumed",
          "resumed after an interruption (restart, crash or lost lock) at " + where);
    log::Warn("resuming interrupted execution",
              {{"execution", e.id}, {"runbook", e.runbook}, {"at", where}});
  }
  return e;
}

}  // namespace failover
