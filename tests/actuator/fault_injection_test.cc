// Faults injected around the real failover_actuator binary, asserted on what an operator
// sees: the execution's state and steps in the API, the journal export, PagerDuty's pages
// and the side effects of the runbook's steps.
//
//   - a DNS provider that answers 500, 429 with Retry-After, hangs, or drops the
//     connection: the step retries within its deadline, fails, on_failure runs, PagerDuty
//     gets the provider's error, the journal holds the failed step; nothing was written;
//   - Prometheus unreachable during a guard: no step runs, refused, paged;
//   - the journal read-only (chattr +i, which binds root too) or its disk full (a small
//     tmpfs): the webhook answers 503 and nothing is accepted; after recovery the same webhook is
//     accepted and runs once;
//   - SIGKILL at every step boundary of a 4-step runbook: the execution finishes exactly
//     once after a restart, only the interrupted step runs twice, the journal shows the
//     resume.
// See docs/reliability.md.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "common/http_client.h"
#include "tests/support/fake_cloudflare.h"
#include "tests/support/fake_pagerduty.h"
#include "tests/support/stack.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_http_server.h"
#include "tests/support/wait.h"
#include "tests/support/webhook_payload.h"

namespace failover {
namespace {

using nlohmann::json;
using std::chrono::seconds;
using testing::Binary;
using testing::CountLines;
using testing::FakeCloudflare;
using testing::FakePagerDuty;
using testing::ReadFile;
using testing::RunShell;
using testing::Subprocess;
using testing::TempDir;
using testing::TestHttpServer;
using testing::WaitFor;

constexpr const char* kWebhookToken = "wh-T0KEN-faults-77aa";
constexpr const char* kAdminToken = "adm-T0KEN-faults-88bb";

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// An Alertmanager webhook; `annotation_bytes` pads it with a large annotation.
std::string Payload(size_t annotation_bytes = 0) {
  return testing::RegionDownWebhook({.starts_at = "2026-11-22T03:00:00Z",
                                     .fingerprint = "9c1d0b7e4a553f2a",
                                     .annotation_bytes = annotation_bytes});
}

// One failover_actuator process on a config in `dir`, restartable.
class Actuator {
 public:
  Actuator(const TempDir& dir, const std::string& runbooks_yaml, const std::string& extra = "",
           const std::string& journal = "")
      : dir_(dir.path()) {
    dir.Write("webhook.token", kWebhookToken);
    dir.Write("admin.token", kAdminToken);
    dir.Write("pd.key", FakePagerDuty::kRoutingKey);
    config_path_ = dir.Write("actuator.yml",
                             "webhook: {bearer_token_file: " + dir_ +
                                 "/webhook.token}\n"
                                 "api: {bearer_token_file: " +
                                 dir_ + "/admin.token}\n" +
                                 "journal: " + (journal.empty() ? dir_ + "/journal.db" : journal) +
                                 "\n" + extra + runbooks_yaml);
  }

  void Start() {
    proc_ = std::make_unique<Subprocess>(
        std::vector<std::string>{Binary("failover_actuator"), "--config.file=" + config_path_,
                                 "--web.listen-address=127.0.0.1:0", "--log.level=debug"},
        dir_);
    port_ = testing::WaitForListeningPort(*proc_);
    ASSERT_NE(port_, 0) << proc_->Stderr();
  }
  void Kill() {
    proc_->Signal(SIGKILL);
    proc_->Wait();
  }
  int Stop() {
    proc_->Signal(SIGTERM);
    return proc_->Wait().value_or(-1000);
  }
  Subprocess& proc() { return *proc_; }

  Result<HttpResponse> Call(const std::string& method, const std::string& path,
                            const std::string& body = "", const std::string& token = "") {
    HttpRequest req;
    req.method = method;
    req.url = "http://127.0.0.1:" + std::to_string(port_) + path;
    req.body = body;
    req.timeout = seconds(10);
    if (!token.empty()) req.headers.emplace_back("Authorization", "Bearer " + token);
    req.headers.emplace_back("Content-Type", "application/json");
    return CurlHttpClient().Send(req);
  }
  // POST /webhook: the status code, and the execution ids when accepted.
  int Webhook(std::string* id = nullptr, const std::string& payload = Payload()) {
    auto r = Call("POST", "/webhook", payload, kWebhookToken);
    if (!r) return -1;
    if (r->status == 202 && id != nullptr) {
      auto j = json::parse(r->body);
      if (!j["executions"].empty()) *id = j["executions"][0];
    }
    return r->status;
  }
  json Execution(const std::string& id) {
    auto r = Call("GET", "/api/v1/executions/" + id, "", kAdminToken);
    return r && r->status == 200 ? json::parse(r->body) : json();
  }
  json Executions() {
    auto r = Call("GET", "/api/v1/executions", "", kAdminToken);
    return r && r->status == 200 ? json::parse(r->body)["executions"] : json();
  }
  // `failover_actuator journal export`, one JSON document per line.
  std::vector<json> Export() {
    auto out = Subprocess::Run(
        {Binary("failover_actuator"), "journal", "export", "--config.file=" + config_path_}, dir_);
    EXPECT_EQ(out.status, 0) << out.err;
    std::vector<json> lines;
    std::istringstream in(out.out);
    for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
    return lines;
  }

 private:
  std::string dir_, config_path_;
  std::unique_ptr<Subprocess> proc_;
  int port_ = 0;
};

std::string Exec(const std::string& shell) {
  json argv = {"/bin/sh", "-c", shell};
  return "{argv: " + argv.dump() + "}";
}

// ---- a DNS provider fails during a runbook ----------------------------------------------

enum class ProviderFault { k500, k429, kHang, kDrop };

std::string FaultName(const ::testing::TestParamInfo<ProviderFault>& info) {
  switch (info.param) {
    case ProviderFault::k500:
      return "Http500";
    case ProviderFault::k429:
      return "Http429RetryAfter";
    case ProviderFault::kHang:
      return "Hangs";
    case ProviderFault::kDrop:
      return "DropsConnection";
  }
  return "";
}

// For gtest's (and ctest's) test names.
void PrintTo(ProviderFault f, std::ostream* os) {
  *os << FaultName(::testing::TestParamInfo<ProviderFault>(f, 0));
}

class DnsProviderFaultTest : public ::testing::TestWithParam<ProviderFault> {};

TEST_P(DnsProviderFaultTest, StepRetriesFailsRunsOnFailurePagesAndIsJournaled) {
  TempDir dir;
  const std::string& d = dir.path();
  FakeCloudflare cf;
  FakePagerDuty pd;
  TestHttpServer broken;  // for the hang and the dropped connection
  cf.AddRecord({0, "A", "www.example.com", "127.0.0.2", 60});
  dir.Write("cf.token", cf.token());

  std::string url = cf.base_url();
  std::string expected;  // what the step's error, the page and the journal must say
  std::string timeout = "1s";
  switch (GetParam()) {
    case ProviderFault::k500:
      cf.FailNext(1000, 500);
      expected = "HTTP 500";
      break;
    case ProviderFault::k429:
      // Waited out once within the 2s deadline, the second one reaches past it.
      cf.FailNext(1000, 429, 1);
      expected = "HTTP 429";
      timeout = "2s";
      break;
    case ProviderFault::kHang:
      url = broken.url("/hang/client/v4");
      expected = "timed out";
      break;
    case ProviderFault::kDrop:
      url = broken.url("/drop/client/v4");
      expected = "Empty reply from server";
      break;
  }
  Actuator a(dir,
             "runbooks:\n"
             "  - name: switch-www\n"
             "    match: {alertname: RegionDown}\n"
             "    steps:\n"
             "      - dns_update: {provider: cf, zone: example.com., name: www.example.com., "
             "type: A, records: [127.0.0.3], ttl: 60, timeout: " +
                 timeout + ", retries: 2, backoff: 100ms}\n" +
                 "      - exec: " + Exec("echo after >> " + d + "/after.log") +
                 "\n"
                 "    on_failure:\n"
                 "      - exec: " +
                 Exec("echo {{execution_id}} >> " + d + "/on_failure.log") + "\n",
             "pagerduty: {routing_key_file: " + d + "/pd.key, url: \"" + pd.url() +
                 "\"}\n"
                 "providers:\n"
                 "  cf: {cloudflare: {api_token_file: " +
                 d + "/cf.token, zone_id: " + FakeCloudflare::kZoneId + ", url: \"" + url +
                 "\"}}\n");
  a.Start();
  std::string id;
  ASSERT_EQ(a.Webhook(&id), 202);
  ASSERT_TRUE(WaitFor([&] { return a.Execution(id)["state"] == "failed"; }, seconds(60)))
      << a.Execution(id).dump(2) << a.proc().Stderr();
  json e = a.Execution(id);

  // The step was retried (three attempts: retries: 2), then failed with the provider's error.
  ASSERT_EQ(e["steps"].size(), 2u) << e.dump(2);
  const json& step = e["steps"][0];
  EXPECT_EQ(step["kind"], "dns_update");
  EXPECT_EQ(step["state"], "failed");
  EXPECT_EQ(step["attempts"], 3);
  EXPECT_TRUE(Contains(step["message"], expected)) << step.dump(2);
  EXPECT_TRUE(Contains(e["message"], expected)) << e.dump(2);
  int retries_logged = 0;
  for (const auto& ev : e["events"]) {
    retries_logged += Contains(ev["message"], "failed (retrying in") ? 1 : 0;
  }
  EXPECT_EQ(retries_logged, 2) << e.dump(2);
  switch (GetParam()) {
    case ProviderFault::k429:
      // Retry-After was honoured inside each attempt before the deadline ended it.
      EXPECT_GE(cf.Faulted(), 6);
      EXPECT_TRUE(Contains(step["message"], "Retry-After 1s reaches past the step's deadline"))
          << step.dump(2);
      break;
    case ProviderFault::k500:
      EXPECT_EQ(cf.Faulted(), 3);
      break;
    case ProviderFault::kHang:
    case ProviderFault::kDrop:
      EXPECT_EQ(broken.TotalRequests(), 3);
      break;
  }

  // Nothing half-applied: the provider holds what it held, the next step never ran.
  EXPECT_EQ(cf.Writes(), 0);
  auto records = cf.Find("www.example.com", "A");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].content, "127.0.0.2");
  EXPECT_EQ(ReadFile(d + "/after.log"), "") << "a step after the failed one ran";

  // on_failure ran once.
  EXPECT_EQ(ReadFile(d + "/on_failure.log"), id + "\n");
  EXPECT_EQ(e["steps"][1]["phase"], "on_failure");
  EXPECT_EQ(e["steps"][1]["state"], "ok");

  // PagerDuty has the escalation, naming the provider's error.
  ASSERT_TRUE(WaitFor([&] { return !pd.Events().empty(); })) << a.proc().Stderr();
  auto events = pd.Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].body["dedup_key"], "failover/" + id);
  EXPECT_EQ(events[0].body["payload"]["severity"], "critical");
  std::string summary = events[0].body["payload"]["summary"];
  EXPECT_TRUE(Contains(summary, "switch-www failed")) << summary;
  EXPECT_TRUE(Contains(summary, expected)) << summary;

  // The journal export has the failed step with the error, and the failed execution.
  EXPECT_EQ(a.Stop(), 0);
  bool step_journaled = false, execution_journaled = false;
  for (const json& line : a.Export()) {
    if (line["type"] == "step" && line["kind"] == "dns_update") {
      step_journaled =
          line["state"] == "failed" && line["attempts"] == 3 && Contains(line["message"], expected);
    }
    if (line["type"] == "execution" && line["id"] == id) {
      execution_journaled = line["state"] == "failed";
    }
  }
  EXPECT_TRUE(step_journaled);
  EXPECT_TRUE(execution_journaled);
}

INSTANTIATE_TEST_SUITE_P(Faults, DnsProviderFaultTest,
                         ::testing::Values(ProviderFault::k500, ProviderFault::k429,
                                           ProviderFault::kHang, ProviderFault::kDrop),
                         FaultName);

// ---- Prometheus unreachable while a guard is evaluated -----------------------------------

TEST(GuardFaultTest, UnreachablePrometheusRefusesRunsNoStepAndPages) {
  TempDir dir;
  const std::string& d = dir.path();
  FakePagerDuty pd;
  Actuator a(dir,
             "runbooks:\n"
             "  - name: switch-www\n"
             "    match: {alertname: RegionDown}\n"
             "    guards:\n"
             "      - promql: 'min(failover_probe_success{region=\"eu-west\"}) == 1'\n"
             "        message: DR region must be healthy\n"
             "    steps:\n"
             "      - exec: " +
                 Exec("echo ran >> " + d + "/step.log") + "\n",
             "prometheus: {url: \"http://127.0.0.1:" + std::to_string(testing::ClosedPort()) +
                 "\", timeout: 2s}\n"
                 "pagerduty: {routing_key_file: " +
                 d + "/pd.key, url: \"" + pd.url() + "\"}\n");
  a.Start();
  std::string id;
  ASSERT_EQ(a.Webhook(&id), 202);
  ASSERT_TRUE(WaitFor([&] { return a.Execution(id)["state"] == "refused"; }))
      << a.Execution(id).dump(2) << a.proc().Stderr();
  json e = a.Execution(id);
  EXPECT_TRUE(Contains(e["message"], "cannot evaluate guard")) << e.dump(2);
  EXPECT_TRUE(Contains(e["message"], "DR region must be healthy")) << e.dump(2);
  EXPECT_TRUE(e["steps"].empty()) << e.dump(2);
  EXPECT_EQ(ReadFile(d + "/step.log"), "") << "a step ran although the guard could not be read";
  ASSERT_TRUE(WaitFor([&] { return !pd.Events().empty(); }));
  std::string summary = pd.Events()[0].body["payload"]["summary"];
  EXPECT_TRUE(Contains(summary, "refused to act")) << summary;
  EXPECT_TRUE(Contains(summary, "cannot evaluate guard")) << summary;
  auto metrics = a.Call("GET", "/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_TRUE(Contains(metrics->body,
                       "failover_actuator_executions_total{result=\"refused\",runbook=\"switch-"
                       "www\"} 1") ||
              Contains(metrics->body,
                       "failover_actuator_executions_total{runbook=\"switch-www\",result="
                       "\"refused\"} 1"))
      << metrics->body;
  EXPECT_EQ(a.Stop(), 0);
}

// ---- the journal cannot be written ------------------------------------------------------

// Makes the journal unwritable for root too, and undoes it in Recover() or the destructor.
//   kReadOnly: chattr +i on the database and its WAL: writes fail with EPERM, even through
//              descriptors opened before (needs a file system with the attribute: ext4, xfs).
//   kDiskFull: the journal lives on a small tmpfs mounted for the test; a filler file takes
//              every free block.
enum class JournalFault { kReadOnly, kDiskFull };

class BrokenJournal {
 public:
  BrokenJournal(JournalFault fault, std::string dir) : fault_(fault), dir_(std::move(dir)) {}
  ~BrokenJournal() {
    Recover();
    if (mounted_) RunShell("umount -l '" + dir_ + "'");
  }
  // Prepares `dir_` before the actuator starts; "" or why the fault cannot be made here.
  std::string Prepare() {
    if (fault_ != JournalFault::kDiskFull) return "";
    if (RunShell("mkdir -p '" + dir_ + "' && mount -t tmpfs -o size=4m tmpfs '" + dir_ +
                 "' 2>/dev/null") != 0) {
      return "cannot mount a tmpfs (needs root / CAP_SYS_ADMIN)";
    }
    mounted_ = true;
    return "";
  }
  std::string Break() {
    if (fault_ == JournalFault::kDiskFull) {
      // dd stops at ENOSPC.
      RunShell("dd if=/dev/zero of='" + dir_ + "/filler' bs=64k 2>/dev/null");
      std::string df;
      RunShell("df --output=avail -B1 '" + dir_ + "' | tail -1", &df);
      return std::atoll(df.c_str()) == 0 ? "" : "the tmpfs did not fill up: " + df;
    }
    for (const char* f :
         {"/journal.db", "/journal.db-wal", "/journal.db-shm", "/journal.db-journal"}) {
      std::string path = dir_ + f;
      if (access(path.c_str(), F_OK) != 0) continue;
      if (RunShell("chattr +i '" + path + "' 2>/dev/null") != 0) {
        return "chattr +i does not work on " + dir_ + " (needs ext4/xfs and root)";
      }
      immutable_.push_back(path);
    }
    return immutable_.empty() ? "no journal file to make read-only" : "";
  }
  void Recover() {
    for (const auto& p : immutable_) RunShell("chattr -i '" + p + "'");
    immutable_.clear();
    if (mounted_) std::remove((dir_ + "/filler").c_str());
  }

 private:
  JournalFault fault_;
  std::string dir_;
  bool mounted_ = false;
  std::vector<std::string> immutable_;
};

void PrintTo(JournalFault f, std::ostream* os) {
  *os << (f == JournalFault::kReadOnly ? "ReadOnly" : "DiskFull");
}

class JournalFaultTest : public ::testing::TestWithParam<JournalFault> {};

TEST_P(JournalFaultTest, WebhookAnswers503AcceptsNothingThenTheRetryRunsOnce) {
  TempDir dir;
  const std::string& d = dir.path();
  BrokenJournal broken(GetParam(), d + "/journal");
  std::string why = broken.Prepare();
  ASSERT_TRUE(why.empty()) << "cannot inject the journal fault: " << why;
  Actuator a(dir,
             "runbooks:\n"
             "  - name: switch-www\n"
             "    match: {alertname: RegionDown}\n"
             "    steps:\n"
             "      - exec: " +
                 Exec("echo ran >> " + d + "/step.log") + "\n",
             "", d + "/journal/journal.db");
  RunShell("mkdir -p '" + d + "/journal'");
  a.Start();
  // A large alert (an annotation of 256 KiB): the journal must grow to take it.
  const std::string payload = Payload(256 * 1024);
  {
    why = broken.Break();
    ASSERT_TRUE(why.empty()) << "cannot inject the journal fault: " << why;
    // Alertmanager's attempts all get 503: retry later; nothing is accepted.
    EXPECT_EQ(a.Webhook(nullptr, payload), 503) << a.proc().Stderr();
    EXPECT_EQ(a.Webhook(nullptr, payload), 503);
    EXPECT_TRUE(Contains(a.proc().Stderr(), "cannot journal the webhook")) << a.proc().Stderr();
    EXPECT_TRUE(a.proc().Running()) << "the actuator died of it";
    broken.Recover();
  }
  EXPECT_EQ(ReadFile(d + "/step.log"), "") << "something ran that was never accepted";
  EXPECT_TRUE(a.Executions().empty()) << a.Executions().dump(2);

  // The journal is writable again: Alertmanager's next retry is accepted and runs once.
  std::string id;
  ASSERT_EQ(a.Webhook(&id, payload), 202) << a.proc().Stderr();
  ASSERT_TRUE(WaitFor([&] { return a.Execution(id)["state"] == "succeeded"; }))
      << a.Execution(id).dump(2);
  auto again = a.Call("POST", "/webhook", payload, kWebhookToken);
  ASSERT_TRUE(again);
  EXPECT_EQ(json::parse(again->body)["deduplicated"], 1) << again->body;
  EXPECT_EQ(ReadFile(d + "/step.log"), "ran\n");
  EXPECT_EQ(a.Executions().size(), 1u);
  auto metrics = a.Call("GET", "/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_TRUE(Contains(metrics->body, "failover_actuator_webhook_requests_total{code=\"503\"} 2"))
      << metrics->body;
  EXPECT_EQ(a.Stop(), 0);
  int webhooks = 0;
  for (const json& line : a.Export()) webhooks += line["type"] == "webhook" ? 1 : 0;
  EXPECT_EQ(webhooks, 2) << "the two accepted webhooks, none of the refused ones";
}

INSTANTIATE_TEST_SUITE_P(Faults, JournalFaultTest,
                         ::testing::Values(JournalFault::kReadOnly, JournalFault::kDiskFull),
                         [](const ::testing::TestParamInfo<JournalFault>& info) {
                           return ::testing::PrintToString(info.param);
                         });

// ---- the journal becomes read-only while an execution runs --------------------------------

// Issue 14, point 2. Step 2 of 4 is running when the journal's files are made immutable
// (chattr +i, root too). Step 2 ends, but its end cannot be recorded: the execution stops
// advancing (step 3 never starts), retries the write with backoff (metrics, log), the API
// shows what the journal holds (step 2 running), the process stays up. Killed and
// restarted on a writable journal, it resumes at step 2 (the one step in flight runs
// again) and every other step ran exactly once.
TEST(JournalBreaksMidExecutionTest, NoStepRunsUntilRecordedAndARestartResumesOnce) {
  TempDir dir;
  const std::string& d = dir.path();
  RunShell("mkdir -p '" + d + "/journal'");
  BrokenJournal broken(JournalFault::kReadOnly, d + "/journal");
  std::string steps;
  for (int i = 1; i <= 4; ++i) {
    std::string n = std::to_string(i);
    std::string gate = i == 2 ? "while [ ! -f " + d + "/gate ]; do sleep 0.02; done" : "true";
    steps += "      - exec: {argv: [/bin/sh, -c, 'echo {{execution_id}} >> " + d + "/s" + n +
             ".log; " + gate + "'], timeout: 60s}\n";
  }
  Actuator a(dir,
             "runbooks:\n"
             "  - name: four-steps\n"
             "    match: {alertname: RegionDown}\n"
             "    steps:\n" +
                 steps,
             "", d + "/journal/journal.db");
  a.Start();
  std::string id;
  ASSERT_EQ(a.Webhook(&id), 202);
  ASSERT_TRUE(WaitFor([&] { return CountLines(d + "/s2.log") == 1; })) << a.proc().Stderr();
  std::string why = broken.Break();
  ASSERT_TRUE(why.empty()) << "cannot inject the journal fault: " << why;
  dir.Write("gate", "");  // step 2 ends now; its end cannot be recorded

  auto metric = [&](const std::string& name) {
    auto m = a.Call("GET", "/metrics");
    if (!m) return -1.0;
    std::smatch match;
    std::regex re("\n" + name + " ([0-9.e+]+)");
    return std::regex_search(m->body, match, re) ? std::stod(match[1]) : -1.0;
  };
  // Retried with backoff (100ms, 200ms, ...): five failed attempts take about 2 s.
  WaitFor(
      [&] {
        return CountLines(d + "/s3.log") > 0 ||
               metric("failover_actuator_journal_write_failures_total") >= 5;
      },
      seconds(30));
  ASSERT_EQ(ReadFile(d + "/s3.log"), "") << "step 3 ran while the journal could not record it";
  EXPECT_GE(metric("failover_actuator_journal_write_failures_total"), 5) << a.proc().Stderr();
  EXPECT_EQ(metric("failover_actuator_journal_failing"), 1);
  EXPECT_TRUE(a.proc().Running()) << "the actuator died of it";
  EXPECT_TRUE(Contains(a.proc().Stderr(), "journal write failed; the execution waits"))
      << a.proc().Stderr();
  json e = a.Execution(id);
  EXPECT_EQ(e["state"], "running") << e.dump(2);
  ASSERT_EQ(e["steps"].size(), 2u) << e.dump(2);
  EXPECT_EQ(e["steps"][1]["state"], "running") << "the API shows what the journal holds";

  a.Kill();
  broken.Recover();
  a.Start();
  ASSERT_TRUE(WaitFor([&] { return a.Execution(id)["state"] == "succeeded"; }))
      << a.Execution(id).dump(2) << a.proc().Stderr();
  EXPECT_EQ(ReadFile(d + "/s1.log"), id + "\n");
  EXPECT_EQ(ReadFile(d + "/s2.log"), id + "\n" + id + "\n") << "the step in flight, once more";
  EXPECT_EQ(ReadFile(d + "/s3.log"), id + "\n");
  EXPECT_EQ(ReadFile(d + "/s4.log"), id + "\n");
  EXPECT_EQ(a.Execution(id)["resumes"], 1);
  EXPECT_EQ(a.Stop(), 0);
}

// The same, and the journal comes back while the process still runs: the execution goes on
// by itself, nothing runs twice.
TEST(JournalBreaksMidExecutionTest, GoesOnWhenTheJournalIsWritableAgain) {
  TempDir dir;
  const std::string& d = dir.path();
  RunShell("mkdir -p '" + d + "/journal'");
  BrokenJournal broken(JournalFault::kReadOnly, d + "/journal");
  Actuator a(dir,
             "runbooks:\n"
             "  - name: three-steps\n"
             "    match: {alertname: RegionDown}\n"
             "    steps:\n"
             "      - exec: {argv: [/bin/sh, -c, 'echo x >> " +
                 d + "/s1.log; while [ ! -f " + d +
                 "/gate ]; do sleep 0.02; done'], timeout: 60s}\n"
                 "      - wait: {duration: 1s}\n"
                 "      - exec: " +
                 Exec("echo x >> " + d + "/s3.log") + "\n",
             "", d + "/journal/journal.db");
  a.Start();
  std::string id;
  ASSERT_EQ(a.Webhook(&id), 202);
  ASSERT_TRUE(WaitFor([&] { return CountLines(d + "/s1.log") == 1; })) << a.proc().Stderr();
  std::string why = broken.Break();
  ASSERT_TRUE(why.empty()) << "cannot inject the journal fault: " << why;
  dir.Write("gate", "");
  WaitFor([&] {
    return CountLines(d + "/s3.log") > 0 ||
           Contains(a.proc().Stderr(), "journal write failed; the execution waits");
  });
  ASSERT_EQ(ReadFile(d + "/s3.log"), "") << "step 3 ran while the journal could not record it";
  EXPECT_TRUE(Contains(a.proc().Stderr(), "journal write failed; the execution waits"))
      << a.proc().Stderr();
  broken.Recover();
  ASSERT_TRUE(WaitFor([&] { return a.Execution(id)["state"] == "succeeded"; }, seconds(30)))
      << a.Execution(id).dump(2) << a.proc().Stderr();
  EXPECT_EQ(ReadFile(d + "/s1.log"), "x\n");
  EXPECT_EQ(ReadFile(d + "/s3.log"), "x\n");
  EXPECT_EQ(a.Execution(id)["resumes"], 0);
  EXPECT_EQ(a.Stop(), 0);
}

// ---- SIGKILL at every step boundary -----------------------------------------------------

TEST(SigkillFaultTest, KillAtEveryStepOfAFourStepRunbookFinishesExactlyOnce) {
  constexpr int kSteps = 4;
  for (int k = 1; k <= kSteps; ++k) {
    SCOPED_TRACE("killed while step " + std::to_string(k) + " runs");
    TempDir dir;
    const std::string& d = dir.path();
    // Step i records that it ran, then waits for its gate; only step k's gate is closed.
    std::string steps;
    for (int i = 1; i <= kSteps; ++i) {
      std::string n = std::to_string(i);
      steps += "      - exec: {argv: [/bin/sh, -c, 'echo {{execution_id}} >> " + d + "/s" + n +
               ".log; while [ ! -f " + d + "/gate" + n +
               " ]; do sleep 0.02; done'], timeout: 60s}\n";
      if (i != k) dir.Write("gate" + n, "");
    }
    Actuator a(dir,
               "runbooks:\n"
               "  - name: four-steps\n"
               "    match: {alertname: RegionDown}\n"
               "    steps:\n" +
                   steps);
    a.Start();
    std::string id;
    ASSERT_EQ(a.Webhook(&id), 202);
    std::string sk = d + "/s" + std::to_string(k) + ".log";
    ASSERT_TRUE(WaitFor([&] { return CountLines(sk) == 1; })) << a.proc().Stderr();
    // The journal says: steps before k finished, step k started.
    json before = a.Execution(id);
    ASSERT_EQ(before["steps"].size(), static_cast<size_t>(k)) << before.dump(2);
    for (int i = 0; i < k - 1; ++i) EXPECT_EQ(before["steps"][i]["state"], "ok");
    EXPECT_EQ(before["steps"][k - 1]["state"], "running");
    a.Kill();

    dir.Write("gate" + std::to_string(k), "");
    a.Start();
    ASSERT_TRUE(WaitFor([&] { return a.Execution(id)["state"] == "succeeded"; }))
        << a.Execution(id).dump(2) << a.proc().Stderr();
    json e = a.Execution(id);
    for (int i = 1; i <= kSteps; ++i) {
      std::string log = ReadFile(d + "/s" + std::to_string(i) + ".log");
      EXPECT_EQ(log, i == k ? id + "\n" + id + "\n" : id + "\n")
          << "step " << i << (i == k ? " (interrupted: re-run once)" : " (ran once)");
    }
    EXPECT_EQ(e["resumes"], 1);
    ASSERT_EQ(e["steps"].size(), static_cast<size_t>(kSteps));
    for (const auto& s : e["steps"]) EXPECT_EQ(s["state"], "ok");
    bool resumed = false;
    for (const auto& ev : e["events"]) {
      resumed |= ev["kind"] == "resumed" && Contains(ev["message"], "at step " + std::to_string(k));
    }
    EXPECT_TRUE(resumed) << e.dump(2);
    EXPECT_EQ(a.Executions().size(), 1u) << "exactly one execution";
    EXPECT_EQ(a.Stop(), 0);
    int resumed_in_export = 0;
    for (const json& line : a.Export()) {
      resumed_in_export += line["type"] == "event" && line["kind"] == "resumed" ? 1 : 0;
    }
    EXPECT_EQ(resumed_in_export, 1);
  }
}

}  // namespace
}  // namespace failover
