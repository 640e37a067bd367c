// The durable record of everything the actuator accepted and did. An execution is
// written before the webhook is answered 202, and every state and step transition after;
// a restart resumes from it. SqliteJournal is the default; EtcdJournal (journal_etcd.cc)
// has the same semantics for several actuators sharing one etcd cluster.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "actuator/alert.h"
#include "actuator/exec_enums.h"
#include "common/http_client.h"
#include "common/result.h"

namespace failover {

struct ExecutionRecord {
  std::string id;
  std::string dedup_key;  // unique: runbook|fingerprint|startsAt for alerts
  std::string runbook;
  ExecTrigger trigger = ExecTrigger::kWebhook;
  ExecMode mode = ExecMode::kAuto;  // as decided at acceptance
  ExecState state = ExecState::kQueued;
  ExecPhase phase = ExecPhase::kMain;
  int next_step = 0;  // index of the next step of `phase` to run
  LabelSet labels;
  LabelSet annotations;
  std::string alert_status;  // firing | resolved ("" for API runs)
  std::string fingerprint;
  std::string starts_at;
  double created_at = 0;  // Unix seconds
  double updated_at = 0;
  double finished_at = 0;  // 0 while not terminal
  std::string message;     // why it is in this state
  int resumes = 0;         // times resumed after a restart
  bool approved = false;
  std::string requested_by;  // API runs and approvals: who (from the API), else ""
};

struct StepRecord {
  std::string execution_id;
  std::string phase;  // ToString(ExecPhase): main | on_failure
  int index = 0;
  std::string kind;
  std::string state;  // running | ok | failed | retrying | dry_run | skipped
  int attempts = 0;
  nlohmann::json rendered = nlohmann::json::object();  // inputs, secrets redacted
  std::string message;
  nlohmann::json details = nlohmann::json::object();
  double started_at = 0;
  double finished_at = 0;
};

struct EventRecord {
  std::string execution_id;
  double at = 0;
  std::string kind;  // accepted, guard, approval_requested, approved, step, resumed, escalated, ...
  std::string message;
};

struct WebhookRecord {
  double received_at = 0;
  std::string group_key;
  std::string status;
  std::string receiver;
  int alerts = 0;
  std::string body;
};

struct ExecutionQuery {
  std::string runbook;                 // "" = any
  std::vector<ExecState> states;       // empty = any
  std::optional<ExecTrigger> trigger;  // nullopt = any
  std::optional<ExecMode> mode;        // nullopt = any
  double created_since = 0;            // Unix seconds; 0 = any
  int limit = 100;                     // newest first
};

class Journal {
 public:
  virtual ~Journal() = default;

  // One atomic, durable transaction: records the webhook request and inserts each
  // candidate execution whose dedup_key is not yet in the journal, with its first event
  // (kind "suppressed" for a candidate in state suppressed, else "accepted"; message: the
  // candidate's message). Returns, per candidate, whether it was inserted (false: a
  // duplicate, nothing written for it). An error means nothing was written (the caller
  // answers 503); an id that exists already is an error naming kIdExistsMessage.
  // (etcd: candidates beyond what one etcd txn takes go in further txns, each atomic; a
  // failure after the first leaves the earlier ones, which a retry deduplicates.)
  virtual Result<std::vector<bool>> Accept(const WebhookRecord& webhook,
                                           const std::vector<ExecutionRecord>& candidates) = 0;
  // Group commit: the webhooks of `group` in one transaction and one commit, each as
  // Accept would write it, in order (a candidate whose dedup_key an earlier member of the
  // group inserted is a duplicate). Returns one result per member, in order, and sets
  // `*commits` to the number of commits made. SQLite: all or nothing, one commit; on an
  // error every member gets it and nothing of any member was written. The default (etcd,
  // whose txns are bounded in operations) accepts each member in its own txn(s) with
  // Accept, each with its own result.
  struct AcceptRequest {
    WebhookRecord webhook;
    std::vector<ExecutionRecord> candidates;
  };
  virtual std::vector<Result<std::vector<bool>>> AcceptGroup(
      const std::vector<AcceptRequest>& group, int* commits);
  // Inserts one execution (API runs); fails if the id or dedup_key exists.
  virtual Status Insert(const ExecutionRecord& execution) = 0;
  // Replaces the stored execution with the same id.
  virtual Status Update(const ExecutionRecord& execution) = 0;
  // Inserts or replaces the step record (key: execution_id, phase, index).
  virtual Status PutStep(const StepRecord& step) = 0;
  virtual Status AddEvent(const EventRecord& event) = 0;
  // PutStep for each of `steps`, then Update, then AddEvent, as one write where the journal
  // can (SQLite: one savepoint in one commit, all or nothing). The default makes them one
  // after the other; a retry after a failure part way repeats the steps and the Update,
  // which change nothing the second time.
  virtual Status UpdateWithEvent(const ExecutionRecord& execution,
                                 const std::vector<StepRecord>& steps, const EventRecord& event) {
    for (const StepRecord& step : steps) {
      if (auto s = PutStep(step); !s) return s;
    }
    if (auto s = Update(execution); !s) return s;
    return AddEvent(event);
  }

  virtual Result<std::optional<ExecutionRecord>> Get(const std::string& id) = 0;
  virtual Result<std::vector<StepRecord>> Steps(const std::string& execution_id) = 0;
  virtual Result<std::vector<EventRecord>> Events(const std::string& execution_id) = 0;
  virtual Result<std::vector<ExecutionRecord>> List(const ExecutionQuery& query) = 0;

  // Removes webhooks received before `before` and executions in a terminal state that
  // finished before it (with their steps and events), at most `max_records` of each kind
  // per call; never a queued, running or pending one. Returns how many records went
  // (webhooks + executions); fewer than asked for means nothing more is due.
  virtual Result<std::int64_t> Prune(double before, int max_records) = 0;

  // Small named values shared by every actuator on this journal (the automation hold,
  // actuator/engine.h): SQLite table `settings`, etcd key P setting/<key>. Unset: nullopt.
  virtual Result<std::optional<std::string>> GetSetting(const std::string& key) = 0;
  virtual Status PutSetting(const std::string& key, const std::string& value) = 0;

  // Everything, as JSON lines (one object per line, with a "type" field: webhook,
  // execution, step, event), oldest first: `failover_actuator journal export`.
  virtual Status ExportJsonLines(std::ostream& out) = 0;

  // Backends shared by several processes (etcd): from now on every write of this
  // execution's records (Update, PutStep, AddEvent) is made only while `fence_key` still
  // has create_revision `epoch` (the execution lock is still this process'); otherwise it
  // fails with an ErrorCode::kLostLock error (message naming kLostLockMessage) and writes
  // nothing. epoch 0 removes the fence.
  virtual void Fence(const std::string& /*execution_id*/, const std::string& /*fence_key*/,
                     std::int64_t /*epoch*/) {}
};

inline constexpr const char* kLostLockMessage = "lost the execution lock";
inline constexpr const char* kIdExistsMessage = "execution id exists";
// A write refused because this process no longer holds the execution's lock: the error's
// code is ErrorCode::kLostLock (whatever its message says).
bool IsLostLock(const Error& e);

// SQLite with a rollback journal (journal_mode=PERSIST) and synchronous=FULL: a committed
// transaction survives a crash or power loss, and no file is memory-mapped, so no I/O
// error on the journal's files can kill the process (a WAL's -shm index is mmapped: a
// write into it when the file cannot be written raises SIGBUS). Creates the file (and
// schema) if missing. Thread-safe.
Result<std::unique_ptr<Journal>> OpenSqliteJournal(const std::string& path);

// etcd through its v3 JSON gateway (endpoints tried in turn); every key under `prefix`
// (which ends with "/"). Fails when no endpoint answers. `http` must outlive the journal.
Result<std::unique_ptr<Journal>> OpenEtcdJournal(HttpClient& http,
                                                 const std::vector<std::string>& endpoints,
                                                 const std::string& prefix);

// JSON forms used by the API and the export.
nlohmann::json ToJson(const ExecutionRecord& e);
nlohmann::json ToJson(const StepRecord& s);
nlohmann::json ToJson(const EventRecord& e);
nlohmann::json ToJson(const WebhookRecord& w);  // without type and id

}  // namespace failover
