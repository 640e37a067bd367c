// SqliteJournal: the Journal on one SQLite database with a rollback journal
// (journal_mode=PERSIST) and synchronous=FULL. Not WAL: WAL's index (-shm) is a
// memory-mapped file, and a write into it when the file cannot be written (made
// immutable, its file system full) kills the process with SIGBUS. With a rollback journal
// nothing is mapped (mmap_size=0), so every I/O error is an error code.
//
// One connection, guarded by a mutex, serves every thread of the process; other processes
// (`failover_actuator journal export`, a second actuator during a restart) open their own
// connections and wait on SQLite's locks up to the busy timeout. Every statement is
// prepared once and bound; no value is ever spliced into SQL text.
//
// Group commit of every write: each write (an accept, an accept group, an execution's
// state, a step, an event, a setting, a prune) joins a queue; the caller that finds no
// commit in progress becomes the writer, takes everything queued, runs each write under its
// own SAVEPOINT inside one transaction and makes one commit (synchronous=FULL: durable when
// COMMIT returns), then hands each caller its own result; the next writer takes what queued
// meanwhile. A write that fails is rolled back to its savepoint and fails alone; if SQLite
// rolls back the whole transaction (an I/O error, a full disk), every write of it fails, and
// a failed COMMIT fails every write it held. No caller returns before its write is
// committed, or is told it was when it was not.
//
// Schema version lives in `PRAGMA user_version`; kMigrations[v] takes a database from
// version v to v+1, so a later release appends to that list and old journals upgrade in
// place on open. A journal written by a newer release is refused rather than guessed at.
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <functional>
#include <iterator>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "actuator/journal.h"

namespace failover {
namespace {

using nlohmann::json;

constexpr int kBusyTimeoutMs = 5000;

// kMigrations[v] upgrades schema version v to v+1. Never edit an entry once released;
// append a new one instead.
constexpr const char* kMigrations[] = {
    // 0 -> 1
    R"sql(
CREATE TABLE webhooks (
  id          INTEGER PRIMARY KEY,
  received_at REAL    NOT NULL,
  group_key   TEXT    NOT NULL,
  status      TEXT    NOT NULL,
  receiver    TEXT    NOT NULL,
  alerts      INTEGER NOT NULL,
  body        TEXT    NOT NULL
);
CREATE TABLE executions (
  seq          INTEGER PRIMARY KEY,
  id           TEXT    NOT NULL UNIQUE,
  dedup_key    TEXT    NOT NULL UNIQUE,
  runbook      TEXT    NOT NULL,
  "trigger"    TEXT    NOT NULL,
  mode         TEXT    NOT NULL,
  state        TEXT    NOT NULL,
  phase        TEXT    NOT NULL,
  next_step    INTEGER NOT NULL,
  labels       TEXT    NOT NULL,
  annotations  TEXT    NOT NULL,
  alert_status TEXT    NOT NULL,
  fingerprint  TEXT    NOT NULL,
  starts_at    TEXT    NOT NULL,
  created_at   REAL    NOT NULL,
  updated_at   REAL    NOT NULL,
  finished_at  REAL    NOT NULL,
  message      TEXT    NOT NULL,
  resumes      INTEGER NOT NULL,
  approved     INTEGER NOT NULL,
  requested_by TEXT    NOT NULL,
  webhook_id   INTEGER REFERENCES webhooks(id)
);
CREATE INDEX executions_runbook_created ON executions(runbook, created_at);
CREATE INDEX executions_state ON executions(state);
CREATE INDEX executions_created ON executions(created_at);
CREATE TABLE steps (
  execution_id TEXT    NOT NULL REFERENCES executions(id),
  phase        TEXT    NOT NULL,
  idx          INTEGER NOT NULL,
  kind         TEXT    NOT NULL,
  state        TEXT    NOT NULL,
  attempts     INTEGER NOT NULL,
  rendered     TEXT    NOT NULL,
  message      TEXT    NOT NULL,
  details      TEXT    NOT NULL,
  started_at   REAL    NOT NULL,
  finished_at  REAL    NOT NULL,
  PRIMARY KEY (execution_id, phase, idx)
);
CREATE TABLE events (
  id           INTEGER PRIMARY KEY,
  execution_id TEXT REFERENCES executions(id),
  at           REAL NOT NULL,
  kind         TEXT NOT NULL,
  message      TEXT NOT NULL
);
CREATE INDEX events_execution ON events(execution_id, id);
)sql",
    // 1 -> 2: pruning (journal retention) looks up the executions of a webhook, and keeps
    // the dedup keys of the executions it removes, so a resend never runs twice.
    R"sql(
CREATE INDEX executions_webhook ON executions(webhook_id);
CREATE TABLE pruned_dedup_keys (dedup_key TEXT PRIMARY KEY) WITHOUT ROWID;
)sql",
    // 2 -> 3: small named values every actuator on this journal shares (the automation
    // hold of actuator/engine.cc).
    R"sql(
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
)sql",
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

// Column lists; the Bind*/Read* helpers below use exactly this order.
#define FAILOVER_EXECUTION_COLUMNS                                                            \
  "id, dedup_key, runbook, \"trigger\", mode, state, phase, next_step, labels, annotations, " \
  "alert_status, fingerprint, starts_at, created_at, updated_at, finished_at, message, "      \
  "resumes, approved, requested_by"
#define FAILOVER_STEP_COLUMNS                                                                 \
  "execution_id, phase, idx, kind, state, attempts, rendered, message, details, started_at, " \
  "finished_at"

constexpr const char* kInsertWebhook =
    "INSERT INTO webhooks (received_at, group_key, status, receiver, alerts, body) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
constexpr const char* kInsertExecution =
    "INSERT INTO executions (" FAILOVER_EXECUTION_COLUMNS
    ", webhook_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
    "?16, ?17, ?18, ?19, ?20, ?21)";
// Only a dedup_key conflict is a duplicate; any other constraint (a reused id) is an error.
constexpr const char* kInsertExecutionIfNew =
    "INSERT INTO executions (" FAILOVER_EXECUTION_COLUMNS
    ", webhook_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
    "?16, ?17, ?18, ?19, ?20, ?21) ON CONFLICT (dedup_key) DO NOTHING";
constexpr const char* kUpdateExecution =
    "UPDATE executions SET dedup_key = ?2, runbook = ?3, \"trigger\" = ?4, mode = ?5, "
    "state = ?6, phase = ?7, next_step = ?8, labels = ?9, annotations = ?10, "
    "alert_status = ?11, fingerprint = ?12, starts_at = ?13, created_at = ?14, "
    "updated_at = ?15, finished_at = ?16, message = ?17, resumes = ?18, approved = ?19, "
    "requested_by = ?20 WHERE id = ?1";
constexpr const char* kPutStep =
    "INSERT INTO steps (" FAILOVER_STEP_COLUMNS
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
    "ON CONFLICT (execution_id, phase, idx) DO UPDATE SET kind = excluded.kind, "
    "state = excluded.state, attempts = excluded.attempts, rendered = excluded.rendered, "
    "message = excluded.message, details = excluded.details, "
    "started_at = excluded.started_at, finished_at = excluded.finished_at";
// Pruning (see Journal::Prune): ?1 the cut-off time, ?2 how many at most.
#define FAILOVER_PRUNABLE_EXECUTIONS                                                            \
  "SELECT id FROM executions WHERE state IN ('succeeded', 'failed', 'refused', "                \
  "'suppressed', 'dry_run', 'held', 'rejected', 'cancelled') AND COALESCE(NULLIF(finished_at, " \
  "0), updated_at) < ?1 "                                                                       \
  "ORDER BY seq LIMIT ?2"
constexpr const char* kPruneKeepDedupKeys =
    "INSERT OR IGNORE INTO pruned_dedup_keys (dedup_key) SELECT dedup_key FROM executions "
    "WHERE id IN (" FAILOVER_PRUNABLE_EXECUTIONS ")";
constexpr const char* kIsPrunedDedupKey = "SELECT 1 FROM pruned_dedup_keys WHERE dedup_key = ?1";
constexpr const char* kPruneEvents =
    "DELETE FROM events WHERE execution_id IN (" FAILOVER_PRUNABLE_EXECUTIONS ")";
constexpr const char* kPruneSteps =
    "DELETE FROM steps WHERE execution_id IN (" FAILOVER_PRUNABLE_EXECUTIONS ")";
constexpr const char* kPruneExecutions =
    "DELETE FROM executions WHERE id IN (" FAILOVER_PRUNABLE_EXECUTIONS ")";
// A webhook goes once none of its executions is left.
constexpr const char* kPruneWebhooks =
    "DELETE FROM webhooks WHERE id IN (SELECT w.id FROM webhooks w WHERE w.received_at < ?1 "
    "AND NOT EXISTS (SELECT 1 FROM executions e WHERE e.webhook_id = w.id) ORDER BY w.id "
    "LIMIT ?2)";
constexpr const char* kPruneGlobalEvents =
    "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE execution_id IS NULL AND "
    "at < ?1 ORDER BY id LIMIT ?2)";
constexpr const char* kAddEvent =
    "INSERT INTO events (execution_id, at, kind, message) VALUES (?1, ?2, ?3, ?4)";
constexpr const char* kGetSetting = "SELECT value FROM settings WHERE key = ?1";
constexpr const char* kPutSetting =
    "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET "
    "value = excluded.value";
constexpr const char* kGetExecution =
    "SELECT " FAILOVER_EXECUTION_COLUMNS " FROM executions WHERE id = ?1";
constexpr const char* kSelectSteps =
    "SELECT " FAILOVER_STEP_COLUMNS
    " FROM steps WHERE execution_id = ?1 "
    "ORDER BY CASE phase WHEN 'main' THEN 0 ELSE 1 END, phase, idx";
constexpr const char* kSelectEvents =
    "SELECT execution_id, at, kind, message FROM events WHERE execution_id = ?1 ORDER BY id";
constexpr const char* kSelectGlobalEvents =
    "SELECT execution_id, at, kind, message FROM events WHERE execution_id IS NULL "
    "ORDER BY id";
// Export: each source oldest first, merged by (time, type) in C++.
constexpr const char* kExportWebhooks =
    "SELECT received_at, id, group_key, status, receiver, alerts, body FROM webhooks "
    "ORDER BY received_at, id";
constexpr const char* kExportExecutions =
    "SELECT created_at, webhook_id, " FAILOVER_EXECUTION_COLUMNS
    " FROM executions ORDER BY created_at, seq";
constexpr const char* kExportSteps =
    "SELECT COALESCE(NULLIF(s.started_at, 0), NULLIF(s.finished_at, 0), e.created_at) AS t, "
    "s.execution_id, s.phase, s.idx, s.kind, s.state, s.attempts, s.rendered, s.message, "
    "s.details, s.started_at, s.finished_at FROM steps s JOIN executions e ON e.id = "
    "s.execution_id ORDER BY t, e.seq, CASE s.phase WHEN 'main' THEN 0 ELSE 1 END, s.phase, "
    "s.idx";
constexpr const char* kExportEvents =
    "SELECT at, execution_id, at, kind, message FROM events ORDER BY at, id";

bool IsRetryableCode(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
      return true;
    default:
      return false;
  }
}

// Invalid UTF-8 (truncated command output, say) is replaced, never thrown on.
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string Rfc3339(double unix_seconds) {
  double whole = std::floor(unix_seconds);
  auto secs = static_cast<std::time_t>(whole);
  int ms = static_cast<int>(std::lround((unix_seconds - whole) * 1000.0));
  if (ms >= 1000) {
    ++secs;
    ms -= 1000;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return buf;
}

// Sets `<prefix>_at` (always) and `<prefix>_time` (when non-zero); `at`/`time` for "".
void PutTime(json& j, const std::string& prefix, double t) {
  std::string at = prefix.empty() ? "at" : prefix + "_at";
  std::string time = prefix.empty() ? "time" : prefix + "_time";
  j[at] = t;
  if (t != 0) j[time] = Rfc3339(t);
}

// Sets j[key] = value for each `key, value` that follows.
void PutFields(json&) {}
template <typename V, typename... Rest>
void PutFields(json& j, const char* key, const V& value, const Rest&... rest) {
  j[key] = value;
  PutFields(j, rest...);
}

// A prepared statement: cached ones are reset and unbound when this goes out of scope,
// owned ones finalized. A failed bind is remembered and reported by Step().
class Stmt {
 public:
  Stmt(sqlite3_stmt* s, bool owned) : s_(s), owned_(owned) {}
  Stmt(Stmt&& o) noexcept
      : s_(std::exchange(o.s_, nullptr)), owned_(o.owned_), bind_rc_(o.bind_rc_) {}
  Stmt& operator=(Stmt&&) = delete;
  Stmt(const Stmt&) = delete;
  ~Stmt() {
    if (s_ == nullptr) return;
    if (owned_) {
      sqlite3_finalize(s_);
    } else {
      sqlite3_reset(s_);
      sqlite3_clear_bindings(s_);
    }
  }

  void Bind(int i, const std::string& v) {
    Check(sqlite3_bind_text64(s_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  }
  void Bind(int i, const char* v) { Bind(i, std::string(v)); }
  void Bind(int i, double v) { Check(sqlite3_bind_double(s_, i, v)); }
  void Bind(int i, std::int64_t v) { Check(sqlite3_bind_int64(s_, i, v)); }
  void Bind(int i, int v) { Check(sqlite3_bind_int(s_, i, v)); }
  void Bind(int i, bool v) { Check(sqlite3_bind_int(s_, i, v ? 1 : 0)); }
  void BindNull(int i) { Check(sqlite3_bind_null(s_, i)); }
  // Binds `values` to ?first, ?first+1, ...
  template <typename... T>
  void BindAll(int first, const T&... values) {
    int i = first;
    (Bind(i++, values), ...);
  }
  // An empty string is stored as NULL (columns where NULL means "none").
  void BindOrNull(int i, const std::string& v) {
    if (v.empty()) {
      BindNull(i);
    } else {
      Bind(i, v);
    }
  }

  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() {
    if (bind_rc_ != SQLITE_OK) return bind_rc_;
    return sqlite3_step(s_);
  }

  std::string Text(int col) const {
    const auto* p = sqlite3_column_text(s_, col);
    if (p == nullptr) return std::string();
    return std::string(reinterpret_cast<const char*>(p),
                       static_cast<size_t>(sqlite3_column_bytes(s_, col)));
  }
  double Real(int col) const { return sqlite3_column_double(s_, col); }
  int Int(int col) const { return sqlite3_column_int(s_, col); }
  std::int64_t Int64(int col) const { return sqlite3_column_int64(s_, col); }
  bool IsNull(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }

 private:
  void Check(int rc) {
    if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  }

  sqlite3_stmt* s_;
  bool owned_;
  int bind_rc_ = SQLITE_OK;
};

// Binds ?1..?20 in FAILOVER_EXECUTION_COLUMNS order.
void BindExecution(Stmt& st, const ExecutionRecord& e) {
  st.BindAll(1, e.id, e.dedup_key, e.runbook, ToString(e.trigger), ToString(e.mode),
             ToString(e.state), ToString(e.phase), e.next_step, Dump(json(e.labels)),
             Dump(json(e.annotations)), e.alert_status, e.fingerprint, e.starts_at, e.created_at,
             e.updated_at, e.finished_at, e.message, e.resumes, e.approved, e.requested_by);
}

// Parses a stored JSON column; throws (caught by the callers' Read*) when it is corrupt.
json ParseColumn(const std::string& text, const char* what) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw std::runtime_error(std::string("corrupt ") + what + " column");
  return j;
}

LabelSet ParseLabels(const std::string& text, const char* what) {
  json j = ParseColumn(text, what);
  if (!j.is_object()) throw std::runtime_error(std::string("corrupt ") + what + " column");
  LabelSet out;
  for (const auto& [k, v] : j.items()) {
    if (!v.is_string()) throw std::runtime_error(std::string("corrupt ") + what + " column");
    out[k] = v.get<std::string>();
  }
  return out;
}

// A JSON column (ParseColumn) and a label set column (ParseLabels), named in the error
// a corrupt one gives.
struct JsonColumn {
  json& value;
  const char* what;
};
struct LabelsColumn {
  LabelSet& value;
  const char* what;
};

// An enum column's wire string (actuator/exec_enums.h); throws (caught by the callers'
// Read*) on a string this version does not know.
template <typename E>
E ParseEnumColumn(Result<E> (*parse)(std::string_view), const std::string& text, const char* what) {
  Result<E> v = parse(text);
  if (!v)
    throw std::runtime_error(std::string("corrupt ") + what + " column: " + v.error().message);
  return *v;
}

void ReadColumn(const Stmt& st, int c, std::string& v) { v = st.Text(c); }
void ReadColumn(const Stmt& st, int c, double& v) { v = st.Real(c); }
void ReadColumn(const Stmt& st, int c, int& v) { v = st.Int(c); }
void ReadColumn(const Stmt& st, int c, bool& v) { v = st.Int(c) != 0; }
void ReadColumn(const Stmt& st, int c, JsonColumn v) { v.value = ParseColumn(st.Text(c), v.what); }
void ReadColumn(const Stmt& st, int c, LabelsColumn v) {
  v.value = ParseLabels(st.Text(c), v.what);
}

void ReadColumn(const Stmt& st, int c, ExecTrigger& v) {
  v = ParseEnumColumn(ParseExecTrigger, st.Text(c), "trigger");
}
void ReadColumn(const Stmt& st, int c, ExecMode& v) {
  v = ParseEnumColumn(ParseExecMode, st.Text(c), "mode");
}
void ReadColumn(const Stmt& st, int c, ExecState& v) {
  v = ParseEnumColumn(ParseExecState, st.Text(c), "state");
}
void ReadColumn(const Stmt& st, int c, ExecPhase& v) {
  v = ParseEnumColumn(ParseExecPhase, st.Text(c), "phase");
}

// Reads columns `first`, `first`+1, ... into `values`.
template <typename... T>
void ReadColumns(const Stmt& st, int first, T&&... values) {
  int c = first;
  (ReadColumn(st, c++, std::forward<T>(values)), ...);
}

// Reads FAILOVER_EXECUTION_COLUMNS starting at column `c`.
ExecutionRecord ReadExecution(const Stmt& st, int c) {
  ExecutionRecord e;
  ReadColumns(st, c, e.id, e.dedup_key, e.runbook, e.trigger, e.mode, e.state, e.phase, e.next_step,
              LabelsColumn{e.labels, "labels"}, LabelsColumn{e.annotations, "annotations"},
              e.alert_status, e.fingerprint, e.starts_at, e.created_at, e.updated_at, e.finished_at,
              e.message, e.resumes, e.approved, e.requested_by);
  return e;
}

// Reads FAILOVER_STEP_COLUMNS starting at column `c`.
StepRecord ReadStep(const Stmt& st, int c) {
  StepRecord s;
  ReadColumns(st, c, s.execution_id, s.phase, s.index, s.kind, s.state, s.attempts,
              JsonColumn{s.rendered, "rendered"}, s.message, JsonColumn{s.details, "details"},
              s.started_at, s.finished_at);
  return s;
}

// Reads (execution_id, at, kind, message) starting at column `c`.
EventRecord ReadEvent(const Stmt& st, int c) {
  EventRecord e;
  ReadColumns(st, c, e.execution_id, e.at, e.kind, e.message);
  return e;
}

class SqliteJournal final : public Journal {
 public:
  SqliteJournal(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}
  ~SqliteJournal() override {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }
  SqliteJournal(const SqliteJournal&) = delete;
  SqliteJournal& operator=(const SqliteJournal&) = delete;

  // Connection settings and schema; called once by OpenSqliteJournal.
  Status Init() {
    std::lock_guard<std::mutex> l(mu_);
    sqlite3_extended_result_codes(db_, 1);
    if (int rc = sqlite3_busy_timeout(db_, kBusyTimeoutMs); rc != SQLITE_OK) {
      return SqlError("set busy timeout", rc);
    }
    if (auto s = Exec("PRAGMA mmap_size = 0", "disable mmap"); !s) return s;
    // A page cache of 16 MiB (negative: KiB) instead of SQLite's 2 MB, filled only as far
    // as the journal is big: a lower webhook tail under load, measured in
    // docs/reliability.md ("Webhooks that wait hold no thread").
    if (auto s = Exec("PRAGMA cache_size = -16384", "set cache_size"); !s) return s;
    // Journals written by earlier releases are in WAL mode; this leaves it (checkpointing
    // the WAL into the database) when no other process has the journal open.
    auto mode = PragmaText("PRAGMA journal_mode = PERSIST");
    if (!mode) return mode.error();
    if (*mode != "persist") {
      return Error::Internal(Prefix() + "cannot set journal_mode=PERSIST (journal_mode is \"" +
                             *mode +
                             "\"); stop every other process that has the journal open, and "
                             "put it on a local file system");
    }
    // PERSIST keeps the rollback journal file (its header zeroed) between transactions,
    // cheaper than truncating it; this bounds what it keeps after a big one.
    if (auto s = Exec("PRAGMA journal_size_limit = 4194304", "set journal_size_limit"); !s) {
      return s;
    }
    if (auto s = Exec("PRAGMA synchronous = FULL", "set synchronous=FULL"); !s) return s;
    if (auto s = Exec("PRAGMA foreign_keys = ON", "enable foreign keys"); !s) return s;
    auto fk = PragmaText("PRAGMA foreign_keys");
    if (!fk) return fk.error();
    if (*fk != "1") return Error::Internal(Prefix() + "SQLite lacks foreign key support");
    return Migrate();
  }

  Result<std::vector<bool>> Accept(const WebhookRecord& webhook,
                                   const std::vector<ExecutionRecord>& candidates) override {
    std::vector<bool> inserted;
    Status s = Write([&]() -> Status {
      auto r = AcceptLocked(webhook, candidates);
      if (!r) return r.error();
      inserted = std::move(*r);
      return {};
    });
    if (!s) return s.error();
    return inserted;
  }

  std::vector<Result<std::vector<bool>>> AcceptGroup(const std::vector<AcceptRequest>& group,
                                                     int* commits) override {
    *commits = 0;
    std::vector<Result<std::vector<bool>>> out;
    // One write: an error in any member rolls back the savepoint, so nothing of the group
    // stays.
    Status s = Write([&]() -> Status {
      out.clear();
      out.reserve(group.size());
      for (const AcceptRequest& m : group) {
        auto r = AcceptLocked(m.webhook, m.candidates);
        if (!r) return r.error();
        out.push_back(std::move(r));
      }
      return {};
    });
    if (!s) return std::vector<Result<std::vector<bool>>>(group.size(), s.error());
    *commits = 1;
    return out;
  }

  Status Insert(const ExecutionRecord& execution) override {
    return Write([&] {
      bool inserted = false;
      return InsertExecution(execution, std::nullopt, /*if_new=*/false, &inserted);
    });
  }

  Status Update(const ExecutionRecord& e) override {
    return Write([&] { return UpdateLocked(e); });
  }

  Status PutStep(const StepRecord& s) override {
    return Write([&] { return PutStepLocked(s); });
  }

  Status AddEvent(const EventRecord& e) override {
    return Write([&] { return AddEventLocked(e); });
  }

  Status UpdateWithEvent(const ExecutionRecord& e, const std::vector<StepRecord>& steps,
                         const EventRecord& ev) override {
    return Write([&]() -> Status {
      for (const StepRecord& step : steps) {
        if (auto s = PutStepLocked(step); !s) return s;
      }
      if (auto s = UpdateLocked(e); !s) return s;
      return AddEventLocked(ev);
    });
  }

  Result<std::int64_t> Prune(double before, int max_records) override {
    std::int64_t removed = 0;
    Status s = Write([&] { return PruneLocked(before, max_records, &removed); });
    if (!s) return s.error();
    return removed;
  }

  Result<std::optional<std::string>> GetSetting(const std::string& key) override {
    std::lock_guard<std::mutex> l(mu_);
    auto st = Prepare(kGetSetting);
    if (!st) return st.error();
    st->Bind(1, key);
    int rc = st->Step();
    if (rc == SQLITE_DONE) return std::optional<std::string>();
    if (rc != SQLITE_ROW) return SqlError("get setting " + key, rc);
    return std::optional<std::string>(st->Text(0));
  }

  Status PutSetting(const std::string& key, const std::string& value) override {
    return Write([&]() -> Status {
      auto st = Prepare(kPutSetting);
      if (!st) return st.error();
      st->BindAll(1, key, value);
      if (int rc = st->Step(); rc != SQLITE_DONE) return SqlError("put setting " + key, rc);
      return {};
    });
  }

 private:
  Status UpdateLocked(const ExecutionRecord& e) {
    auto st = Prepare(kUpdateExecution);
    if (!st) return st.error();
    BindExecution(*st, e);
    std::string what = "update execution " + e.id;
    if (int rc = st->Step(); rc != SQLITE_DONE) return SqlError(what, rc);
    if (sqlite3_changes(db_) == 0) {
      return Error{ErrorCode::kNotFound, Prefix() + what + ": no such execution"};
    }
    return {};
  }

  Status PutStepLocked(const StepRecord& s) {
    auto st = Prepare(kPutStep);
    if (!st) return st.error();
    st->BindAll(1, s.execution_id, s.phase, s.index, s.kind, s.state, s.attempts, Dump(s.rendered),
                s.message, Dump(s.details), s.started_at, s.finished_at);
    if (int rc = st->Step(); rc != SQLITE_DONE) {
      return SqlError("put step " + s.execution_id + "/" + s.phase + "/" + std::to_string(s.index),
                      rc);
    }
    return {};
  }

  Status PruneLocked(double before, int max_records, std::int64_t* removed) {
    for (const char* sql : {kPruneKeepDedupKeys, kPruneEvents, kPruneSteps, kPruneExecutions,
                            kPruneWebhooks, kPruneGlobalEvents}) {
      auto st = Prepare(sql);
      if (!st) return st.error();
      st->BindAll(1, before, max_records);
      if (int rc = st->Step(); rc != SQLITE_DONE) return SqlError("prune", rc);
      if (sql == kPruneExecutions || sql == kPruneWebhooks) *removed += sqlite3_changes(db_);
    }
    return {};
  }

  // One queued write (see the file comment); `result` is valid once `done`.
  struct PendingWrite {
    const std::function<Status()>* write;
    Status result;
    bool done = false;
  };

  // Runs `write` (statements only, no BEGIN/COMMIT) in the next group commit and returns
  // once that commit is durable (or failed).
  Status Write(const std::function<Status()>& write) {
    PendingWrite me{&write, {}, false};
    std::unique_lock<std::mutex> lk(queue_mu_);
    queue_.push_back(&me);
    while (!me.done) {
      if (committing_) {
        queue_cv_.wait(lk);
        continue;
      }
      committing_ = true;  // this caller commits everything queued, its own write included
      std::vector<PendingWrite*> batch;
      batch.swap(queue_);
      lk.unlock();
      try {
        CommitBatch(batch);
      } catch (const std::exception& ex) {  // out of memory: every write is told it failed
        std::lock_guard<std::mutex> l(mu_);
        Rollback();
        for (PendingWrite* w : batch) w->result = Error::Internal(Prefix() + "write: " + ex.what());
      }
      lk.lock();
      for (PendingWrite* w : batch) w->done = true;
      committing_ = false;
      queue_cv_.notify_all();
    }
    return me.result;
  }

  // Each write under its own savepoint, all in one transaction, one COMMIT. Sets every
  // write's result.
  void CommitBatch(const std::vector<PendingWrite*>& batch) {
    std::lock_guard<std::mutex> l(mu_);
    size_t next = 0;
    while (next < batch.size()) {
      if (auto s = Exec("BEGIN IMMEDIATE", "write: begin"); !s) {
        for (; next < batch.size(); ++next) batch[next]->result = s;
        return;
      }
      std::vector<PendingWrite*> held;  // written in this transaction, not yet committed
      bool lost = false;                // SQLite rolled the transaction back
      while (next < batch.size() && !lost) {
        PendingWrite* w = batch[next++];
        Status s = Exec("SAVEPOINT w", "write: savepoint");
        if (s) s = RunWrite(*w->write);
        if (s) s = Exec("RELEASE w", "write: release savepoint");
        if (s) {
          held.push_back(w);
          continue;
        }
        w->result = s;
        if (!sqlite3_get_autocommit(db_)) {  // undo this write only
          Status undo = Exec("ROLLBACK TO w", "write: rollback to savepoint");
          if (undo) undo = Exec("RELEASE w", "write: release savepoint");
          if (undo) continue;
          Rollback();
        }
        lost = true;  // the writes before this one are gone with the transaction
        for (PendingWrite* h : held) h->result = s;
        held.clear();
      }
      if (lost) continue;  // the rest in a new transaction
      if (auto c = Exec("COMMIT", "write: commit"); !c) {
        Rollback();
        for (PendingWrite* h : held) h->result = c;
      }
    }
  }

  Status RunWrite(const std::function<Status()>& write) {
    try {
      return write();
    } catch (const std::exception& ex) {  // e.g. out of memory: this write fails, not all
      return Error::Internal(Prefix() + "write: " + ex.what());
    }
  }

  Status AddEventLocked(const EventRecord& e) {
    auto st = Prepare(kAddEvent);
    if (!st) return st.error();
    st->BindOrNull(1, e.execution_id);  // "" = an event of the journal, not of an execution
    st->BindAll(2, e.at, e.kind, e.message);
    if (int rc = st->Step(); rc != SQLITE_DONE) {
      return SqlError("add event " + e.kind + " of execution " + e.execution_id, rc);
    }
    return {};
  }

 public:
  Result<std::optional<ExecutionRecord>> Get(const std::string& id) override {
    std::lock_guard<std::mutex> l(mu_);
    auto st = Prepare(kGetExecution);
    if (!st) return st.error();
    st->Bind(1, id);
    std::string what = "get execution " + id;
    int rc = st->Step();
    if (rc == SQLITE_DONE) return std::optional<ExecutionRecord>();
    if (rc != SQLITE_ROW) return SqlError(what, rc);
    try {
      return std::optional<ExecutionRecord>(ReadExecution(*st, 0));
    } catch (const std::exception& ex) {
      return Error::Internal(Prefix() + what + ": " + ex.what());
    }
  }

  Result<std::vector<StepRecord>> Steps(const std::string& execution_id) override {
    std::lock_guard<std::mutex> l(mu_);
    auto st = Prepare(kSelectSteps);
    if (!st) return st.error();
    st->Bind(1, execution_id);
    return ReadAll<StepRecord>(*st, "steps of execution " + execution_id,
                               [](const Stmt& s) { return ReadStep(s, 0); });
  }

  Result<std::vector<EventRecord>> Events(const std::string& execution_id) override {
    std::lock_guard<std::mutex> l(mu_);
    auto st = Prepare(execution_id.empty() ? kSelectGlobalEvents : kSelectEvents);
    if (!st) return st.error();
    if (!execution_id.empty()) st->Bind(1, execution_id);
    return ReadAll<EventRecord>(*st, "events of execution " + execution_id,
                                [](const Stmt& s) { return ReadEvent(s, 0); });
  }

  Result<std::vector<ExecutionRecord>> List(const ExecutionQuery& q) override {
    // Placeholders only; the text varies with which filters are set (so indexes apply),
    // never with their values.
    std::string sql = "SELECT " FAILOVER_EXECUTION_COLUMNS " FROM executions WHERE 1 = 1";
    int n = 0;
    if (!q.runbook.empty()) sql += " AND runbook = ?" + std::to_string(++n);
    if (!q.states.empty()) {
      sql += " AND state IN (";
      for (size_t i = 0; i < q.states.size(); ++i) {
        sql += (i ? ", ?" : "?") + std::to_string(++n);
      }
      sql += ")";
    }
    if (q.trigger) sql += " AND \"trigger\" = ?" + std::to_string(++n);
    if (q.mode) sql += " AND mode = ?" + std::to_string(++n);
    if (q.created_since > 0) sql += " AND created_at >= ?" + std::to_string(++n);
    sql += " ORDER BY created_at DESC, seq DESC LIMIT ?" + std::to_string(++n);

    std::lock_guard<std::mutex> l(mu_);
    auto st = PrepareOwned(sql.c_str(), "list executions");
    if (!st) return st.error();
    int i = 0;
    if (!q.runbook.empty()) st->Bind(++i, q.runbook);
    for (ExecState s : q.states) st->Bind(++i, ToString(s));
    if (q.trigger) st->Bind(++i, ToString(*q.trigger));
    if (q.mode) st->Bind(++i, ToString(*q.mode));
    if (q.created_since > 0) st->Bind(++i, q.created_since);
    st->Bind(++i, q.limit > 0 ? q.limit : -1);  // LIMIT -1: no limit
    return ReadAll<ExecutionRecord>(*st, "list executions",
                                    [](const Stmt& s) { return ReadExecution(s, 0); });
  }

  Status ExportJsonLines(std::ostream& out) override {
    std::lock_guard<std::mutex> l(mu_);
    // One read transaction: a consistent snapshot while other processes keep writing.
    if (auto s = Exec("BEGIN", "export: begin"); !s) return s;
    auto s = ExportLocked(out);
    Rollback();  // read only: nothing to commit
    return s;
  }

 private:
  std::string Prefix() const { return "journal " + path_ + ": "; }

  // An Error from SQLite's state; call before anything else touches the connection.
  Error SqlError(const std::string& what, int rc) const {
    std::string msg = Prefix() + what + ": " + sqlite3_errmsg(db_);
    if (sqlite3_errcode(db_) != rc) msg += std::string(" (") + sqlite3_errstr(rc) + ")";
    ErrorCode code = ErrorCode::kInternal;
    bool retryable = IsRetryableCode(rc);
    if (retryable) {
      code = ErrorCode::kUnavailable;
    } else if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
      code = ErrorCode::kInvalidArgument;
      if (msg.find("executions.id") != std::string::npos)
        msg += std::string(" (") + kIdExistsMessage + ")";
    } else if ((rc & 0xff) == SQLITE_CONSTRAINT) {
      code = ErrorCode::kInvalidArgument;
    } else if ((rc & 0xff) == SQLITE_AUTH) {
      code = ErrorCode::kPermissionDenied;
    }
    return Error{code, std::move(msg), retryable};
  }

  // A cached statement for constant SQL.
  Result<Stmt> Prepare(const char* sql) {
    auto it = cache_.find(sql);
    if (it != cache_.end()) return Stmt(it->second, /*owned=*/false);
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
    if (rc != SQLITE_OK) return SqlError("prepare", rc);
    cache_.emplace(sql, s);
    return Stmt(s, /*owned=*/false);
  }

  Result<Stmt> PrepareOwned(const char* sql, const std::string& what) {
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql, -1, &s, nullptr);
    if (rc != SQLITE_OK) return SqlError(what, rc);
    return Stmt(s, /*owned=*/true);
  }

  // Runs a constant statement that returns no rows of interest.
  Status Exec(const char* sql, const std::string& what) {
    auto st = Prepare(sql);
    if (!st) return st.error();
    int rc;
    while ((rc = st->Step()) == SQLITE_ROW) {
    }
    if (rc != SQLITE_DONE) return SqlError(what, rc);
    return {};
  }

  Result<std::string> PragmaText(const char* sql) {
    auto st = PrepareOwned(sql, sql);
    if (!st) return st.error();
    int rc = st->Step();
    if (rc != SQLITE_ROW) return SqlError(sql, rc);
    return st->Text(0);
  }

  // Ends the open transaction, if SQLite has not already rolled it back itself.
  void Rollback() {
    if (sqlite3_get_autocommit(db_)) return;
    auto st = Prepare("ROLLBACK");
    if (st) (void)st->Step();
  }

  Status Migrate() {
    if (auto s = Exec("BEGIN IMMEDIATE", "schema: begin"); !s) return s;
    auto s = MigrateLocked();
    if (!s) {
      Rollback();
      return s;
    }
    if (auto c = Exec("COMMIT", "schema: commit"); !c) {
      Rollback();
      return c;
    }
    return {};
  }

  Status MigrateLocked() {
    auto v = PragmaText("PRAGMA user_version");
    if (!v) return v.error();
    int version = std::atoi(v->c_str());
    if (version > kSchemaVersion) {
      return Error::Internal(Prefix() + "schema version " + std::to_string(version) +
                             " is newer than this failover_actuator supports (" +
                             std::to_string(kSchemaVersion) + "); run a newer release");
    }
    for (; version < kSchemaVersion; ++version) {
      // Constant DDL, no values: sqlite3_exec runs the whole script.
      char* err = nullptr;
      int rc = sqlite3_exec(db_, kMigrations[version], nullptr, nullptr, &err);
      if (rc != SQLITE_OK) {
        std::string msg = err ? err : sqlite3_errstr(rc);
        sqlite3_free(err);
        return Error{
            ErrorCode::kInternal,
            Prefix() + "schema migration to version " + std::to_string(version + 1) + ": " + msg,
            IsRetryableCode(rc)};
      }
      // PRAGMA takes no parameters; the value is our own integer constant.
      std::string set = "PRAGMA user_version = " + std::to_string(version + 1);
      if (int rc2 = sqlite3_exec(db_, set.c_str(), nullptr, nullptr, nullptr); rc2 != SQLITE_OK) {
        return SqlError("set schema version", rc2);
      }
    }
    return {};
  }

  Result<std::vector<bool>> AcceptLocked(const WebhookRecord& w,
                                         const std::vector<ExecutionRecord>& candidates) {
    std::int64_t webhook_id = 0;
    {
      auto st = Prepare(kInsertWebhook);
      if (!st) return st.error();
      st->BindAll(1, w.received_at, w.group_key, w.status, w.receiver, w.alerts, w.body);
      if (int rc = st->Step(); rc != SQLITE_DONE) return SqlError("accept: insert webhook", rc);
      webhook_id = sqlite3_last_insert_rowid(db_);
    }
    std::vector<bool> inserted;
    inserted.reserve(candidates.size());
    for (const auto& c : candidates) {
      bool ok = false;
      if (auto s = InsertExecution(c, webhook_id, /*if_new=*/true, &ok); !s) return s.error();
      inserted.push_back(ok);
      if (!ok) continue;
      EventRecord ev{c.id, c.created_at,
                     c.state == ExecState::kSuppressed ? "suppressed" : "accepted", c.message};
      if (auto s = AddEventLocked(ev); !s) return s.error();
    }
    return inserted;
  }

  Status InsertExecution(const ExecutionRecord& e, std::optional<std::int64_t> webhook_id,
                         bool if_new, bool* inserted) {
    if (e.id.empty()) return Error::Invalid(Prefix() + "insert execution: empty id");
    if (e.dedup_key.empty()) {
      return Error::Invalid(Prefix() + "insert execution " + e.id + ": empty dedup_key");
    }
    if (if_new) {  // the key of a pruned execution is still known
      auto seen = Prepare(kIsPrunedDedupKey);
      if (!seen) return seen.error();
      seen->Bind(1, e.dedup_key);
      int rc = seen->Step();
      if (rc == SQLITE_ROW) {
        *inserted = false;
        return {};
      }
      if (rc != SQLITE_DONE) return SqlError("look up pruned dedup keys", rc);
    }
    auto st = Prepare(if_new ? kInsertExecutionIfNew : kInsertExecution);
    if (!st) return st.error();
    BindExecution(*st, e);
    if (webhook_id) {
      st->Bind(21, *webhook_id);
    } else {
      st->BindNull(21);
    }
    if (int rc = st->Step(); rc != SQLITE_DONE) {
      return SqlError("insert execution " + e.id + " (dedup_key " + e.dedup_key + ")", rc);
    }
    *inserted = sqlite3_changes(db_) > 0;
    return {};
  }

  template <typename T, typename F>
  Result<std::vector<T>> ReadAll(Stmt& st, const std::string& what, F read) {
    std::vector<T> out;
    int rc;
    try {
      while ((rc = st.Step()) == SQLITE_ROW) out.push_back(read(st));
    } catch (const std::exception& ex) {
      return Error::Internal(Prefix() + what + ": " + ex.what());
    }
    if (rc != SQLITE_DONE) return SqlError(what, rc);
    return out;
  }

  // One source of the export: rows in time order, each turned into a JSON line.
  struct Source {
    Stmt st;
    json (*to_json)(const Stmt&);
    bool has_row = false;
    double t = 0;
    int rc = SQLITE_OK;

    void Next() {
      rc = st.Step();
      has_row = rc == SQLITE_ROW;
      if (has_row) t = st.Real(0);
    }
  };

  static json WebhookLine(const Stmt& st) {
    WebhookRecord w;
    ReadColumns(st, 2, w.group_key, w.status, w.receiver, w.alerts, w.body);
    w.received_at = st.Real(0);
    json j = {{"type", "webhook"}, {"id", st.Int64(1)}};
    j.update(ToJson(w));
    return j;
  }
  static json ExecutionLine(const Stmt& st) {
    json j = {{"type", "execution"}};
    j.update(ToJson(ReadExecution(st, 2)));
    j["webhook_id"] = st.IsNull(1) ? json(nullptr) : json(st.Int64(1));
    return j;
  }
  static json StepLine(const Stmt& st) {
    json j = {{"type", "step"}};
    j.update(ToJson(ReadStep(st, 1)));
    return j;
  }
  static json EventLine(const Stmt& st) {
    json j = {{"type", "event"}};
    j.update(ToJson(ReadEvent(st, 1)));
    return j;
  }

  Status ExportLocked(std::ostream& out) {
    // At equal times the earlier source wins: webhook, execution, step, event.
    std::vector<Source> sources;
    sources.reserve(4);
    const std::pair<const char*, json (*)(const Stmt&)> kinds[] = {
        {kExportWebhooks, &WebhookLine},
        {kExportExecutions, &ExecutionLine},
        {kExportSteps, &StepLine},
        {kExportEvents, &EventLine},
    };
    for (const auto& [sql, fn] : kinds) {
      auto st = Prepare(sql);
      if (!st) return st.error();
      sources.push_back(Source{std::move(*st), fn});
    }
    for (auto& s : sources) s.Next();
    try {
      for (;;) {
        Source* next = nullptr;
        for (auto& s : sources) {
          if (s.has_row && (next == nullptr || s.t < next->t)) next = &s;
        }
        if (next == nullptr) break;
        out << Dump(next->to_json(next->st)) << '\n';
        if (!out) return Error::Internal(Prefix() + "export: write failed");
        next->Next();
      }
    } catch (const std::exception& ex) {
      return Error::Internal(Prefix() + "export: " + ex.what());
    }
    for (auto& s : sources) {
      if (s.rc != SQLITE_DONE) return SqlError("export", s.rc);
    }
    out.flush();
    if (!out) return Error::Internal(Prefix() + "export: write failed");
    return {};
  }

  const std::string path_;
  sqlite3* const db_;
  std::mutex mu_;  // guards the connection and cache_
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
  std::mutex queue_mu_;  // guards queue_ and committing_; never held while taking mu_
  std::condition_variable queue_cv_;
  std::vector<PendingWrite*> queue_;
  bool committing_ = false;
};

}  // namespace

Result<std::unique_ptr<Journal>> OpenSqliteJournal(const std::string& path) {
  namespace fs = std::filesystem;
  if (path.empty()) return Error::Invalid("journal: path is empty");
  std::string prefix = "journal " + path + ": ";
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  auto dir_status = fs::status(dir, ec);
  if (!fs::exists(dir_status)) {
    return Error::Invalid(prefix + "directory " + dir.string() + " does not exist");
  }
  if (!fs::is_directory(dir_status)) {
    return Error::Invalid(prefix + dir.string() + " is not a directory");
  }
  auto file_status = fs::status(path, ec);
  if (fs::is_directory(file_status)) return Error::Invalid(prefix + "is a directory");
  if (fs::exists(file_status) && !fs::is_regular_file(file_status)) {
    return Error::Invalid(prefix + "is not a regular file");
  }
  // SQLite creates the -wal and -shm files next to the database.
  if (access(dir.c_str(), W_OK | X_OK) != 0) {
    return Error{ErrorCode::kPermissionDenied, prefix + "directory " + dir.string() +
                                                   " is not writable: " + std::strerror(errno)};
  }
  if (fs::exists(file_status) && access(path.c_str(), R_OK | W_OK) != 0) {
    return Error{ErrorCode::kPermissionDenied,
                 prefix + "file is not writable: " + std::strerror(errno)};
  }

  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    bool retryable = IsRetryableCode(rc);
    return Error{retryable ? ErrorCode::kUnavailable : ErrorCode::kInternal,
                 prefix + "cannot open: " + msg, retryable};
  }
  if (sqlite3_db_readonly(db, "main") == 1) {
    sqlite3_close_v2(db);
    return Error{ErrorCode::kPermissionDenied, prefix + "opened read-only; it must be writable"};
  }
  auto journal = std::make_unique<SqliteJournal>(path, db);
  if (auto s = journal->Init(); !s) return s.error();
  return std::unique_ptr<Journal>(std::move(journal));
}

json ToJson(const ExecutionRecord& e) {
  json j = json::object();
  PutFields(j, "id", e.id, "dedup_key", e.dedup_key, "runbook", e.runbook, "trigger",
            ToString(e.trigger), "mode", ToString(e.mode), "state", ToString(e.state), "phase",
            ToString(e.phase), "next_step", e.next_step, "labels", e.labels, "annotations",
            e.annotations, "alert_status", e.alert_status, "fingerprint", e.fingerprint,
            "starts_at", e.starts_at, "message", e.message, "resumes", e.resumes, "approved",
            e.approved, "requested_by", e.requested_by);
  PutTime(j, "created", e.created_at);
  PutTime(j, "updated", e.updated_at);
  PutTime(j, "finished", e.finished_at);
  return j;
}

json ToJson(const StepRecord& s) {
  json j = json::object();
  PutFields(j, "execution_id", s.execution_id, "phase", s.phase, "index", s.index, "kind", s.kind,
            "state", s.state, "attempts", s.attempts, "rendered", s.rendered, "message", s.message,
            "details", s.details);
  PutTime(j, "started", s.started_at);
  PutTime(j, "finished", s.finished_at);
  return j;
}

json ToJson(const WebhookRecord& w) {
  json j = json::object();
  PutFields(j, "group_key", w.group_key, "status", w.status, "receiver", w.receiver, "alerts",
            w.alerts, "body", w.body);
  PutTime(j, "received", w.received_at);
  return j;
}

json ToJson(const EventRecord& e) {
  json j = {{"execution_id", e.execution_id}, {"kind", e.kind}, {"message", e.message}};
  PutTime(j, "", e.at);
  return j;
}

}  // namespace failover
