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
#include "actuator/prometheus_client.h"
#include "common/log.h"

namespace failover {
namespace {

const std::vector<ExecState> kActiveStates = {ExecState::kQueued, ExecState::kPendingApproval,
                                              ExecState::kRunning, ExecState::kSucceeded,
                                              ExecState::kFailed};

// What the worker thread running an execution holds: its lock, and whether a journal
// write was refused because the lock is lost. Set by WorkerLoop for Execute.
struct HeldLock {
  ExecutionLock* lock = nullptr;
  std::atomic<bool> lost_write{false};
  bool Lost() const { return lost_write || (lock != nullptr && lock->Lost()); }
};
thread_local HeldLock* tl_held = nullptr;

// Set by RunPhase when a human cancelled the execution before its next step: the message
// the execution finishes `cancelled` with.
thread_local std::optional<std::string> tl_cancelled;

constexpr const char* kHoldSetting = "hold";
std::string CancelSetting(const std::string& id) { return "cancel/" + id; }

// Once this worker's lock is lost, its journal writes would be refused (fenced) or, worse,
// wait for an unreachable etcd: they are skipped; the next holder writes instead.
bool WorkerLockLost() { return tl_held != nullptr && tl_held->Lost(); }

std::string StepLabel(ExecPhase phase, size_t i, const std::string& kind) {
  return (phase == ExecPhase::kMain ? "step " : "on_failure step ") + std::to_string(i + 1) + " (" +
         kind + ")";
}

}  // namespace

enum class PhaseResult { kDone, kFailed, kInterrupted };

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

// One webhook waiting for its group commit (see HandleWebhook). `result` is set by the
// leader, under gc_mu_.
struct Engine::PendingAccept {
  const AlertGroup* group = nullptr;
  const std::string* body = nullptr;
  std::optional<Result<WebhookOutcome>> result;
};

Result<Engine::WebhookOutcome> Engine::HandleWebhook(const AlertGroup& group,
                                                     const std::string& raw_body) {
  // Group commit: the webhook joins the queue; whichever caller finds no leader becomes
  // it, takes the queued webhooks (bounded by kMaxGroupAlerts and kMaxGroupBytes), writes
  // them in one transaction with one commit, then hands each its own result. A caller
  // returns only once its own webhook's commit is durable (or failed).
  PendingAccept me;
  me.group = &group;
  me.body = &raw_body;
  std::unique_lock<std::mutex> l(gc_mu_);
  gc_queue_.push_back(&me);
  while (!me.result) {
    if (gc_leading_) {
      gc_cv_.wait(l);
      continue;
    }
    gc_leading_ = true;
    std::vector<PendingAccept*> batch;
    size_t alerts = 0;
    size_t bytes = 0;
    while (!gc_queue_.empty()) {
      PendingAccept* p = gc_queue_.front();
      size_t a = p->group->alerts.size();
      size_t b = p->body->size();
      if (!batch.empty() && (alerts + a > kMaxGroupAlerts || bytes + b > kMaxGroupBytes)) break;
      batch.push_back(p);
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
    l.lock();
    for (size_t i = 0; i < batch.size(); ++i) batch[i]->result = std::move(results[i]);
    gc_leading_ = false;
    gc_cv_.notify_all();
  }
  return std::move(*me.result);
}

int Engine::AcceptsWaiting() const {
  std::lock_guard<std::mutex> l(gc_mu_);
  return static_cast<int>(gc_queue_.size());
}

std::vector<Result<Engine::WebhookOutcome>> Engine::CommitAccepts(
    const std::vector<PendingAccept*>& batch) {
  std::lock_guard<std::mutex> accept(accept_mu_);
  auto cfg = config();
  struct Member {
    std::optional<Error> error;  // decided before the commit (a cooldown lookup failed)
    size_t request = 0;          // index into `requests`
    std::vector<bool> suppressed;
    int unmatched = 0;
  };
  std::vector<Member> members(batch.size());
  std::vector<Journal::AcceptRequest> requests;
  // runbook -> id of an execution an earlier webhook of this group queued: the cooldown
  // lookup of a later one finds it, as it would had that one been committed first.
  std::map<std::string, std::string> queued_in_group;
  for (size_t m = 0; m < batch.size(); ++m) {
    const AlertGroup& group = *batch[m]->group;
    Member& member = members[m];
    Journal::AcceptRequest req;
    std::map<std::string, std::string> queued_in_request;  // runbook -> execution id
    double now = Now();
    for (const Alert& alert : group.alerts) {
      bool any = false;
      for (const RunbookConfig& rb : cfg->runbooks) {
        if (rb.on != alert.status || !MatchesAll(rb.match, alert.labels)) continue;
        any = true;
        ExecutionRecord e;
        e.id = NewId();
        e.dedup_key = rb.name + "|" + alert.fingerprint + "|" + alert.starts_at;
        e.runbook = rb.name;
        e.trigger = ExecTrigger::kWebhook;
        e.mode = options_.force_dry_run ? ExecMode::kDryRun : rb.mode;
        e.labels = alert.labels;
        e.annotations = alert.annotations;
        e.alert_status = alert.status;
        e.fingerprint = alert.fingerprint;
        e.starts_at = alert.starts_at;
        e.created_at = e.updated_at = now;
        e.state = ExecState::kQueued;
        e.message = "accepted from Alertmanager (group " + group.group_key + ")";
        std::string blocker;
        if (auto it = queued_in_request.find(rb.name); it != queued_in_request.end()) {
          blocker = it->second;
        } else if (rb.cooldown.count() > 0 && e.mode != ExecMode::kDryRun) {
          if (auto g = queued_in_group.find(rb.name); g != queued_in_group.end()) {
            blocker = g->second;
          } else {
            ExecutionQuery q;
            q.runbook = rb.name;
            q.states = kActiveStates;
            q.created_since = now - ToSeconds(rb.cooldown);
            q.limit = 1;
            auto recent = journal_.List(q);
            if (!recent) {
              member.error = recent.error();
              break;
            }
            if (!recent->empty() && (*recent)[0].mode != ExecMode::kDryRun) {
              blocker = (*recent)[0].id;
            }
          }
        }
        bool is_suppressed = !blocker.empty();
        if (is_suppressed) {
          e.state = ExecState::kSuppressed;
          e.finished_at = now;
          e.message = "within the cooldown of " + FormatDuration(rb.cooldown) +
                      " after execution " + blocker + "; not run";
        } else if (e.mode != ExecMode::kDryRun) {
          queued_in_request[rb.name] = e.id;
        }
        req.candidates.push_back(std::move(e));
        member.suppressed.push_back(is_suppressed);
      }
      if (member.error) break;
      if (!any) ++member.unmatched;
    }
    if (member.error) continue;  // this webhook only: it is not in the transaction
    for (const auto& [runbook, id] : queued_in_request) {
      const RunbookConfig* rb = cfg->FindRunbook(runbook);
      if (rb != nullptr && rb->cooldown.count() > 0) queued_in_group[runbook] = id;
    }
    req.webhook = WebhookRecord{now,
                                group.group_key,
                                group.status,
                                group.receiver,
                                static_cast<int>(group.alerts.size()),
                                *batch[m]->body};
    member.request = requests.size();
    requests.push_back(std::move(req));
  }

  // One transaction for the whole group. An id that exists (another process' id of this
  // second) is drawn again, in every webhook that failed for it.
  std::vector<Result<std::vector<bool>>> inserted;
  std::vector<size_t> todo;  // indices into `requests` still to write
  for (size_t i = 0; i < requests.size(); ++i) todo.push_back(i);
  inserted.assign(requests.size(), Error::Internal("accept: not written"));
  for (int attempt = 0; !todo.empty(); ++attempt) {
    std::vector<Journal::AcceptRequest> part;
    part.reserve(todo.size());
    for (size_t i : todo) part.push_back(requests[i]);
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
      for (ExecutionRecord& e : requests[i].candidates) e.id = renamed[e.id] = NewId();
    }
    for (size_t i : again) {  // a cooldown message naming a renamed id
      for (ExecutionRecord& e : requests[i].candidates) {
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
  {
    bool failed = false;
    for (const auto& r : inserted) failed = failed || !r;
    std::lock_guard<std::mutex> l(journal_mu_);
    accept_failing_ = failed;
    PublishJournalFailing();
  }

  std::vector<Result<WebhookOutcome>> results;
  results.reserve(batch.size());
  std::vector<const ExecutionRecord*> to_enqueue;
  for (size_t m = 0; m < batch.size(); ++m) {
    const Member& member = members[m];
    if (member.error) {
      results.emplace_back(*member.error);
      continue;
    }
    const auto& ins = inserted[member.request];
    if (!ins) {
      metrics_.JournalWriteFailure();
      results.emplace_back(ins.error());
      continue;
    }
    const std::vector<ExecutionRecord>& candidates = requests[member.request].candidates;
    WebhookOutcome out;
    out.unmatched = member.unmatched;
    for (size_t i = 0; i < candidates.size(); ++i) {
      const ExecutionRecord& e = candidates[i];
      if (!(*ins)[i]) {
        ++out.deduplicated;
        log::Info(
            "alert deduplicated",
            {{"runbook", e.runbook}, {"fingerprint", e.fingerprint}, {"starts_at", e.starts_at}});
        continue;
      }
      if (member.suppressed[i]) {
        ++out.deduplicated;
        log::Info("alert suppressed by cooldown",
                  {{"runbook", e.runbook}, {"execution", e.id}, {"reason", e.message}});
        continue;
      }
      ++out.matched;
      out.execution_ids.push_back(e.id);
      to_enqueue.push_back(&e);
      log::Info("execution accepted", {{"execution", e.id},
                                       {"runbook", e.runbook},
                                       {"mode", ToString(e.mode)},
                                       {"fingerprint", e.fingerprint}});
    }
    for (int i = 0; i < out.matched; ++i) metrics_.Alert("matched");
    for (int i = 0; i < out.unmatched; ++i) metrics_.Alert("unmatched");
    for (int i = 0; i < out.deduplicated; ++i) metrics_.Alert("deduplicated");
    results.emplace_back(std::move(out));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const ExecutionRecord* e : to_enqueue) Enqueue(ScopeOf(e->runbook), e->id);
  }
  return results;
}

Result<ExecutionRecord> Engine::RunManually(const std::string& runbook, const LabelSet& labels,
                                            const LabelSet& annotations, bool dry_run,
                                            const std::string& requested_by) {
  auto cfg = config();
  const RunbookConfig* rb = cfg->FindRunbook(runbook);
  if (rb == nullptr) return Error{ErrorCode::kNotFound, "no runbook named \"" + runbook + "\""};
  ExecutionRecord e;
  e.id = NewId();
  e.dedup_key = "api|" + e.id;
  e.runbook = runbook;
  e.trigger = ExecTrigger::kApi;
  e.mode = (dry_run || options_.force_dry_run || rb->mode == ExecMode::kDryRun) ? ExecMode::kDryRun
                                                                                : ExecMode::kAuto;
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
    e.dedup_key = "api|" + e.id;
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
    Escalate(*e, "failover runbook " + e->runbook + " not run: " + e->message);
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

bool Engine::Finish(ExecutionRecord& e, ExecState state, const std::string& message) {
  if (WorkerLockLost()) return false;  // the next holder decides
  ExecutionRecord before = e;
  e.state = state;
  e.message = message;
  e.finished_at = Now();
  if (!Save(e)) {
    e = before;  // not recorded: resumed from the journal's last record
    return false;
  }
  Event(e.id, ToString(state), message);
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

void Engine::Escalate(const ExecutionRecord& e, const std::string& summary) {
  if (WorkerLockLost()) return;  // the next holder decides (and pages if it must)
  auto cfg = config();
  if (!cfg->pagerduty_routing_key) {
    metrics_.Escalation("not_configured");
    Event(e.id, "escalation_failed", "PagerDuty is not configured; nobody was paged");
    log::Error("escalation needed but PagerDuty is not configured",
               {{"execution", e.id}, {"summary", summary}});
    return;
  }
  PagerDutyClient pd(http_, clock_, cfg->pagerduty_url, *cfg->pagerduty_routing_key);
  PagerDutyEvent ev;
  ev.action = "trigger";
  ev.dedup_key = "failover/" + e.id;
  ev.summary = summary;
  ev.severity = "critical";
  ev.component = e.runbook;
  ev.group = "failover";
  ev.event_class = ToString(e.state);
  ev.custom_details = {{"execution_id", e.id},
                       {"runbook", e.runbook},
                       {"state", ToString(e.state)},
                       {"message", e.message},
                       {"labels", e.labels}};
  if (!cfg->external_url.empty()) {
    ev.links.emplace_back(cfg->external_url + "/executions/" + e.id,
                          "Execution " + e.id + " on the failover console");
  }
  auto s = pd.Enqueue(ev, clock_.Now() + std::chrono::seconds(30));
  if (s) {
    metrics_.Escalation("sent");
    Event(e.id, "escalated", "paged PagerDuty: " + summary);
  } else {
    metrics_.Escalation("failed");
    Event(e.id, "escalation_failed", "PagerDuty: " + s.error().message);
    log::Error("escalation to PagerDuty failed", {{"execution", e.id}, {"err", s.error().message}});
  }
}

bool Engine::EvaluateGuards(ExecutionRecord& e, const RunbookConfig& rb, const TemplateVars&,
                            bool record_only) {
  if (rb.guards.empty()) return true;
  auto cfg = config();
  PromClient prom(http_, cfg->prometheus_url, cfg->prometheus_timeout);
  for (const GuardConfig& g : rb.guards) {
    auto r = prom.Query(g.promql);
    std::string refusal;
    if (!r) {
      refusal = g.message + ": cannot evaluate guard `" + g.promql + "` (" + r.error().message +
                "); not acting";
    } else if (!r->Truthy()) {
      refusal = g.message + ": guard `" + g.promql + "` returned " + r->Describe();
    } else {
      Event(e.id, "guard", "true: `" + g.promql + "` returned " + r->Describe());
      continue;
    }
    Event(e.id, "guard", "false: " + refusal);
    if (record_only) {
      e.message = "would refuse: " + refusal;
      return false;
    }
    if (Finish(e, ExecState::kRefused, refusal))
      Escalate(e, "failover runbook " + e.runbook + " refused to act: " + refusal);
    return false;
  }
  return true;
}

void Engine::RunDry(ExecutionRecord& e, const RunbookConfig& rb, const TemplateVars& vars) {
  e.message.clear();
  bool guards_ok = EvaluateGuards(e, rb, vars, /*record_only=*/true);
  std::string guard_note = rb.guards.empty() ? "no guards"
                           : guards_ok       ? "guards would pass"
                                             : e.message;
  int rendered = 0;
  std::string render_error;
  for (const auto* list : {&rb.steps, &rb.on_failure}) {
    ExecPhase phase = list == &rb.steps ? ExecPhase::kMain : ExecPhase::kOnFailure;
    for (size_t i = 0; i < list->size(); ++i) {
      const StepConfig& sc = (*list)[i];
      StepRecord rec;
      rec.execution_id = e.id;
      rec.phase = ToString(phase);
      rec.index = static_cast<int>(i);
      rec.kind = sc.kind;
      rec.started_at = rec.finished_at = Now();
      auto r = sc.step->Render(vars);
      if (r) {
        rec.state = "dry_run";
        rec.rendered = *r;
        rec.message = "would run";
        ++rendered;
      } else {
        rec.state = "failed";
        rec.message = r.error().message;
        if (render_error.empty())
          render_error = StepLabel(phase, i, sc.kind) + ": " + r.error().message;
      }
      PutStep(rec);
    }
  }
  std::string msg =
      "dry run: rendered " + std::to_string(rendered) + " steps, changed nothing; " + guard_note;
  if (!render_error.empty()) msg += "; render error at " + render_error;
  Finish(e, ExecState::kDryRun, msg);
}

void Engine::Execute(const std::string& id) {
  auto got = journal_.Get(id);
  if (!got || !*got) {
    log::Error("execution vanished from the journal", {{"execution", id}});
    return;
  }
  ExecutionRecord e = **got;
  if (IsTerminalState(e.state) || e.state == ExecState::kPendingApproval) return;
  if (e.state == ExecState::kRunning) {
    // Nobody else runs it (we hold its lock): its last holder was interrupted (restart,
    // crash, lost lock). Steps are desired-state, so it resumes at its next step.
    ++e.resumes;
    if (!Save(e)) return;
    std::string where = e.phase == ExecPhase::kMain
                            ? "step " + std::to_string(e.next_step + 1)
                            : "on_failure step " + std::to_string(e.next_step + 1);
    Event(e.id, "resumed",
          "resumed after an interruption (restart, crash or lost lock) at " + where);
    log::Warn("resuming interrupted execution",
              {{"execution", e.id}, {"runbook", e.runbook}, {"at", where}});
  }
  auto cfg = config();
  const RunbookConfig* rb = cfg->FindRunbook(e.runbook);
  if (rb == nullptr) {
    if (Finish(e, ExecState::kFailed, "runbook \"" + e.runbook + "\" is no longer configured"))
      Escalate(e, "failover execution " + e.id + " cannot run: " + e.message);
    return;
  }
  TemplateVars vars{e.labels, e.annotations, e.runbook, e.id};

  if (e.state == ExecState::kQueued) {
    if (e.mode == ExecMode::kDryRun) {
      RunDry(e, *rb, vars);
      return;
    }
    if (auto c = CancelRequested(e.id)) {
      Finish(e, ExecState::kCancelled, *c + " before it started");
      return;
    }
    // Runs an alert triggered (not approved by a human) wait for no one while automation
    // is on hold: each is recorded held and paged. The brake puts the hold on.
    if (e.trigger == ExecTrigger::kWebhook && !e.approved) {
      Result<HoldState> hold = HoldState{};
      if (!Durable("read the automation hold", e.id, [&]() -> Status {
            hold = Hold();
            if (!hold) return hold.error();
            return {};
          })) {
        return;
      }
      std::string why;
      if (hold->held) {
        why = "automation is on hold (by " + hold->by + ": " + hold->reason + ")";
      } else if (e.mode == ExecMode::kAuto && rb->brake) {
        BrakeState b = Brake();
        if (b.engaged) {
          std::string msg = "brake engaged: " + std::to_string(b.executions_in_window) +
                            " automatic execution(s) in the last " + FormatDuration(b.window) +
                            " (max " + std::to_string(b.max_executions) + ")";
          if (auto h = SetHold("brake", msg); !h) {
            log::Error("cannot record the brake's hold", {{"err", h.error().message}});
          }
          why = "the brake put automation on hold: " + msg;
        }
      }
      if (!why.empty()) {
        std::string msg = why +
                          "; not run. A human resumes automation (console, or DELETE "
                          "/api/v1/hold) and may run it by hand (POST /api/v1/runbooks/" +
                          e.runbook + "/run)";
        if (Finish(e, ExecState::kHeld, msg))
          Escalate(e, "failover runbook " + e.runbook + " held: " + why);
        return;
      }
    }
    if (!EvaluateGuards(e, *rb, vars, false)) return;
    if (e.mode == ExecMode::kApprove && !e.approved) {
      e.state = ExecState::kPendingApproval;
      e.message = "waiting for approval (console, or POST /api/v1/executions/" + e.id + "/approve)";
      if (!Save(e)) return;
      nlohmann::json plan = nlohmann::json::array();
      for (size_t i = 0; i < rb->steps.size(); ++i) {
        auto r = rb->steps[i].step->Render(vars);
        plan.push_back({{"step", i + 1},
                        {"kind", rb->steps[i].kind},
                        {"inputs", r ? *r : nlohmann::json(r.error().message)}});
      }
      Event(e.id, "approval_requested", "plan: " + plan.dump());
      UpdatePendingGauge();
      Escalate(e, "failover runbook " + e.runbook + " needs approval: " + plan.dump());
      return;
    }
    e.state = ExecState::kRunning;
    e.phase = ExecPhase::kMain;
    e.next_step = 0;
    e.message = "running";
    // No step starts before `running` is recorded (else a restart would not know).
    if (!Save(e)) return;
    if (!Event(e.id, "started", "running " + std::to_string(rb->steps.size()) + " steps")) return;
    log::Info("execution started", {{"execution", e.id}, {"runbook", e.runbook}});
  }

  metrics_.InProgress(e.runbook, 1);
  struct Done {
    ActuatorMetrics& m;
    std::string rb;
    ~Done() { m.InProgress(rb, -1); }
  } done{metrics_, e.runbook};

  if (e.phase == ExecPhase::kMain) {
    tl_cancelled.reset();
    PhaseResult r =
        RunPhase(e, rb->steps, ExecPhase::kMain, vars) ? PhaseResult::kDone : PhaseResult::kFailed;
    if (tl_cancelled) {
      std::string why = *tl_cancelled;
      tl_cancelled.reset();
      Finish(e, ExecState::kCancelled, why);
      return;
    }
    if (Halted() && e.state == ExecState::kRunning && r == PhaseResult::kFailed &&
        e.message == "interrupted") {
      return;  // shutting down or lock lost mid-step: resumed at this step by the next holder
    }
    if (r == PhaseResult::kDone) {
      Finish(e, ExecState::kSucceeded,
             "all " + std::to_string(rb->steps.size()) + " steps succeeded");
      return;
    }
    e.phase = ExecPhase::kOnFailure;
    e.next_step = 0;
    if (!Save(e)) return;
  }
  std::string failure = e.message;
  if (!rb->on_failure.empty()) {
    RunPhase(e, rb->on_failure, ExecPhase::kOnFailure, vars);
    if (Halted() && e.message == "interrupted") return;
  }
  if (Finish(e, ExecState::kFailed, failure))
    Escalate(e, "failover runbook " + e.runbook + " failed: " + failure);
}

bool Engine::RunPhase(ExecutionRecord& e, const std::vector<StepConfig>& steps, ExecPhase phase,
                      const TemplateVars& vars) {
  auto cfg = config();
  std::unique_ptr<PromClient> prom;
  if (!cfg->prometheus_url.empty()) {
    prom = std::make_unique<PromClient>(http_, cfg->prometheus_url, cfg->prometheus_timeout);
  }
  std::unique_ptr<PagerDutyClient> pd;
  if (cfg->pagerduty_routing_key) {
    pd = std::make_unique<PagerDutyClient>(http_, clock_, cfg->pagerduty_url,
                                           *cfg->pagerduty_routing_key);
  }
  std::string failure_keep = e.message;
  for (size_t i = static_cast<size_t>(e.next_step); i < steps.size(); ++i) {
    const StepConfig& sc = steps[i];
    if (Halted()) {  // no new step once the lock is lost (or on shutdown)
      e.message = "interrupted";
      return false;
    }
    if (phase == ExecPhase::kMain) {
      if (auto c = CancelRequested(e.id)) {
        tl_cancelled =
            *c + " before step " + std::to_string(i + 1) + " of " + std::to_string(steps.size());
        return false;
      }
    }
    std::string label = StepLabel(phase, i, sc.kind);
    StepRecord rec;
    rec.execution_id = e.id;
    rec.phase = ToString(phase);
    rec.index = static_cast<int>(i);
    rec.kind = sc.kind;
    rec.started_at = Now();
    auto rendered = sc.step->Render(vars);
    if (!rendered) {
      rec.state = "failed";
      rec.message = rendered.error().message;
      rec.finished_at = Now();
      if (!PutStep(rec) || !Event(e.id, "step", label + " failed: " + rec.message)) {
        e.message = "interrupted";
        return false;
      }
      if (phase == ExecPhase::kMain) e.message = label + " failed: " + rec.message;
      if (phase == ExecPhase::kMain) return false;
      e.next_step = static_cast<int>(i) + 1;
      continue;
    }
    rec.rendered = *rendered;
    Duration backoff = sc.step->common().backoff;
    for (;;) {
      ++rec.attempts;
      rec.state = "running";
      // The step starts only once its start is committed.
      if (!PutStep(rec)) {
        e.message = "interrupted";
        return false;
      }
      StepContext ctx;
      ctx.vars = &vars;
      ctx.clock = &clock_;
      ctx.deadline = clock_.Now() + sc.step->common().timeout;
      ctx.http = &http_;
      ctx.prometheus = prom.get();
      ctx.pagerduty = pd.get();
      ctx.metrics = &metrics_;
      ctx.cancelled = [this, held = tl_held] {
        return stopping_.load() || (held != nullptr && held->Lost());
      };
      MonoTime start = clock_.Now();
      StepOutcome outcome = sc.step->Run(ctx);
      metrics_.StepDuration(sc.kind, std::chrono::duration<double>(clock_.Now() - start).count());
      rec.message = outcome.message;
      rec.details = outcome.details;
      if (outcome.status == StepStatus::kOk) {
        rec.state = "ok";
        rec.finished_at = Now();
        log::Info("step succeeded",
                  {{"execution", e.id}, {"step", label}, {"message", outcome.message}});
        // Until these are committed the next step waits; interrupted before, this step
        // runs again on resume (the one step in flight).
        e.next_step = static_cast<int>(i) + 1;
        if (!PutStep(rec) || !Event(e.id, "step", label + " ok: " + outcome.message) || !Save(e)) {
          e.next_step = static_cast<int>(i);
          e.message = "interrupted";
          return false;
        }
        break;
      }
      if (Halted()) {
        rec.state = "interrupted";
        PutStep(rec);
        Event(e.id, "step", label + " interrupted (" + HaltReason() + "); resumes at this step");
        e.message = "interrupted";
        return false;
      }
      bool retry =
          outcome.status == StepStatus::kRetryable && rec.attempts <= sc.step->common().retries;
      if (retry) {
        rec.state = "retrying";
        if (!PutStep(rec) ||
            !Event(e.id, "step",
                   label + " attempt " + std::to_string(rec.attempts) + " failed (retrying in " +
                       FormatDuration(backoff) + "): " + outcome.message)) {
          e.message = "interrupted";
          return false;
        }
        log::Warn("step failed, retrying", {{"execution", e.id},
                                            {"step", label},
                                            {"attempt", rec.attempts},
                                            {"message", outcome.message}});
        if (!SleepUntil(clock_.Now() + backoff)) {
          e.message = "interrupted";
          return false;
        }
        backoff *= 2;
        continue;
      }
      rec.state = "failed";
      rec.finished_at = Now();
      if (!PutStep(rec) || !Event(e.id, "step",
                                  label + " failed after " + std::to_string(rec.attempts) +
                                      " attempt(s): " + outcome.message)) {
        e.message = "interrupted";
        return false;
      }
      log::Error("step failed",
                 {{"execution", e.id}, {"step", label}, {"message", outcome.message}});
      if (phase == ExecPhase::kMain) {
        e.message = label + " failed: " + outcome.message;
        return false;
      }
      e.next_step = static_cast<int>(i) + 1;  // on_failure: best effort, go on
      if (!Save(e)) {
        e.message = "interrupted";
        return false;
      }
      break;
    }
  }
  if (phase != ExecPhase::kMain) e.message = failure_keep;
  return true;
}

}  // namespace failover
