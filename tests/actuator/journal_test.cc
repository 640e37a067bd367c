#include "actuator/journal.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/http_client.h"
#include "tests/actuator/journal_test_util.h"
#include "tests/support/stack.h"
#include "tests/support/temp_dir.h"

namespace failover {
namespace {

using nlohmann::json;
using namespace journal_test;  // tests/actuator/journal_test_util.h

void ExpectSameExecution(const ExecutionRecord& a, const ExecutionRecord& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.dedup_key, b.dedup_key);
  EXPECT_EQ(a.runbook, b.runbook);
  EXPECT_EQ(a.trigger, b.trigger);
  EXPECT_EQ(a.mode, b.mode);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.phase, b.phase);
  EXPECT_EQ(a.next_step, b.next_step);
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_EQ(a.annotations, b.annotations);
  EXPECT_EQ(a.alert_status, b.alert_status);
  EXPECT_EQ(a.fingerprint, b.fingerprint);
  EXPECT_EQ(a.starts_at, b.starts_at);
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.updated_at, b.updated_at);
  EXPECT_EQ(a.finished_at, b.finished_at);
  EXPECT_EQ(a.message, b.message);
  EXPECT_EQ(a.resumes, b.resumes);
  EXPECT_EQ(a.approved, b.approved);
  EXPECT_EQ(a.requested_by, b.requested_by);
}

void ExpectSameStep(const StepRecord& a, const StepRecord& b) {
  EXPECT_EQ(a.execution_id, b.execution_id);
  EXPECT_EQ(a.phase, b.phase);
  EXPECT_EQ(a.index, b.index);
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.attempts, b.attempts);
  EXPECT_EQ(a.rendered, b.rendered);
  EXPECT_EQ(a.message, b.message);
  EXPECT_EQ(a.details, b.details);
  EXPECT_EQ(a.started_at, b.started_at);
  EXPECT_EQ(a.finished_at, b.finished_at);
}

std::unique_ptr<Journal> Open(const std::string& path) {
  auto j = OpenSqliteJournal(path);
  EXPECT_TRUE(j) << j.error().message;
  if (!j) return nullptr;
  return std::move(*j);
}

std::vector<json> Export(Journal& journal) {
  std::ostringstream out;
  auto s = journal.ExportJsonLines(out);
  EXPECT_TRUE(s) << s.error().message;
  std::vector<json> lines;
  std::istringstream in(out.str());
  std::string line;
  while (std::getline(in, line)) {
    json j = json::parse(line, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << line;
    lines.push_back(j);
  }
  return lines;
}

int CountType(const std::vector<json>& lines, const std::string& type) {
  int n = 0;
  for (const auto& l : lines) n += l.value("type", "") == type ? 1 : 0;
  return n;
}

std::vector<std::string> Ids(const std::vector<ExecutionRecord>& v) {
  std::vector<std::string> ids;
  for (const auto& e : v) ids.push_back(e.id);
  return ids;
}

// ExecutionQuery with chained setters (designated initializers trip
// -Wmissing-field-initializers on g++ 12).
struct Query : ExecutionQuery {
  Query& Runbook(std::string v) {
    runbook = std::move(v);
    return *this;
  }
  Query& States(std::vector<ExecState> v) {
    states = std::move(v);
    return *this;
  }
  Query& Trigger(ExecTrigger v) {
    trigger = v;
    return *this;
  }
  Query& Mode(ExecMode v) {
    mode = v;
    return *this;
  }
  Query& Since(double v) {
    created_since = v;
    return *this;
  }
  Query& Limit(int v) {
    limit = v;
    return *this;
  }
};

// A second, independent SQLite connection to the journal file (what another process sees).
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  }
  ~RawDb() { sqlite3_close_v2(db_); }
  std::string Query(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db_);
    std::string out;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != nullptr) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    return out;
  }
  int Exec(const std::string& sql) {
    return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  }

 private:
  sqlite3* db_ = nullptr;
};

// Captures the sqlite3 handle of the connection the journal opens (through SQLite's public
// auto-extension hook), so a test can read the journal's own connection settings or make
// that connection fail the way a full disk or a held lock would, without any test-only API.
std::atomic<sqlite3*> g_captured{nullptr};
int CaptureEntryPoint(sqlite3* db, const char**, const sqlite3_api_routines*) {
  g_captured = db;
  return SQLITE_OK;
}
std::unique_ptr<Journal> OpenCapturing(const std::string& path, sqlite3** handle) {
  g_captured = nullptr;
  auto entry = reinterpret_cast<void (*)(void)>(&CaptureEntryPoint);
  sqlite3_auto_extension(entry);
  auto journal = Open(path);
  sqlite3_cancel_auto_extension(entry);
  *handle = g_captured.load();
  EXPECT_NE(*handle, nullptr);
  return journal;
}

std::string PragmaOn(sqlite3* db, const char* sql) {
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &st, nullptr), SQLITE_OK);
  std::string out;
  if (sqlite3_step(st) == SQLITE_ROW) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  }
  sqlite3_finalize(st);
  return out;
}

class JournalTest : public ::testing::Test {
 protected:
  std::string DbPath() const { return dir_.path() + "/journal.db"; }
  testing::TempDir dir_;
};

// The Journal semantics every backend shares, run on SQLite and on a real etcd
// (scripts/stack component etcd; each test its own key prefix).
class JournalBackendTest : public JournalTest, public ::testing::WithParamInterface<std::string> {
 protected:
  std::unique_ptr<Journal> OpenBackend() {
    if (GetParam() == "sqlite") return Open(DbPath());
    std::string endpoint = testing::Stack::Get({"etcd"}).Env("ETCD_ENDPOINTS");
    std::string prefix =
        "/journal-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) +
        "/";
    auto j = OpenEtcdJournal(http_, {endpoint}, prefix);
    EXPECT_TRUE(j) << j.error().message;
    return j ? std::move(*j) : nullptr;
  }
  CurlHttpClient http_;
};

INSTANTIATE_TEST_SUITE_P(Backends, JournalBackendTest, ::testing::Values("sqlite", "etcd"),
                         [](const auto& info) { return info.param; });

// The automation hold lives in a setting: a second process (another HA actuator, or this
// one after a restart) reads what the first wrote.
TEST_P(JournalBackendTest, SettingsAreSharedByEveryProcessOfTheJournal) {
  auto first = OpenBackend();
  auto second = OpenBackend();
  ASSERT_TRUE(first && second);
  std::string value = "{\"held\":true,\"n\":" + std::to_string(::getpid()) + "}";
  ASSERT_TRUE(first->PutSetting("hold", value));
  auto seen = second->GetSetting("hold");
  ASSERT_TRUE(seen) << seen.error().message;
  ASSERT_TRUE(seen->has_value());
  EXPECT_EQ(**seen, value);
  ASSERT_TRUE(second->PutSetting("hold", "{\"held\":false}"));
  EXPECT_EQ(first->GetSetting("hold")->value_or(""), "{\"held\":false}");
  auto unset = first->GetSetting("never-written");
  ASSERT_TRUE(unset);
  EXPECT_FALSE(unset->has_value());
}

TEST_P(JournalBackendTest, AcceptInsertsCandidatesAndReportsDuplicates) {
  auto journal = OpenBackend();
  ASSERT_TRUE(journal);
  auto a = MakeExecution("e1", "failover-us-east|0123456789abcdef|2027-01-15T07:59:00Z");
  auto b = MakeExecution("e2", "page-oncall|0123456789abcdef|2027-01-15T07:59:00Z");
  auto first = journal->Accept(MakeWebhook(), {a, b});
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(*first, (std::vector<bool>{true, true}));

  // Alertmanager resends the group: same dedup key under a fresh id, plus a new alert.
  auto resend = MakeExecution("e3", a.dedup_key, kT0 + 60);
  resend.labels["extra"] = "changed";
  resend.state = ExecState::kRunning;
  auto c = MakeExecution("e4", "failover-us-east|fedcba9876543210|2027-01-15T08:00:30Z");
  auto second = journal->Accept(MakeWebhook(), {resend, c});
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(*second, (std::vector<bool>{false, true}));

  auto stored = journal->Get("e1");
  ASSERT_TRUE(stored && stored->has_value());
  ExpectSameExecution(**stored, a);  // the duplicate changed nothing
  auto ghost = journal->Get("e3");
  ASSERT_TRUE(ghost);
  EXPECT_FALSE(ghost->has_value());
  EXPECT_TRUE(journal->Get("e4").value().has_value());

  // The same key twice in one request: the first wins.
  auto d1 = MakeExecution("e5", "same-key");
  auto d2 = MakeExecution("e6", "same-key");
  auto third = journal->Accept(MakeWebhook(), {d1, d2});
  ASSERT_TRUE(third) << third.error().message;
  EXPECT_EQ(*third, (std::vector<bool>{true, false}));

  // Every request is on record, duplicates or not.
  auto lines = Export(*journal);
  EXPECT_EQ(CountType(lines, "webhook"), 3);
  EXPECT_EQ(CountType(lines, "execution"), 4);

  // A request with no matching runbook is still recorded.
  auto none = journal->Accept(MakeWebhook(), {});
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(CountType(Export(*journal), "webhook"), 4);
}

TEST_F(JournalTest, AcceptIsAtomic) {
  auto journal = Open(DbPath());
  ASSERT_TRUE(journal);
  // The second candidate reuses the first one's id: the whole request must fail.
  auto r = journal->Accept(MakeWebhook(),
                           {MakeExecution("dup-id", "key-1"), MakeExecution("dup-id", "key-2")});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find(DbPath()), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("UNIQUE"), std::string::npos) << r.error().message;
  EXPECT_FALSE(r.error().retryable);
  EXPECT_FALSE(journal->Get("dup-id").value().has_value());
  EXPECT_TRUE(Export(*journal).empty());  // not even the webhook row

  // An invalid candidate fails the request the same way.
  auto bad =
      journal->Accept(MakeWebhook(), {MakeExecution("ok", "key-ok"), MakeExecution("", "k")});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("empty id"), std::string::npos) << bad.error().message;
  EXPECT_TRUE(Export(*journal).empty());

  // The journal is still usable afterwards, and the keys were never taken.
  auto ok = journal->Accept(MakeWebhook(), {MakeExecution("e1", "key-1")});
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(*ok, std::vector<bool>{true});
}

// An execution's final state, its event and the steps given with them (Engine::Finish; a
// dry run's steps) are one write: all are in the journal, or none is.
TEST_F(JournalTest, UpdateWithEventWritesAllOrNothing) {
  auto journal = Open(DbPath());
  ASSERT_TRUE(journal);
  ASSERT_TRUE(journal->Insert(MakeExecution("e1", "k1")));
  ExecutionRecord done = MakeExecution("e1", "k1");
  done.state = ExecState::kSucceeded;
  done.message = "switched";
  ASSERT_TRUE(journal->UpdateWithEvent(done, {}, {"e1", kT0 + 1, "succeeded", "switched"}));
  EXPECT_EQ(journal->Get("e1").value()->state, ExecState::kSucceeded);
  auto events = journal->Events("e1");
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].kind, "succeeded");

  // The event cannot be written (no such execution): the update is not kept either.
  ExecutionRecord again = done;
  again.state = ExecState::kFailed;
  StepRecord step;
  step.execution_id = "e1";
  step.phase = "main";
  step.kind = "http";
  step.state = "dry_run";
  auto bad = journal->UpdateWithEvent(again, {step}, {"nope", kT0 + 2, "failed", "x"});
  ASSERT_FALSE(bad);
  EXPECT_EQ(journal->Get("e1").value()->state, ExecState::kSucceeded);
  EXPECT_EQ(journal->Events("e1").value().size(), 1u);
  EXPECT_TRUE(journal->Steps("e1").value().empty()) << "a step of a failed write was kept";

  // Steps, state and event together (a dry run's end).
  again.state = ExecState::kDryRun;
  StepRecord second = step;
  second.index = 1;
  ASSERT_TRUE(journal->UpdateWithEvent(again, {step, second}, {"e1", kT0 + 3, "dry_run", "y"}));
  EXPECT_EQ(journal->Get("e1").value()->state, ExecState::kDryRun);
  EXPECT_EQ(journal->Steps("e1").value().size(), 2u);
  EXPECT_EQ(journal->Events("e1").value().size(), 2u);
}

TEST_F(JournalTest, FullDiskIsARetryableErrorAndWritesNothing) {
  sqlite3* conn = nullptr;
  auto journal = OpenCapturing(DbPath(), &conn);
  ASSERT_TRUE(journal && conn);
  ASSERT_TRUE(journal->Accept(MakeWebhook(), {MakeExecution("before", "k0")}));
  // The database may not grow by a single page: what a full file system looks like.
  PragmaOn(conn, "PRAGMA max_page_count = 1");
  std::string big_body(256 * 1024, 'x');
  auto r = journal->Accept(MakeWebhook(big_body), {MakeExecution("e1", "k1")});
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().retryable) << r.error().message;
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find(DbPath()), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("full"), std::string::npos) << r.error().message;
  EXPECT_FALSE(journal->Get("e1").value().has_value());
  EXPECT_EQ(CountType(Export(*journal), "webhook"), 1);

  // Space again: Alertmanager's retry goes through.
  PragmaOn(conn, "PRAGMA max_page_count = 1000000");
  auto retry = journal->Accept(MakeWebhook(big_body), {MakeExecution("e1", "k1")});
  ASSERT_TRUE(retry) << retry.error().message;
  EXPECT_EQ(*retry, std::vector<bool>{true});
}

// Issue 19, point 1 (group commit): the webhooks of a group in one transaction and one
// commit; a duplicate of an earlier member of the same group is reported as a duplicate;
// a failure anywhere fails every member and writes nothing of any of them.
TEST_F(JournalTest, AcceptGroupIsOneAtomicCommit) {
  sqlite3* conn = nullptr;
  auto journal = OpenCapturing(DbPath(), &conn);
  ASSERT_TRUE(journal && conn);
  std::vector<Journal::AcceptRequest> group = {
      {MakeWebhook(R"({"n":0})"), {MakeExecution("a", "key-a")}},
      {MakeWebhook(R"({"n":1})"), {MakeExecution("a2", "key-a"), MakeExecution("b", "key-b")}},
      {MakeWebhook(R"({"n":2})"), {}},
  };
  int commits = -1;
  auto r = journal->AcceptGroup(group, &commits);
  EXPECT_EQ(commits, 1);
  ASSERT_EQ(r.size(), 3u);
  ASSERT_TRUE(r[0] && r[1] && r[2]);
  EXPECT_EQ(*r[0], std::vector<bool>{true});
  EXPECT_EQ(*r[1], (std::vector<bool>{false, true})) << "the same alert twice in one group";
  EXPECT_TRUE(r[2]->empty());
  EXPECT_FALSE(journal->Get("a2").value().has_value());
  auto before = Export(*journal);
  EXPECT_EQ(CountType(before, "webhook"), 3);
  EXPECT_EQ(CountType(before, "execution"), 2);

  // The last member is invalid: the two before it, already written in the transaction,
  // are rolled back with it.
  std::vector<Journal::AcceptRequest> bad = {
      {MakeWebhook(), {MakeExecution("c", "key-c")}},
      {MakeWebhook(), {MakeExecution("d", "key-d")}},
      {MakeWebhook(), {MakeExecution("", "key-e")}},
  };
  auto f = journal->AcceptGroup(bad, &commits);
  EXPECT_EQ(commits, 0);
  ASSERT_EQ(f.size(), 3u);
  for (const auto& m : f) {
    ASSERT_FALSE(m);
    EXPECT_NE(m.error().message.find("empty id"), std::string::npos) << m.error().message;
  }
  EXPECT_EQ(Export(*journal), before) << "part of a failed group was written";

  // A full disk at the commit: every member gets the retryable error, nothing stays.
  PragmaOn(conn, "PRAGMA max_page_count = 1");
  std::string big_body(256 * 1024, 'x');
  auto full = journal->AcceptGroup({{MakeWebhook(), {MakeExecution("c", "key-c")}},
                                    {MakeWebhook(big_body), {MakeExecution("d", "key-d")}}},
                                   &commits);
  EXPECT_EQ(commits, 0);
  ASSERT_EQ(full.size(), 2u);
  for (const auto& m : full) {
    ASSERT_FALSE(m);
    EXPECT_TRUE(m.error().retryable) << m.error().message;
  }
  PragmaOn(conn, "PRAGMA max_page_count = 1000000");
  EXPECT_EQ(Export(*journal), before) << "part of a failed group was written";
}

TEST_F(JournalTest, LockedJournalIsARetryableError) {
  sqlite3* conn = nullptr;
  auto journal = OpenCapturing(DbPath(), &conn);
  ASSERT_TRUE(journal && conn);
  sqlite3_busy_timeout(conn, 20);  // keep the test short; the real timeout is seconds
  RawDb other(DbPath());
  ASSERT_EQ(other.Exec("BEGIN IMMEDIATE"), SQLITE_OK);  // another process holds the write lock
  auto r = journal->Accept(MakeWebhook(), {MakeExecution("e1", "k1")});
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().retryable) << r.error().message;
  EXPECT_NE(r.error().message.find("locked"), std::string::npos) << r.error().message;
  ASSERT_EQ(other.Exec("ROLLBACK"), SQLITE_OK);
  EXPECT_FALSE(journal->Get("e1").value().has_value());
  auto retry = journal->Accept(MakeWebhook(), {MakeExecution("e1", "k1")});
  ASSERT_TRUE(retry) << retry.error().message;
}

TEST_P(JournalBackendTest, RecordsRoundTrip) {
  auto journal = OpenBackend();
  ASSERT_TRUE(journal);
  ExecutionRecord e = MakeExecution("api-1", "api|api-1");
  e.trigger = ExecTrigger::kApi;
  e.mode = ExecMode::kApprove;
  e.labels = {{"region", "us-east"},
              {"quote", "say \"hi\" and 'bye' \\ back"},
              {"ünïcødé", "日本語 ✓ \u00e9"},
              {"empty", ""},
              {"sql", "x'); DROP TABLE executions; --"}};
  e.annotations = {{"description", "line1\nline2\ttab"}};
  e.alert_status = "";
  e.requested_by = "alice";
  ASSERT_TRUE(journal->Insert(e));
  auto got = journal->Get("api-1");
  ASSERT_TRUE(got && got->has_value());
  ExpectSameExecution(**got, e);

  e.state = ExecState::kFailed;
  e.phase = ExecPhase::kOnFailure;
  e.next_step = 2;
  e.updated_at = kT0 + 10.5;
  e.finished_at = kT0 + 11.25;
  e.message = "step 1 (http) failed: 503";
  e.resumes = 3;
  e.approved = true;
  e.labels["added"] = "later";
  ASSERT_TRUE(journal->Update(e));
  got = journal->Get("api-1");
  ASSERT_TRUE(got && got->has_value());
  ExpectSameExecution(**got, e);

  // Steps: inserted in any order, replaced by key, listed main first then on_failure.
  StepRecord s0;
  s0.execution_id = "api-1";
  s0.phase = "main";
  s0.index = 0;
  s0.kind = "dns_update";
  s0.state = "running";
  s0.attempts = 1;
  s0.rendered = {{"zone", "example.test."}, {"records", {"127.0.0.3"}}, {"api_key", "<redacted>"}};
  s0.started_at = kT0 + 1;
  StepRecord f0 = s0;
  f0.phase = "on_failure";
  f0.kind = "pagerduty";
  f0.state = "ok";
  f0.details = {{"dedup_key", "api-1"}, {"status", 202}};
  StepRecord s1 = s0;
  s1.index = 1;
  s1.kind = "http";
  s1.state = "failed";
  s1.attempts = 4;
  s1.message = "503 Service Unavailable";
  s1.details = {{"output", "\"quoted\" ünïcødé"}, {"nested", {{"a", {1, 2.5, nullptr}}}}};
  s1.finished_at = kT0 + 9;
  ASSERT_TRUE(journal->PutStep(f0));
  ASSERT_TRUE(journal->PutStep(s1));
  ASSERT_TRUE(journal->PutStep(s0));
  s0.state = "ok";
  s0.attempts = 2;
  s0.message = "record changed";
  s0.finished_at = kT0 + 2;
  ASSERT_TRUE(journal->PutStep(s0));  // replaces the running record
  auto steps = journal->Steps("api-1");
  ASSERT_TRUE(steps) << steps.error().message;
  ASSERT_EQ(steps->size(), 3u);
  ExpectSameStep((*steps)[0], s0);
  ExpectSameStep((*steps)[1], s1);
  ExpectSameStep((*steps)[2], f0);

  EventRecord ev1{"api-1", kT0, "accepted", "requested by alice"};
  EventRecord ev2{"api-1", kT0 + 1, "approved", "by \"bob\""};
  EventRecord ev3{"api-1", kT0 + 1, "step", "dns_update ok"};  // same time: insertion order
  for (const auto& ev : {ev1, ev2, ev3}) ASSERT_TRUE(journal->AddEvent(ev));
  auto events = journal->Events("api-1");
  ASSERT_TRUE(events) << events.error().message;
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[0].kind, "accepted");
  EXPECT_EQ((*events)[1].kind, "approved");
  EXPECT_EQ((*events)[1].message, "by \"bob\"");
  EXPECT_EQ((*events)[1].at, kT0 + 1);
  EXPECT_EQ((*events)[1].execution_id, "api-1");
  EXPECT_EQ((*events)[2].kind, "step");

  // Unknown executions: empty answers, not errors.
  EXPECT_FALSE(journal->Get("nope").value().has_value());
  EXPECT_TRUE(journal->Steps("nope").value().empty());
  EXPECT_TRUE(journal->Events("nope").value().empty());
}

TEST_P(JournalBackendTest, WritesThatBreakTheRecordAreRefused) {
  auto journal = OpenBackend();
  ASSERT_TRUE(journal);
  ASSERT_TRUE(journal->Insert(MakeExecution("e1", "k1")));

  auto same_id = journal->Insert(MakeExecution("e1", "k2"));
  ASSERT_FALSE(same_id);
  EXPECT_EQ(same_id.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(same_id.error().message.find("e1"), std::string::npos);
  auto same_key = journal->Insert(MakeExecution("e2", "k1"));
  ASSERT_FALSE(same_key);
  EXPECT_NE(same_key.error().message.find("dedup_key"), std::string::npos)
      << same_key.error().message;
  EXPECT_FALSE(journal->Get("e2").value().has_value());
  EXPECT_FALSE(journal->Insert(MakeExecution("e3", "")));

  auto missing = journal->Update(MakeExecution("nope", "k9"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("nope"), std::string::npos);

  StepRecord orphan;
  orphan.execution_id = "nope";
  orphan.phase = "main";
  auto step = journal->PutStep(orphan);
  ASSERT_FALSE(step);
  if (GetParam() == "sqlite") {
    EXPECT_NE(step.error().message.find("FOREIGN KEY"), std::string::npos) << step.error().message;
  } else {
    EXPECT_NE(step.error().message.find("no such execution"), std::string::npos)
        << step.error().message;
  }
  EXPECT_FALSE(journal->AddEvent({"nope", kT0, "step", "x"}));

  // Events of the journal itself (no execution) are allowed.
  ASSERT_TRUE(journal->AddEvent({"", kT0, "brake", "engaged"}));
  auto global = journal->Events("");
  ASSERT_TRUE(global);
  ASSERT_EQ(global->size(), 1u);
  EXPECT_EQ((*global)[0].kind, "brake");
}

TEST_P(JournalBackendTest, ListFiltersAndOrdersNewestFirst) {
  auto journal = OpenBackend();
  ASSERT_TRUE(journal);
  struct Row {
    const char* id;
    const char* runbook;
    ExecState state;
    ExecTrigger trigger;
    ExecMode mode;
    double created_at;
  };
  const Row rows[] = {
      {"a", "failover-us-east", ExecState::kSucceeded, ExecTrigger::kWebhook, ExecMode::kAuto,
       kT0 + 10},
      {"b", "failover-us-east", ExecState::kFailed, ExecTrigger::kWebhook, ExecMode::kAuto,
       kT0 + 20},
      {"c", "failback", ExecState::kPendingApproval, ExecTrigger::kApi, ExecMode::kApprove,
       kT0 + 30},
      {"d", "failover-us-east", ExecState::kSuppressed, ExecTrigger::kWebhook, ExecMode::kAuto,
       kT0 + 40},
      {"e", "failback", ExecState::kDryRun, ExecTrigger::kApi, ExecMode::kDryRun, kT0 + 50},
      {"f", "failover-us-east", ExecState::kRunning, ExecTrigger::kWebhook, ExecMode::kApprove,
       kT0 + 60},
      {"g", "failover-us-east", ExecState::kSucceeded, ExecTrigger::kApi, ExecMode::kAuto,
       kT0 + 60},  // tie: later
  };
  // Inserted out of time order: List orders by creation time, not by insertion.
  for (int i : {3, 0, 5, 1, 6, 4, 2}) {
    ExecutionRecord e =
        MakeExecution(rows[i].id, std::string("key-") + rows[i].id, rows[i].created_at);
    e.runbook = rows[i].runbook;
    e.state = rows[i].state;
    e.trigger = rows[i].trigger;
    e.mode = rows[i].mode;
    ASSERT_TRUE(journal->Insert(e));
  }
  auto list = [&](const ExecutionQuery& q) {
    auto r = journal->List(q);
    EXPECT_TRUE(r) << r.error().message;
    return r ? Ids(*r) : std::vector<std::string>{};
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(list(Query()), (V{"g", "f", "e", "d", "c", "b", "a"}));
  EXPECT_EQ(list(Query().Runbook("failback")), (V{"e", "c"}));
  EXPECT_EQ(list(Query().States({ExecState::kSucceeded})), (V{"g", "a"}));
  EXPECT_EQ(list(Query().States({ExecState::kPendingApproval, ExecState::kRunning})),
            (V{"f", "c"}));
  EXPECT_EQ(list(Query().Trigger(ExecTrigger::kApi)), (V{"g", "e", "c"}));
  EXPECT_EQ(list(Query().Mode(ExecMode::kApprove)), (V{"f", "c"}));
  EXPECT_EQ(list(Query().Since(kT0 + 40)), (V{"g", "f", "e", "d"}));
  EXPECT_EQ(list(Query().Limit(2)), (V{"g", "f"}));
  EXPECT_EQ(list(Query().Limit(0)).size(), 7u);  // no limit
  EXPECT_EQ(list(Query()
                     .Runbook("failover-us-east")
                     .States({ExecState::kSucceeded, ExecState::kFailed})
                     .Trigger(ExecTrigger::kWebhook)
                     .Mode(ExecMode::kAuto)
                     .Since(kT0 + 15)
                     .Limit(10)),
            (V{"b"}));
  EXPECT_TRUE(list(Query().Runbook("nope")).empty());
  // Values are data, never SQL.
  EXPECT_TRUE(list(Query().Runbook("x' OR '1'='1")).empty());

  // Records come back whole.
  auto full = journal->List(Query().Runbook("failback").Limit(1));
  ASSERT_TRUE(full && full->size() == 1);
  EXPECT_EQ((*full)[0].labels.at("region"), "us-east");
  EXPECT_EQ((*full)[0].mode, ExecMode::kDryRun);
}

TEST_P(JournalBackendTest, EverythingSurvivesReopen) {
  ExecutionRecord e = MakeExecution("e1", "k1");
  e.labels["ü"] = "✓";
  StepRecord s;
  s.execution_id = "e1";
  s.phase = "main";
  s.index = 0;
  s.kind = "exec";
  s.state = "ok";
  s.rendered = {{"argv", {"/bin/true"}}};
  s.started_at = kT0 + 1;
  s.finished_at = kT0 + 2;
  {
    auto journal = OpenBackend();
    ASSERT_TRUE(journal);
    ASSERT_TRUE(journal->Accept(MakeWebhook(), {e}));
    e.state = ExecState::kSucceeded;
    e.finished_at = kT0 + 3;
    ASSERT_TRUE(journal->Update(e));
    ASSERT_TRUE(journal->PutStep(s));
    ASSERT_TRUE(journal->AddEvent({"e1", kT0 + 3, "finished", "ok"}));
  }
  auto journal = OpenBackend();
  ASSERT_TRUE(journal);
  auto got = journal->Get("e1");
  ASSERT_TRUE(got && got->has_value());
  ExpectSameExecution(**got, e);
  auto steps = journal->Steps("e1");
  ASSERT_TRUE(steps && steps->size() == 1);
  ExpectSameStep((*steps)[0], s);
  auto events = journal->Events("e1");
  ASSERT_TRUE(events && events->size() == 2);
  EXPECT_EQ((*events)[0].kind, "accepted");  // written by Accept
  EXPECT_EQ((*events)[1].kind, "finished");
  EXPECT_EQ(Ids(journal->List({}).value()), std::vector<std::string>{"e1"});
  // Dedup holds across restarts.
  auto again = journal->Accept(MakeWebhook(), {MakeExecution("e9", "k1")});
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, std::vector<bool>{false});
}

// Runs `child` in a forked process; the parent gets the read end of a pipe the child
// writes to. Returns the child's pid.
pid_t ForkChild(int* read_fd, const std::function<void(int write_fd)>& child) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    child(fds[1]);
    _exit(0);
  }
  close(fds[1]);
  *read_fd = fds[0];
  return pid;
}

enum class ChildEnd { kExitWithoutCleanup, kSigkill };

class JournalCrashTest : public JournalTest, public ::testing::WithParamInterface<ChildEnd> {};

TEST_P(JournalCrashTest, AcknowledgedAcceptSurvivesTheProcessDying) {
  const std::string path = DbPath();
  const ChildEnd end = GetParam();
  int rfd = -1;
  pid_t pid = ForkChild(&rfd, [&](int wfd) {
    auto j = OpenSqliteJournal(path);
    if (!j) _exit(2);
    auto r = (*j)->Accept(MakeWebhook(), {MakeExecution("e1", "k1")});
    if (!r || *r != std::vector<bool>{true}) _exit(3);
    char ok = 'y';
    if (write(wfd, &ok, 1) != 1) _exit(4);
    if (end == ChildEnd::kExitWithoutCleanup) _exit(0);  // no destructor, no close
    for (;;) pause();                                    // until SIGKILLed
  });
  ASSERT_GT(pid, 0);
  char got = 0;
  ASSERT_EQ(read(rfd, &got, 1), 1) << "child never acknowledged the accept";
  close(rfd);
  if (end == ChildEnd::kSigkill) kill(pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  if (end == ChildEnd::kSigkill) {
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  } else {
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }

  auto journal = Open(path);
  ASSERT_TRUE(journal);
  auto e = journal->Get("e1");
  ASSERT_TRUE(e && e->has_value());
  EXPECT_EQ((*e)->dedup_key, "k1");
  auto again = journal->Accept(MakeWebhook(), {MakeExecution("e2", "k1")});
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, std::vector<bool>{false});
}

INSTANTIATE_TEST_SUITE_P(Ends, JournalCrashTest,
                         ::testing::Values(ChildEnd::kExitWithoutCleanup, ChildEnd::kSigkill),
                         [](const auto& info) {
                           return info.param == ChildEnd::kSigkill ? "Sigkill" : "ExitNoCleanup";
                         });

TEST_F(JournalTest, KilledMidStreamKeepsEveryAcknowledgedAcceptWhole) {
  const std::string path = DbPath();
  int rfd = -1;
  pid_t pid = ForkChild(&rfd, [&](int wfd) {
    auto j = OpenSqliteJournal(path);
    if (!j) _exit(2);
    for (int i = 0;; ++i) {
      std::string n = std::to_string(i);
      auto r = (*j)->Accept(MakeWebhook(),
                            {MakeExecution("a" + n, "ka" + n), MakeExecution("b" + n, "kb" + n)});
      if (!r) _exit(3);
      char ok = 'y';
      if (write(wfd, &ok, 1) != 1) _exit(4);
    }
  });
  ASSERT_GT(pid, 0);
  int acked = 0;
  char c;
  while (acked < 30 && read(rfd, &c, 1) == 1) ++acked;
  kill(pid, SIGKILL);  // in the middle of whatever the child is doing
  close(rfd);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_EQ(acked, 30);

  auto journal = Open(path);
  ASSERT_TRUE(journal);
  for (int i = 0; i < acked; ++i) {
    EXPECT_TRUE(journal->Get("a" + std::to_string(i)).value().has_value()) << i;
    EXPECT_TRUE(journal->Get("b" + std::to_string(i)).value().has_value()) << i;
  }
  // Whatever else made it in is whole: one webhook row per pair of executions.
  auto lines = Export(*journal);
  EXPECT_EQ(CountType(lines, "execution"), 2 * CountType(lines, "webhook"));
  RawDb raw(path);
  EXPECT_EQ(raw.Query("PRAGMA integrity_check"), "ok");
}

TEST_F(JournalTest, ConcurrentAcceptsDeduplicateAcrossThreadsAndConnections) {
  auto first = Open(DbPath());
  auto second = Open(DbPath());  // as another process would
  ASSERT_TRUE(first && second);
  constexpr int kThreads = 6;
  constexpr int kRounds = 15;
  std::vector<std::vector<bool>> won(kThreads, std::vector<bool>(kRounds));
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Journal& j = t % 2 ? *second : *first;
      for (int i = 0; i < kRounds; ++i) {
        std::string n = std::to_string(t) + "-" + std::to_string(i);
        auto r =
            j.Accept(MakeWebhook(), {MakeExecution("own-" + n, "own-" + n),
                                     MakeExecution("shared-" + n, "shared-" + std::to_string(i))});
        if (!r) {
          ++errors;
          continue;
        }
        won[t][i] = (*r)[1];
        if (!(*r)[0]) ++errors;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  for (int i = 0; i < kRounds; ++i) {
    int winners = 0;
    for (int t = 0; t < kThreads; ++t) winners += won[t][i] ? 1 : 0;
    EXPECT_EQ(winners, 1) << "round " << i;
  }
  auto all = first->List(Query().Limit(0));
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), static_cast<size_t>(kThreads * kRounds + kRounds));
}

// Issue 19, point 1: every write (an execution's state, its steps, its events, accepts)
// joins the next group commit: writes made while a commit is in progress share one
// transaction and one commit, and each caller still gets its own result: a write that
// fails (an unknown execution, an id that exists) fails alone, the others are committed.
TEST_F(JournalTest, ConcurrentWritesShareOneCommitAndAFailedWriteFailsAlone) {
  sqlite3* conn = nullptr;
  auto journal = OpenCapturing(DbPath(), &conn);
  ASSERT_TRUE(journal && conn);
  ASSERT_TRUE(journal->Insert(MakeExecution("e1", "k1")));
  std::atomic<int> commits{0};
  sqlite3_commit_hook(
      conn,
      [](void* n) {
        ++*static_cast<std::atomic<int>*>(n);
        return 0;
      },
      &commits);
  RawDb other(DbPath());
  ASSERT_EQ(other.Exec("BEGIN IMMEDIATE"), SQLITE_OK);  // the first write waits for it

  constexpr int kWriters = 24;
  std::atomic<int> started{0};
  std::vector<Status> results(kWriters + 2);
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      ++started;
      if (i % 2 == 0) {
        results[i] = journal->AddEvent({"e1", kT0 + i, "note", "event " + std::to_string(i)});
      } else {
        StepRecord s;
        s.execution_id = "e1";
        s.phase = "main";
        s.index = i;
        s.kind = "wait";
        s.state = "ok";
        results[i] = journal->PutStep(s);
      }
    });
  }
  threads.emplace_back([&] {
    ++started;
    results[kWriters] = journal->Update(MakeExecution("nope", "k-nope"));  // no such id
  });
  threads.emplace_back([&] {
    ++started;
    results[kWriters + 1] = journal->Insert(MakeExecution("e1", "k-other"));  // id exists
  });
  for (int i = 0; i < 500 && started.load() < kWriters + 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(started.load(), kWriters + 2);
  // Every writer is inside its call; let them reach the journal's queue, then free it.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(other.Exec("ROLLBACK"), SQLITE_OK);
  for (auto& t : threads) t.join();

  for (int i = 0; i < kWriters; ++i)
    EXPECT_TRUE(results[i]) << i << ": " << results[i].error().message;
  ASSERT_FALSE(results[kWriters]);
  EXPECT_EQ(results[kWriters].error().code, ErrorCode::kNotFound);
  ASSERT_FALSE(results[kWriters + 1]);
  EXPECT_NE(results[kWriters + 1].error().message.find(kIdExistsMessage), std::string::npos)
      << results[kWriters + 1].error().message;
  // One commit per write would be 26; the first write commits alone (it waited for the
  // lock), the others together (a straggler may make a third).
  EXPECT_LE(commits.load(), 3);
  EXPECT_GE(commits.load(), 1);

  // What the callers were told is what is in the journal, also for another process.
  sqlite3_commit_hook(conn, nullptr, nullptr);
  journal.reset();
  auto reopened = Open(DbPath());
  ASSERT_TRUE(reopened);
  auto events = reopened->Events("e1");
  ASSERT_TRUE(events);
  EXPECT_EQ(events->size(), static_cast<size_t>(kWriters / 2));
  auto steps = reopened->Steps("e1");
  ASSERT_TRUE(steps);
  EXPECT_EQ(steps->size(), static_cast<size_t>(kWriters / 2));
  auto e1 = reopened->Get("e1");
  ASSERT_TRUE(e1 && e1->has_value());
  EXPECT_EQ((*e1)->dedup_key, "k1");  // the refused Insert changed nothing
  EXPECT_FALSE(reopened->Get("nope").value().has_value());
  RawDb raw(DbPath());
  EXPECT_EQ(raw.Query("PRAGMA integrity_check"), "ok");
}

// Group commit keeps durability: a process killed while many threads write (each write
// acknowledged only after its commit) loses none of the acknowledged writes.
TEST_F(JournalTest, KilledWhileManyThreadsWriteKeepsEveryAcknowledgedWrite) {
  const std::string path = DbPath();
  {
    auto j = Open(path);
    ASSERT_TRUE(j);
    ASSERT_TRUE(j->Insert(MakeExecution("e1", "k1")));
  }
  constexpr int kThreads = 8;
  int rfd = -1;
  pid_t pid = ForkChild(&rfd, [&](int wfd) {
    auto j = OpenSqliteJournal(path);
    if (!j) _exit(2);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (std::uint32_t i = 0;; ++i) {
          Status s;
          if (t % 2 == 0) {
            s = (*j)->AddEvent({"e1", kT0 + i, "t" + std::to_string(t), std::to_string(i)});
          } else {
            StepRecord st;
            st.execution_id = "e1";
            st.phase = "t" + std::to_string(t);
            st.index = static_cast<int>(i);
            st.kind = "wait";
            st.state = "ok";
            s = (*j)->PutStep(st);
          }
          if (!s) _exit(3);
          std::uint32_t ack[2] = {static_cast<std::uint32_t>(t), i};  // PIPE_BUF: atomic
          if (write(wfd, ack, sizeof ack) != sizeof ack) _exit(4);
        }
      });
    }
    for (auto& th : threads) th.join();
  });
  ASSERT_GT(pid, 0);
  std::vector<int> acked(kThreads, 0);  // writes 0..acked-1 of each thread acknowledged
  int total = 0;
  std::uint32_t ack[2];
  while (total < 400 && read(rfd, ack, sizeof ack) == sizeof ack) {
    ASSERT_LT(ack[0], static_cast<std::uint32_t>(kThreads));
    EXPECT_EQ(ack[1], static_cast<std::uint32_t>(acked[ack[0]]));  // in order per thread
    acked[ack[0]] = static_cast<int>(ack[1]) + 1;
    ++total;
  }
  kill(pid, SIGKILL);  // in the middle of whatever the writers are doing
  close(rfd);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_EQ(total, 400);

  auto journal = Open(path);
  ASSERT_TRUE(journal);
  auto events = journal->Events("e1");
  auto steps = journal->Steps("e1");
  ASSERT_TRUE(events && steps);
  std::vector<int> found(kThreads, 0);
  for (const auto& e : *events) found[std::stoi(e.kind.substr(1))] += 1;
  for (const auto& s : *steps) found[std::stoi(s.phase.substr(1))] += 1;
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_GE(found[t], acked[t]) << "thread " << t << ": acknowledged writes lost";
  }
  RawDb raw(path);
  EXPECT_EQ(raw.Query("PRAGMA integrity_check"), "ok");
}

TEST_F(JournalTest, OpenFailsClearly) {
  auto expect_error = [](const std::string& path, const std::string& needle) {
    auto j = OpenSqliteJournal(path);
    ASSERT_FALSE(j) << path;
    EXPECT_NE(j.error().message.find(path), std::string::npos) << j.error().message;
    EXPECT_NE(j.error().message.find(needle), std::string::npos) << j.error().message;
  };
  expect_error(dir_.path() + "/missing/journal.db", "does not exist");
  std::string file = dir_.Write("plain", "x");
  expect_error(file + "/journal.db", "not a directory");
  std::filesystem::create_directory(dir_.path() + "/adir");
  expect_error(dir_.path() + "/adir", "is a directory");
  expect_error(dir_.Write("garbage.db", std::string(4096, 'g')), "not a database");
  EXPECT_FALSE(OpenSqliteJournal(""));

  // A journal from a newer release is refused, not guessed at.
  std::string newer = dir_.path() + "/newer.db";
  {
    auto j = Open(newer);
    ASSERT_TRUE(j);
  }
  {
    RawDb raw(newer);
    ASSERT_EQ(raw.Exec("PRAGMA user_version = 99"), SQLITE_OK);
  }
  expect_error(newer, "schema version 99 is newer");
}

// Permissions stop only an unprivileged user: as root (CI), the checks run in a child
// that drops to nobody first, so they run the same way everywhere.
TEST_F(JournalTest, UnwritableDirectoryIsAClearError) {
  std::string ro = dir_.path() + "/ro";
  std::filesystem::create_directory(ro);
  {
    auto journal = Open(DbPath());
    ASSERT_TRUE(journal);
  }
  chmod(dir_.path().c_str(), 0755);
  chmod(ro.c_str(), 0555);
  chmod(DbPath().c_str(), 0444);
  auto check = [&]() -> int {
    auto j = OpenSqliteJournal(ro + "/journal.db");
    if (j || j.error().message.find("not writable") == std::string::npos) return 10;
    auto readonly = OpenSqliteJournal(DbPath());
    if (readonly) return 11;
    if (readonly.error().message.find(DbPath()) == std::string::npos) return 12;
    if (readonly.error().message.find("not writable") == std::string::npos) return 13;
    return 0;
  };
  int result;
  if (geteuid() != 0) {
    result = check();
  } else {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      if (setgid(65534) != 0 || setuid(65534) != 0) _exit(20);
      _exit(check());
    }
    int status = 0;
    waitpid(pid, &status, 0);
    result = WIFEXITED(status) ? WEXITSTATUS(status) : 100;
  }
  chmod(ro.c_str(), 0755);
  chmod(DbPath().c_str(), 0644);
  EXPECT_EQ(result, 0) << "10: unwritable dir accepted or unclear error; 11-13: read-only "
                          "journal file accepted or error without path / reason";
}

// Issue 14, point 2: no journal file is memory-mapped (WAL's -shm index was: made
// immutable, a write into it killed the process with SIGBUS).
TEST_F(JournalTest, UsesARollbackJournalSynchronousFullNoMmapAndAVersionedSchema) {
  sqlite3* conn = nullptr;
  auto journal = OpenCapturing(DbPath(), &conn);
  ASSERT_TRUE(journal && conn);
  EXPECT_EQ(PragmaOn(conn, "PRAGMA synchronous"), "2");  // FULL
  EXPECT_EQ(PragmaOn(conn, "PRAGMA foreign_keys"), "1");
  EXPECT_NE(PragmaOn(conn, "PRAGMA busy_timeout"), "0");
  EXPECT_EQ(PragmaOn(conn, "PRAGMA cache_size"), "-16384");  // 16 MiB, not 2 MB
  ASSERT_TRUE(journal->Accept(MakeWebhook(), {MakeExecution("e1", "k1")}));
  EXPECT_EQ(PragmaOn(conn, "PRAGMA mmap_size"), "0");
  EXPECT_FALSE(std::filesystem::exists(DbPath() + "-shm"));
  EXPECT_FALSE(std::filesystem::exists(DbPath() + "-wal"));
  EXPECT_EQ(PragmaOn(conn, "PRAGMA journal_mode"), "persist");  // per connection
  RawDb raw(DbPath());
  EXPECT_NE(raw.Query("PRAGMA journal_mode"), "wal");  // a WAL (mmapped -shm) is gone for good
  EXPECT_EQ(raw.Query("PRAGMA user_version"), "3");
}

TEST_P(JournalBackendTest, ExportsEveryRecordAsJsonLinesOldestFirst) {
  auto journal = OpenBackend();
  ASSERT_TRUE(journal);
  WebhookRecord w = MakeWebhook(R"({"version":"4","status":"firing"})");
  w.received_at = kT0 + 100;
  ASSERT_TRUE(journal->Accept(w, {MakeExecution("late", "k-late", kT0 + 100)}));
  ExecutionRecord early = MakeExecution("early", "k-early", kT0);
  early.trigger = ExecTrigger::kApi;
  ASSERT_TRUE(journal->Insert(early));
  StepRecord s;
  s.execution_id = "early";
  s.phase = "main";
  s.kind = "wait";
  s.state = "ok";
  s.started_at = kT0 + 5;
  s.details = {{"output", std::string("bad utf8 \xff\xfe here")}};
  ASSERT_TRUE(journal->PutStep(s));
  ASSERT_TRUE(journal->AddEvent({"early", kT0 + 1, "accepted", "by api"}));
  ASSERT_TRUE(journal->AddEvent({"late", kT0 + 101, "guard", "true"}));

  auto lines = Export(*journal);
  std::vector<std::string> order;
  for (const auto& l : lines) {
    ASSERT_TRUE(l.contains("type")) << l.dump();
    std::string type = l["type"];
    if (type == "webhook") {
      order.push_back(type);
    } else {
      order.push_back(type + ":" + l.value("execution_id", l.value("id", std::string())));
    }
  }
  ASSERT_EQ(lines.size(), 7u);
  EXPECT_EQ(order,
            (std::vector<std::string>{"execution:early", "event:early", "step:early", "webhook",
                                      "execution:late", "event:late", "event:late"}));
  const json& webhook = lines[3];
  EXPECT_EQ(webhook["body"], w.body);
  EXPECT_EQ(webhook["group_key"], w.group_key);
  EXPECT_EQ(webhook["received_time"], "2027-01-15T08:01:40.000Z");
  EXPECT_EQ(lines[4]["webhook_id"], webhook["id"]);
  EXPECT_TRUE(lines[0]["webhook_id"].is_null());  // an API run
  EXPECT_EQ(lines[0]["trigger"], "api");
  EXPECT_EQ(lines[2]["kind"], "wait");
  EXPECT_NE(lines[2]["details"]["output"].get<std::string>().find("here"), std::string::npos);
}

TEST(JournalJsonTest, ExecutionFieldsAndTimes) {
  ExecutionRecord e = MakeExecution("e1", "k1", kT0 + 0.25);
  e.updated_at = kT0 + 61;
  e.labels["quote"] = "\"q\"";
  json j = ToJson(e);
  EXPECT_EQ(j["id"], "e1");
  EXPECT_EQ(j["dedup_key"], "k1");
  EXPECT_EQ(j["runbook"], "failover-us-east");
  EXPECT_EQ(j["trigger"], "webhook");
  EXPECT_EQ(j["mode"], "auto");
  EXPECT_EQ(j["state"], "queued");
  EXPECT_EQ(j["phase"], "main");
  EXPECT_EQ(j["next_step"], 0);
  EXPECT_TRUE(j["labels"].is_object());
  EXPECT_EQ(j["labels"]["quote"], "\"q\"");
  EXPECT_EQ(j["annotations"]["summary"], "us-east is down");
  EXPECT_EQ(j["alert_status"], "firing");
  EXPECT_EQ(j["fingerprint"], "0123456789abcdef");
  EXPECT_EQ(j["starts_at"], "2027-01-15T07:59:00Z");
  EXPECT_EQ(j["created_at"], kT0 + 0.25);
  EXPECT_EQ(j["created_time"], "2027-01-15T08:00:00.250Z");
  EXPECT_EQ(j["updated_time"], "2027-01-15T08:01:01.000Z");
  EXPECT_EQ(j["finished_at"], 0);
  EXPECT_FALSE(j.contains("finished_time"));  // not finished
  EXPECT_EQ(j["message"], "");
  EXPECT_EQ(j["resumes"], 0);
  EXPECT_EQ(j["approved"], false);
  EXPECT_EQ(j["requested_by"], "");
}

TEST(JournalJsonTest, StepAndEventFields) {
  StepRecord s;
  s.execution_id = "e1";
  s.phase = "on_failure";
  s.index = 2;
  s.kind = "pagerduty";
  s.state = "retrying";
  s.attempts = 3;
  s.rendered = {{"severity", "critical"}};
  s.message = "429";
  s.started_at = kT0 + 1.5;
  json j = ToJson(s);
  EXPECT_EQ(j["execution_id"], "e1");
  EXPECT_EQ(j["phase"], "on_failure");
  EXPECT_EQ(j["index"], 2);
  EXPECT_EQ(j["kind"], "pagerduty");
  EXPECT_EQ(j["state"], "retrying");
  EXPECT_EQ(j["attempts"], 3);
  EXPECT_EQ(j["rendered"]["severity"], "critical");
  EXPECT_EQ(j["message"], "429");
  EXPECT_TRUE(j["details"].is_object());
  EXPECT_EQ(j["started_time"], "2027-01-15T08:00:01.500Z");
  EXPECT_FALSE(j.contains("finished_time"));

  json ev = ToJson(EventRecord{"e1", kT0, "resumed", "from step 2"});
  EXPECT_EQ(ev["execution_id"], "e1");
  EXPECT_EQ(ev["at"], kT0);
  EXPECT_EQ(ev["time"], "2027-01-15T08:00:00.000Z");
  EXPECT_EQ(ev["kind"], "resumed");
  EXPECT_EQ(ev["message"], "from step 2");
}

TEST(JournalStateTest, TerminalStates) {
  for (ExecState s : {ExecState::kSucceeded, ExecState::kFailed, ExecState::kRefused,
                      ExecState::kSuppressed, ExecState::kDryRun}) {
    EXPECT_TRUE(IsTerminalState(s)) << s;
  }
  for (ExecState s : {ExecState::kQueued, ExecState::kPendingApproval, ExecState::kRunning}) {
    EXPECT_FALSE(IsTerminalState(s)) << s;
  }
}

}  // namespace
}  // namespace failover

namespace failover {
namespace {

// Issue 14, point 5: a webhook's candidates are one Accept however many (etcd: in batches
// of what one txn takes), each with its first event; an id that exists is reported as such
// (the engine draws a new one) and writes nothing.
// Mode, state, trigger and phase are stored as their wire strings (what older versions
// wrote, so their records load); a string this version does not know is a clear error.
TEST_F(JournalTest, ExecutionEnumsAreStoredAsWireStringsAndUnknownOnesAreRefused) {
  auto journal = Open(DbPath());
  ASSERT_TRUE(journal);
  ExecutionRecord e = MakeExecution("e1", "k1");
  e.trigger = ExecTrigger::kApi;
  e.mode = ExecMode::kDryRun;
  e.state = ExecState::kDryRun;
  e.phase = ExecPhase::kOnFailure;
  ASSERT_TRUE(journal->Insert(e));
  RawDb raw(DbPath());
  const std::string row = " WHERE id = 'e1'";
  EXPECT_EQ(raw.Query("SELECT \"trigger\" || ' ' || mode || ' ' || state || ' ' || phase FROM "
                      "executions" +
                      row),
            "api dry-run dry_run on_failure");

  // As an older version wrote them.
  ASSERT_EQ(raw.Exec("UPDATE executions SET \"trigger\" = 'region_agent', mode = 'approve', "
                     "state = 'pending_approval', phase = 'main' WHERE id = 'e1'"),
            SQLITE_OK);
  auto old = journal->Get("e1");
  ASSERT_TRUE(old && *old) << (old ? "" : old.error().message);
  EXPECT_EQ((*old)->trigger, ExecTrigger::kRegionAgent);
  EXPECT_EQ((*old)->mode, ExecMode::kApprove);
  EXPECT_EQ((*old)->state, ExecState::kPendingApproval);
  EXPECT_EQ((*old)->phase, ExecPhase::kMain);

  for (const char* column : {"state", "mode", "\"trigger\"", "phase"}) {
    ASSERT_EQ(raw.Exec(std::string("UPDATE executions SET ") + column + " = 'finished'" + row),
              SQLITE_OK);
    auto got = journal->Get("e1");
    ASSERT_FALSE(got) << column;
    EXPECT_NE(got.error().message.find("\"finished\""), std::string::npos) << got.error().message;
    auto listed = journal->List(ExecutionQuery{});
    EXPECT_FALSE(listed) << column;
    ASSERT_EQ(raw.Exec("UPDATE executions SET \"trigger\" = 'webhook', mode = 'auto', state = "
                       "'queued', phase = 'main' WHERE id = 'e1'"),
              SQLITE_OK);
    ASSERT_TRUE(journal->Get("e1"));
  }
}

// Whoever refuses a write for a lost lock sets ErrorCode::kLostLock; the text is free.
TEST(JournalLostLockTest, RecognisedByItsCodeNotItsMessage) {
  EXPECT_TRUE(
      IsLostLock({ErrorCode::kLostLock, "fenced out: another actuator holds scope default"}));
  EXPECT_FALSE(IsLostLock(
      {ErrorCode::kUnavailable, std::string("etcd answered: ") + kLostLockMessage, true}));
}

TEST_P(JournalBackendTest, AcceptOfABigGroupWritesEveryExecutionWithItsFirstEvent) {
  auto journal = OpenBackend();
  ASSERT_TRUE(journal);
  std::vector<ExecutionRecord> group;
  for (int i = 0; i < 200; ++i) {
    auto e = MakeExecution("big-" + std::to_string(i), "big-key-" + std::to_string(i));
    if (i % 2) {
      e.state = ExecState::kSuppressed;
      e.message = "within the cooldown";
    } else {
      e.message = "accepted from Alertmanager";
    }
    group.push_back(e);
  }
  auto r = journal->Accept(MakeWebhook(), group);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(std::count(r->begin(), r->end(), true), 200);
  ExecutionQuery q;
  q.limit = 1000;
  EXPECT_EQ(journal->List(q)->size(), 200u);
  auto ev0 = journal->Events("big-0");
  ASSERT_TRUE(ev0 && ev0->size() == 1);
  EXPECT_EQ((*ev0)[0].kind, "accepted");
  EXPECT_EQ((*ev0)[0].message, "accepted from Alertmanager");
  auto ev1 = journal->Events("big-1");
  ASSERT_TRUE(ev1 && ev1->size() == 1);
  EXPECT_EQ((*ev1)[0].kind, "suppressed");

  auto clash = journal->Accept(MakeWebhook(), {MakeExecution("big-7", "a-new-key")});
  ASSERT_FALSE(clash);
  EXPECT_NE(clash.error().message.find(kIdExistsMessage), std::string::npos)
      << clash.error().message;
  EXPECT_EQ(journal->List(q)->size(), 200u);
}

// Issue 14, point 7 (retention): Prune removes webhooks and finished executions (with
// their steps and events) older than the cut-off, at most N per call, and never a queued,
// running or pending one, however old.
TEST_P(JournalBackendTest, PruneRemovesOldFinishedRecordsNeverUnfinishedOnes) {
  auto journal = OpenBackend();
  ASSERT_TRUE(journal);
  std::vector<ExecState> states = {ExecState::kSucceeded, ExecState::kFailed,
                                   ExecState::kRefused,   ExecState::kRunning,
                                   ExecState::kQueued,    ExecState::kPendingApproval};
  for (size_t i = 0; i < states.size(); ++i) {
    std::string id = std::string("old-") + ToString(states[i]);
    ASSERT_TRUE(journal->Accept(MakeWebhook(), {MakeExecution(id, "k-" + id, kT0)}));
    ExecutionRecord e = MakeExecution(id, "k-" + id, kT0);
    e.state = states[i];
    if (IsTerminalState(e.state)) e.finished_at = kT0 + 10;
    ASSERT_TRUE(journal->Update(e));
    StepRecord s;
    s.execution_id = id;
    s.phase = "main";
    s.kind = "exec";
    s.state = "ok";
    ASSERT_TRUE(journal->PutStep(s));
    ASSERT_TRUE(journal->AddEvent({id, kT0 + 5, "step", "ok"}));
  }
  WebhookRecord recent = MakeWebhook();
  recent.received_at = kT0 + 1000;
  ExecutionRecord fresh = MakeExecution("fresh", "k-fresh", kT0 + 1000);
  ASSERT_TRUE(journal->Accept(recent, {fresh}));
  fresh.state = ExecState::kSucceeded;
  fresh.finished_at = kT0 + 1001;
  ASSERT_TRUE(journal->Update(fresh));

  // At most 2 executions per pass; the cut-off lies between the old and the fresh records.
  auto first = journal->Prune(kT0 + 500, 2);
  ASSERT_TRUE(first) << first.error().message;
  auto rest = journal->Prune(kT0 + 500, 1000);
  ASSERT_TRUE(rest) << rest.error().message;
  EXPECT_EQ(*first + *rest, 3 + 3) << "three old finished executions and their webhooks";
  auto again = journal->Prune(kT0 + 500, 1000);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 0);

  ExecutionQuery q;
  q.limit = 100;
  std::set<std::string> left;
  for (const auto& e : *journal->List(q)) left.insert(e.id);
  EXPECT_EQ(left,
            (std::set<std::string>{"old-running", "old-queued", "old-pending_approval", "fresh"}));
  EXPECT_TRUE(journal->Steps("old-succeeded")->empty());
  EXPECT_TRUE(journal->Events("old-succeeded")->empty());
  EXPECT_EQ(journal->Steps("old-running")->size(), 1u);
  EXPECT_EQ(journal->Events("old-running")->size(), 2u);
  int webhooks = 0;
  std::ostringstream out;
  ASSERT_TRUE(journal->ExportJsonLines(out));
  std::istringstream in(out.str());
  for (std::string line; std::getline(in, line);) {
    webhooks += json::parse(line)["type"] == "webhook" ? 1 : 0;
  }
  EXPECT_EQ(webhooks, 4) << "the webhooks of the unfinished executions and the fresh one stay";
  // A pruned execution's dedup key is kept: Alertmanager resending that alert runs nothing.
  auto resend = journal->Accept(MakeWebhook(), {MakeExecution("new", "k-old-succeeded")});
  ASSERT_TRUE(resend) << resend.error().message;
  EXPECT_EQ(*resend, std::vector<bool>{false});
}

}  // namespace
}  // namespace failover
