// The engine against a real SQLite journal, a fake Prometheus (canned query answers) and
// the PagerDuty contract fake; time is a FakeClock, so retries and cooldowns take no time.
#include "actuator/engine.h"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "actuator/steps/step.h"
#include "common/http_server.h"
#include "tests/actuator/step_test_util.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_pagerduty.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace failover {
namespace {

// A step kind for tests: records each run as "<name>:<arg>" and can fail its first N runs.
struct Recorder {
  std::mutex mu;
  std::vector<std::string> runs;
  std::map<std::string, int> fail_remaining;
  std::function<void(const std::string&)> after_run;  // called after each run, unlocked
  std::vector<std::string> Runs() {
    std::lock_guard<std::mutex> l(mu);
    return runs;
  }
};
Recorder* g_recorder = nullptr;

class RecordStep : public Step {
 public:
  RecordStep(std::string name, Template arg, bool retryable)
      : name_(std::move(name)), arg_(std::move(arg)), retryable_(retryable) {}
  const std::string& kind() const override { return kind_; }
  Result<nlohmann::json> Render(const TemplateVars& vars) const override {
    auto a = arg_.Render(vars);
    if (!a) return a.error();
    return nlohmann::json{{"name", name_}, {"arg", *a}};
  }
  StepOutcome Run(StepContext& ctx) override {
    auto a = arg_.Render(*ctx.vars);
    std::lock_guard<std::mutex> l(g_recorder->mu);
    g_recorder->runs.push_back(name_ + ":" + (a ? *a : "?"));
    int& left = g_recorder->fail_remaining[name_];
    StepOutcome out = StepOutcome::Ok(name_ + " done");
    if (left > 0) {
      --left;
      out =
          retryable_ ? StepOutcome::Retry(name_ + " flaked") : StepOutcome::Fail(name_ + " broke");
    }
    if (g_recorder->after_run) g_recorder->after_run(name_);
    return out;
  }

 private:
  std::string kind_ = "record";
  std::string name_;
  Template arg_;
  bool retryable_;
};

Result<std::unique_ptr<Step>> NewRecordStep(const YamlNode& node, const StepFactoryContext&) {
  if (auto s = node.ExpectMap(); !s) return s.error();
  std::string name = *node.Require("name")->AsString();
  std::string arg = node.Get("arg") ? *node.Get("arg")->AsString() : "";
  auto t = Template::Parse(arg);
  if (!t) return node.Fail(t.error().message);
  int fail = node.Get("fail_times") ? static_cast<int>(*node.Get("fail_times")->AsInt()) : 0;
  bool retryable = node.Get("retryable") ? *node.Get("retryable")->AsBool() : true;
  g_recorder->fail_remaining[name] = fail;
  auto step = std::make_unique<RecordStep>(name, *t, retryable);
  auto common = ParseStepCommon(node);
  if (!common) return common.error();
  if (auto s = node.RejectUnreadKeys(); !s) return s.error();
  step->set_common(*common);
  return std::unique_ptr<Step>(std::move(step));
}

// Prometheus' query API, answering whatever the test says.
class FakePrometheus {
 public:
  FakePrometheus() {
    HttpServerOptions o;
    o.listen_address = "127.0.0.1:0";
    auto started =
        HttpServer::Start(o, {{"GET", "/api/v1/query", false, [this](const HttpServerRequest& r) {
                                 std::lock_guard<std::mutex> l(mu_);
                                 queries_.push_back(r.QueryParam("query"));
                                 return HttpServerResponse::Json(status_, answer_);
                               }}});
    server_ = std::move(*started);
    port_ = server_->port();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void AnswerTrue() {
    Set(200,
        R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"region":"eu-west"},"value":[1,"1"]}]}})");
  }
  void AnswerEmpty() {
    Set(200, R"({"status":"success","data":{"resultType":"vector","result":[]}})");
  }
  void Set(int status, std::string body) {
    std::lock_guard<std::mutex> l(mu_);
    status_ = status;
    answer_ = std::move(body);
  }
  void Stop() { server_.reset(); }

 private:
  std::mutex mu_;
  int status_ = 200;
  std::string answer_;
  std::vector<std::string> queries_;
  int port_ = 0;
  std::unique_ptr<HttpServer> server_;
};

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_recorder = &recorder_;
    RegisterBuiltinSteps(steps_);
    steps_.Register({"record", "test step", &NewRecordStep});
    prom_.AnswerTrue();
    auto j = OpenSqliteJournal(dir_.path() + "/journal.db");
    ASSERT_TRUE(j) << j.error().message;
    journal_ = std::move(*j);
  }
  void TearDown() override {
    if (engine_) engine_->Stop();
    g_recorder = nullptr;
  }

  void Load(const std::string& runbooks, const std::string& extra = "",
            EngineOptions options = {}) {
    std::string text =
        "prometheus: {url: \"" + prom_.url() + "\", timeout: 2s}\n" +
        "journal: " + (journal_yaml_.empty() ? dir_.path() + "/journal.db" : journal_yaml_) + "\n" +
        "pagerduty: {routing_key: " + testing::FakePagerDuty::kRoutingKey + ", url: \"" +
        pd_.url() + "\"}\n" + extra + "runbooks:\n" + runbooks;
    auto cfg = testing::LoadConfigText(text, steps_, http_, clock_);
    ASSERT_TRUE(cfg) << cfg.error().message;
    if (!engine_) {
      engine_ = std::make_unique<Engine>(engine_journal_ ? *engine_journal_ : *journal_, clock_,
                                         http_, metrics_, options);
      engine_->SetConfig(std::make_shared<ActuatorConfig>(std::move(*cfg)));
      ASSERT_TRUE(engine_->Start());
    } else {
      engine_->SetConfig(std::make_shared<ActuatorConfig>(std::move(*cfg)));
    }
  }

  static Alert MakeAlert(const std::string& region,
                         const std::string& starts = "2026-11-21T22:40:00Z",
                         const std::string& status = "firing") {
    Alert a;
    a.status = status;
    a.labels = {{"alertname", "RegionDown"}, {"region", region}};
    a.annotations = {{"summary", region + " is down"}};
    a.starts_at = starts;
    a.fingerprint = region == "us-east" ? "3f2a9c1d0b7e4a55" : "0000000000000002";
    return a;
  }
  Engine::WebhookOutcome Send(std::vector<Alert> alerts) {
    AlertGroup g;
    g.version = "4";
    g.status = "firing";
    g.group_key = "{}:{alertname=\"RegionDown\"}";
    g.alerts = std::move(alerts);
    auto r = engine_->HandleWebhook(g, "{}");
    EXPECT_TRUE(r) << r.error().message;
    EXPECT_TRUE(engine_->WaitIdle(std::chrono::seconds(30)));
    return r ? *r : Engine::WebhookOutcome{};
  }
  ExecutionRecord Get(const std::string& id) { return **journal_->Get(id); }
  std::vector<ExecutionRecord> All() {
    ExecutionQuery q;
    q.limit = 1000;
    return *journal_->List(q);
  }

  static constexpr const char* kRunbook = R"(  - name: failover-us-east
    match: {alertname: RegionDown, region: us-east}
    cooldown: 30m
    guards:
      - promql: 'min(failover_probe_success{region="eu-west"}) == 1'
        message: DR region must be healthy
    steps:
      - record: {name: dns, arg: "{{labels.region}}"}
      - record: {name: flush, arg: "{{execution_id}}"}
    on_failure:
      - record: {name: cleanup}
)";

  testing::TempDir dir_;
  testing::FakeClock clock_;
  CurlHttpClient http_;
  ActuatorMetrics metrics_;
  StepRegistry steps_;
  Recorder recorder_;
  FakePrometheus prom_;
  testing::FakePagerDuty pd_;
  std::unique_ptr<Journal> journal_;
  Journal* engine_journal_ = nullptr;  // the engine's journal when not journal_
  std::string journal_yaml_;           // the config's journal: when not the plain path
  std::unique_ptr<Engine> engine_;

  std::string Scrape() {
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, metrics_.Collect());
    return out.str();
  }
};

TEST_F(EngineTest, MatchingAlertRunsTheRunbookOnce) {
  Load(kRunbook);
  auto out = Send({MakeAlert("us-east")});
  ASSERT_EQ(out.execution_ids.size(), 1u);
  EXPECT_EQ(out.matched, 1);
  ExecutionRecord e = Get(out.execution_ids[0]);
  EXPECT_EQ(e.state, ExecState::kSucceeded) << e.message;
  EXPECT_EQ(recorder_.Runs(), (std::vector<std::string>{"dns:us-east", "flush:" + e.id}));
  auto steps = *journal_->Steps(e.id);
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].state, "ok");
  EXPECT_EQ(steps[0].rendered["arg"], "us-east");
  EXPECT_TRUE(pd_.Events().empty()) << "a successful run pages nobody";
}

TEST_F(EngineTest, ResendsAndRetriesWithinTheCooldownRunNothingTwice) {
  Load(kRunbook);
  Send({MakeAlert("us-east")});
  auto again = Send({MakeAlert("us-east")});  // Alertmanager resend / second cluster peer
  EXPECT_EQ(again.deduplicated, 1);
  EXPECT_TRUE(again.execution_ids.empty());
  auto later = Send({MakeAlert("us-east", "2026-11-21T22:50:00Z")});  // flapped, new alert
  EXPECT_EQ(later.deduplicated, 1);
  EXPECT_EQ(recorder_.Runs().size(), 2u) << "the runbook ran more than once";
  auto all = All();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].state, ExecState::kSuppressed);
  EXPECT_NE(all[0].message.find("within the cooldown of 30m"), std::string::npos);
  // After the cooldown a new alert acts again.
  clock_.Advance(std::chrono::minutes(31));
  auto after = Send({MakeAlert("us-east", "2026-11-21T23:30:00Z")});
  ASSERT_EQ(after.execution_ids.size(), 1u) << "the cooldown is over";
  ExecutionRecord third = Get(after.execution_ids[0]);
  EXPECT_EQ(third.state, ExecState::kHeld) << "the brake (1 per hour) put automation on hold";
  EXPECT_NE(third.message.find("brake engaged"), std::string::npos);
  clock_.Advance(std::chrono::hours(1));
  ASSERT_TRUE(engine_->Resume("oncall", "checked"));
  auto fourth = Send({MakeAlert("us-east", "2026-11-22T00:40:00Z")});
  ASSERT_EQ(fourth.execution_ids.size(), 1u);
  EXPECT_EQ(Get(fourth.execution_ids[0]).state, ExecState::kSucceeded);
  EXPECT_EQ(recorder_.Runs().size(), 4u);
}

TEST_F(EngineTest, UnmatchedAndResolvedAlerts) {
  Load(std::string(kRunbook) + R"(  - name: failback-note
    match: {alertname: RegionDown}
    on: resolved
    cooldown: 0s
    steps:
      - record: {name: resolved, arg: "{{labels.region}}"}
)");
  auto out = Send({MakeAlert("ap-south")});
  EXPECT_EQ(out.unmatched, 1);
  EXPECT_TRUE(recorder_.Runs().empty());
  auto res = Send({MakeAlert("us-east", "2026-11-21T22:40:00Z", "resolved")});
  EXPECT_EQ(res.matched, 1);
  EXPECT_EQ(recorder_.Runs(), std::vector<std::string>{"resolved:us-east"});
}

TEST_F(EngineTest, FalseGuardRefusesAndPagesWithTheValuesSeen) {
  prom_.AnswerEmpty();
  Load(kRunbook);
  auto out = Send({MakeAlert("us-east")});
  ExecutionRecord e = Get(out.execution_ids[0]);
  EXPECT_EQ(e.state, ExecState::kRefused);
  EXPECT_NE(e.message.find("DR region must be healthy"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("returned empty vector"), std::string::npos) << e.message;
  EXPECT_TRUE(recorder_.Runs().empty());
  auto events = pd_.Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].body["event_action"], "trigger");
  EXPECT_EQ(events[0].body["dedup_key"], "failover/" + e.id);
  EXPECT_NE(
      events[0].body["payload"]["summary"].get<std::string>().find("DR region must be healthy"),
      std::string::npos);
}

TEST_F(EngineTest, UnreachablePrometheusFailsSafe) {
  prom_.Stop();
  Load(kRunbook);
  auto out = Send({MakeAlert("us-east")});
  ExecutionRecord e = Get(out.execution_ids[0]);
  EXPECT_EQ(e.state, ExecState::kRefused);
  EXPECT_NE(e.message.find("cannot evaluate guard"), std::string::npos) << e.message;
  EXPECT_TRUE(recorder_.Runs().empty());
  EXPECT_EQ(pd_.Events().size(), 1u);
}

// The brake does not release itself (orchestrator users asked for one "that must be
// manually disabled"): it puts automation on hold, and only a human resumes.
TEST_F(EngineTest, BrakePutsAutomationOnHoldUntilAHumanResumes) {
  Load(std::string(kRunbook) + R"(  - name: failover-eu-west
    match: {alertname: RegionDown, region: eu-west}
    cooldown: 0s
    steps:
      - record: {name: eu, arg: "{{labels.region}}"}
)");
  Send({MakeAlert("us-east")});
  auto second = Send({MakeAlert("eu-west")});
  ExecutionRecord e = Get(second.execution_ids[0]);
  EXPECT_EQ(e.state, ExecState::kHeld);
  EXPECT_NE(e.message.find("brake engaged"), std::string::npos) << e.message;
  EXPECT_EQ(recorder_.Runs().size(), 2u);  // only the first runbook's two steps
  EXPECT_TRUE(engine_->Brake().engaged);
  auto hold = engine_->Hold();
  ASSERT_TRUE(hold);
  EXPECT_TRUE(hold->held);
  EXPECT_EQ(hold->by, "brake");
  ASSERT_EQ(pd_.Events().size(), 1u);
  EXPECT_NE(pd_.Events()[0].body["payload"]["summary"].get<std::string>().find("held"),
            std::string::npos);
  EXPECT_NE(Scrape().find("failover_actuator_automation_held 1"), std::string::npos);

  // The brake's window passes: the hold stays (a sliding window would have released).
  clock_.Advance(std::chrono::hours(2));
  EXPECT_FALSE(engine_->Brake().engaged);
  auto third = Send({MakeAlert("eu-west", "2026-11-22T01:00:00Z")});
  EXPECT_EQ(Get(third.execution_ids[0]).state, ExecState::kHeld);
  EXPECT_EQ(recorder_.Runs().size(), 2u);

  // A human may still run it while held.
  auto manual = engine_->RunManually("failover-eu-west", {{"region", "eu-west"}}, {}, false, "ops");
  ASSERT_TRUE(manual);
  ASSERT_TRUE(engine_->WaitIdle(std::chrono::seconds(30)));
  EXPECT_EQ(Get(manual->id).state, ExecState::kSucceeded);
  EXPECT_EQ(recorder_.Runs().back(), "eu:eu-west");

  ASSERT_TRUE(engine_->Resume("carol", "checked both regions"));
  EXPECT_NE(Scrape().find("failover_actuator_automation_held 0"), std::string::npos);
  auto fourth = Send({MakeAlert("eu-west", "2026-11-22T02:00:00Z")});
  EXPECT_EQ(Get(fourth.execution_ids[0]).state, ExecState::kSucceeded);
  auto events = journal_->Events("");
  ASSERT_TRUE(events);
  std::string log;
  for (const auto& ev : *events) log += ev.kind + ": " + ev.message + "\n";
  EXPECT_NE(log.find("hold: automation put on hold by brake"), std::string::npos) << log;
  EXPECT_NE(log.find("resume: automation resumed by carol: checked both regions"),
            std::string::npos)
      << log;
}

TEST_F(EngineTest, AHumanHoldStopsEveryAlertTriggeredRunAndSurvivesARestart) {
  std::string rb = kRunbook;
  Load(rb, "external_url: https://failover.example.com/\n");
  EXPECT_FALSE(engine_->Resume("bob", "")) << "resuming what is not held";
  EXPECT_FALSE(engine_->SetHold("alice", "")) << "a hold needs a reason";
  ASSERT_TRUE(engine_->SetHold("alice", "database maintenance in eu-west"));

  // A restart (a new engine on the same journal) keeps the hold.
  engine_->Stop();
  engine_.reset();
  Load(rb, "external_url: https://failover.example.com/\n");
  auto out = Send({MakeAlert("us-east")});
  ExecutionRecord e = Get(out.execution_ids[0]);
  EXPECT_EQ(e.state, ExecState::kHeld);
  EXPECT_NE(e.message.find("by alice: database maintenance in eu-west"), std::string::npos)
      << e.message;
  EXPECT_TRUE(recorder_.Runs().empty());
  // Paged, with a link to the execution's console page.
  ASSERT_EQ(pd_.Events().size(), 1u);
  const nlohmann::json body = pd_.Events()[0].body;
  ASSERT_TRUE(body.contains("links")) << body.dump();
  EXPECT_EQ(body["links"][0]["href"], "https://failover.example.com/executions/" + e.id);

  ASSERT_TRUE(engine_->Resume("bob", "maintenance over"));
  auto again = Send({MakeAlert("us-east", "2026-11-22T01:00:00Z")});
  EXPECT_EQ(Get(again.execution_ids[0]).state, ExecState::kSucceeded);
}

TEST_F(EngineTest, PendingApprovalIsRejectedWithAReasonOrExpiresAndPages) {
  std::string rb = kRunbook;
  rb.replace(rb.find("    cooldown"), 0, "    mode: approve\n");
  Load(rb, "approval_timeout: 10m\n");
  auto out = Send({MakeAlert("us-east")});
  std::string id = out.execution_ids[0];
  ASSERT_EQ(Get(id).state, ExecState::kPendingApproval);
  EXPECT_FALSE(engine_->Reject(id, "alice", "")) << "a rejection needs a reason";
  auto r = engine_->Reject(id, "alice", "eu-west is degraded too");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(Get(id).state, ExecState::kRejected);
  EXPECT_EQ(Get(id).message, "rejected by alice: eu-west is degraded too");
  EXPECT_FALSE(engine_->Approve(id, "bob")) << "approving a rejected execution";
  ASSERT_TRUE(engine_->WaitIdle(std::chrono::seconds(30)));
  EXPECT_TRUE(recorder_.Runs().empty());

  // Nobody decides the next one: it expires as rejected, and pages.
  clock_.Advance(std::chrono::hours(2));
  auto out2 = Send({MakeAlert("us-east", "2026-11-22T01:00:00Z")});
  std::string id2 = out2.execution_ids[0];
  ASSERT_EQ(Get(id2).state, ExecState::kPendingApproval);
  size_t pages = pd_.Events().size();
  clock_.Advance(std::chrono::minutes(9));
  EXPECT_EQ(engine_->ExpireApprovals(), 0);
  clock_.Advance(std::chrono::minutes(2));
  // The engine's own loop expires it (within a second or so).
  ASSERT_TRUE(testing::WaitFor([&] { return Get(id2).state == ExecState::kRejected; }));
  EXPECT_NE(Get(id2).message.find("approval expired"), std::string::npos) << Get(id2).message;
  ASSERT_TRUE(testing::WaitFor([&] { return pd_.Events().size() == pages + 1; }));
  EXPECT_NE(
      pd_.Events().back().body["payload"]["summary"].get<std::string>().find("approval expired"),
      std::string::npos);
  EXPECT_TRUE(recorder_.Runs().empty());
}

TEST_F(EngineTest, CancelStopsARunningExecutionBeforeItsNextStep) {
  Load(kRunbook);
  std::string id;
  recorder_.after_run = [&](const std::string& name) {
    if (name != "dns") return;
    ExecutionQuery q;
    q.states = {ExecState::kRunning};
    auto running = journal_->List(q);
    ASSERT_TRUE(running && running->size() == 1u);
    id = (*running)[0].id;
    auto c = engine_->Cancel(id, "dave", "wrong region");
    ASSERT_TRUE(c) << c.error().message;
  };
  auto out = Send({MakeAlert("us-east")});
  ASSERT_EQ(out.execution_ids.size(), 1u);
  ExecutionRecord e = Get(out.execution_ids[0]);
  EXPECT_EQ(e.state, ExecState::kCancelled) << e.message;
  EXPECT_NE(e.message.find("cancelled by dave: wrong region before step 2"), std::string::npos)
      << e.message;
  // The step in flight finished; neither the next step nor on_failure ran.
  EXPECT_EQ(recorder_.Runs(), (std::vector<std::string>{"dns:us-east"}));
  EXPECT_FALSE(engine_->Cancel(e.id, "dave", "again")) << "cancelling a finished execution";
}

TEST_F(EngineTest, ApproveModeWaitsForAHumanAndRechecksGuards) {
  std::string rb = kRunbook;
  rb.replace(rb.find("    cooldown"), 0, "    mode: approve\n");
  Load(rb);
  auto out = Send({MakeAlert("us-east")});
  std::string id = out.execution_ids[0];
  EXPECT_EQ(Get(id).state, ExecState::kPendingApproval);
  EXPECT_TRUE(recorder_.Runs().empty());
  ASSERT_EQ(pd_.Events().size(), 1u);
  EXPECT_NE(pd_.Events()[0].body["payload"]["summary"].get<std::string>().find("needs approval"),
            std::string::npos);
  ASSERT_TRUE(engine_->Approve(id, "alice"));
  ASSERT_TRUE(engine_->WaitIdle(std::chrono::seconds(30)));
  EXPECT_EQ(Get(id).state, ExecState::kSucceeded);
  EXPECT_EQ(recorder_.Runs().size(), 2u);
  EXPECT_FALSE(engine_->Approve(id, "alice")) << "approving twice";

  // A second one, where the DR region went bad while waiting: the guard refuses.
  clock_.Advance(std::chrono::hours(2));
  auto out2 = Send({MakeAlert("us-east", "2026-11-22T01:00:00Z")});
  std::string id2 = out2.execution_ids[0];
  ASSERT_EQ(Get(id2).state, ExecState::kPendingApproval);
  prom_.AnswerEmpty();
  ASSERT_TRUE(engine_->Approve(id2, "bob"));
  ASSERT_TRUE(engine_->WaitIdle(std::chrono::seconds(30)));
  EXPECT_EQ(Get(id2).state, ExecState::kRefused);
  EXPECT_EQ(recorder_.Runs().size(), 2u);
}

TEST_F(EngineTest, DryRunRendersAndChangesNothing) {
  std::string rb = kRunbook;
  rb.replace(rb.find("    cooldown"), 0, "    mode: dry-run\n");
  Load(rb);
  auto out = Send({MakeAlert("us-east")});
  ExecutionRecord e = Get(out.execution_ids[0]);
  EXPECT_EQ(e.state, ExecState::kDryRun);
  EXPECT_TRUE(recorder_.Runs().empty());
  auto steps = *journal_->Steps(e.id);
  ASSERT_EQ(steps.size(), 3u);  // two steps + on_failure
  EXPECT_EQ(steps[0].state, "dry_run");
  EXPECT_EQ(steps[0].rendered["arg"], "us-east");
  EXPECT_EQ(steps[1].rendered["arg"], e.id);
}

TEST_F(EngineTest, ForcedDryRunFlag) {
  Load(kRunbook, "", EngineOptions{true});
  auto out = Send({MakeAlert("us-east")});
  EXPECT_EQ(Get(out.execution_ids[0]).state, ExecState::kDryRun);
  EXPECT_TRUE(recorder_.Runs().empty());
}

TEST_F(EngineTest, RetryableFailuresAreRetriedWithBackoff) {
  std::string rb = kRunbook;
  rb.replace(rb.find("record: {name: dns"), std::string("record: {name: dns").size(),
             "record: {retries: 3, backoff: 10s, fail_times: 2, name: dns");
  Load(rb);
  MonoTime before = clock_.Now();
  auto out = Send({MakeAlert("us-east")});
  ExecutionRecord e = Get(out.execution_ids[0]);
  EXPECT_EQ(e.state, ExecState::kSucceeded) << e.message;
  auto steps = *journal_->Steps(e.id);
  EXPECT_EQ(steps[0].attempts, 3);
  EXPECT_GE(clock_.Now() - before, std::chrono::seconds(30)) << "backoff 10s then 20s";
}

TEST_F(EngineTest, FailedStepRunsOnFailureAndEscalates) {
  std::string rb = kRunbook;
  rb.replace(rb.find("record: {name: flush"), std::string("record: {name: flush").size(),
             "record: {retryable: false, fail_times: 1, name: flush");
  Load(rb);
  auto out = Send({MakeAlert("us-east")});
  ExecutionRecord e = Get(out.execution_ids[0]);
  EXPECT_EQ(e.state, ExecState::kFailed);
  EXPECT_NE(e.message.find("step 2 (record) failed: flush broke"), std::string::npos) << e.message;
  EXPECT_EQ(recorder_.Runs(),
            (std::vector<std::string>{"dns:us-east", "flush:" + e.id, "cleanup:"}));
  ASSERT_EQ(pd_.Events().size(), 1u);
  EXPECT_NE(pd_.Events()[0].body["payload"]["summary"].get<std::string>().find("failed"),
            std::string::npos);
}

TEST_F(EngineTest, MissingLabelFailsTheStepInsteadOfRenderingEmpty) {
  std::string rb = kRunbook;
  rb.replace(rb.find("{{labels.region}}"), std::string("{{labels.region}}").size(),
             "{{labels.datacenter}}");
  Load(rb);
  auto out = Send({MakeAlert("us-east")});
  ExecutionRecord e = Get(out.execution_ids[0]);
  EXPECT_EQ(e.state, ExecState::kFailed);
  EXPECT_NE(e.message.find("no label \"datacenter\""), std::string::npos) << e.message;
  EXPECT_EQ(recorder_.Runs(), std::vector<std::string>{"cleanup:"});
}

TEST_F(EngineTest, RestartResumesAnInterruptedExecutionAtItsStep) {
  Load(kRunbook);
  engine_->Stop();
  engine_.reset();
  // What a crash after step 1 leaves in the journal.
  ExecutionRecord e;
  e.id = "20261121T224000Z-000001";
  e.dedup_key = "failover-us-east|3f2a9c1d0b7e4a55|2026-11-21T22:40:00Z";
  e.runbook = "failover-us-east";
  e.trigger = ExecTrigger::kWebhook;
  e.mode = ExecMode::kAuto;
  e.state = ExecState::kRunning;
  e.next_step = 1;
  e.labels = {{"region", "us-east"}};
  e.created_at = e.updated_at = UnixSeconds(clock_.WallNow());
  ASSERT_TRUE(journal_->Insert(e));
  Load(kRunbook);  // a new engine: Start() resumes
  ASSERT_TRUE(engine_->WaitIdle(std::chrono::seconds(30)));
  ExecutionRecord after = Get(e.id);
  EXPECT_EQ(after.state, ExecState::kSucceeded) << after.message;
  EXPECT_EQ(after.resumes, 1);
  EXPECT_EQ(recorder_.Runs(), std::vector<std::string>{"flush:" + e.id}) << "step 1 ran again";
  bool resumed_event = false;
  for (const auto& ev : *journal_->Events(e.id)) resumed_event |= ev.kind == "resumed";
  EXPECT_TRUE(resumed_event);
}

}  // namespace
}  // namespace failover

namespace failover {
namespace {

// A journal whose writes fail the way a full or read-only disk makes SQLite fail: the
// accept always; the writes of running executions while `broken` is set.
// A journal that passes every call to `real_`: the test journals below override the calls
// they change.
class ForwardingJournal : public Journal {
 public:
  explicit ForwardingJournal(Journal& real) : real_(real) {}
  Result<std::vector<bool>> Accept(const WebhookRecord& w,
                                   const std::vector<ExecutionRecord>& c) override {
    return real_.Accept(w, c);
  }
  Status Insert(const ExecutionRecord& e) override { return real_.Insert(e); }
  Status Update(const ExecutionRecord& e) override { return real_.Update(e); }
  Status PutStep(const StepRecord& s) override { return real_.PutStep(s); }
  Status AddEvent(const EventRecord& e) override { return real_.AddEvent(e); }
  Result<std::int64_t> Prune(double before, int max) override { return real_.Prune(before, max); }
  Result<std::optional<ExecutionRecord>> Get(const std::string& id) override {
    return real_.Get(id);
  }
  Result<std::vector<StepRecord>> Steps(const std::string& id) override { return real_.Steps(id); }
  Result<std::vector<EventRecord>> Events(const std::string& id) override {
    return real_.Events(id);
  }
  Result<std::vector<ExecutionRecord>> List(const ExecutionQuery& q) override {
    return real_.List(q);
  }
  Status ExportJsonLines(std::ostream& out) override { return real_.ExportJsonLines(out); }
  Result<std::optional<std::string>> GetSetting(const std::string& k) override {
    return real_.GetSetting(k);
  }
  Status PutSetting(const std::string& k, const std::string& v) override {
    return real_.PutSetting(k, v);
  }

 protected:
  Journal& real_;
};

class FailingJournal : public ForwardingJournal {
 public:
  explicit FailingJournal(Journal& real) : ForwardingJournal(real) {}
  std::atomic<bool> broken{false};
  std::atomic<int> failed{0};

  Result<std::vector<bool>> Accept(const WebhookRecord& w,
                                   const std::vector<ExecutionRecord>& c) override {
    if (accept_works) return real_.Accept(w, c);
    return Full();
  }
  Status Update(const ExecutionRecord& e) override {
    if (broken) return Full();
    return real_.Update(e);
  }
  Status PutStep(const StepRecord& s) override {
    if (broken) return Full();
    return real_.PutStep(s);
  }
  Status AddEvent(const EventRecord& e) override {
    if (broken) return Full();
    return real_.AddEvent(e);
  }
  bool accept_works = false;

 private:
  Error Full() {
    ++failed;
    return Error{ErrorCode::kUnavailable, "journal: database or disk is full", true};
  }
};

TEST_F(EngineTest, UnwritableJournalRefusesTheWebhookSoAlertmanagerRetries) {
  Load(kRunbook);
  engine_->Stop();
  FailingJournal failing(*journal_);
  Engine engine(failing, clock_, http_, metrics_, {});
  engine.SetConfig(engine_->config());
  ASSERT_TRUE(engine.Start());
  AlertGroup g;
  g.version = "4";
  g.status = "firing";
  g.alerts = {MakeAlert("us-east")};
  auto r = engine.HandleWebhook(g, "{}");
  ASSERT_FALSE(r) << "accepted without a durable record";
  EXPECT_TRUE(r.error().retryable) << "the webhook answers 503 on retryable journal errors";
  EXPECT_TRUE(engine.WaitIdle(std::chrono::seconds(10)));
  EXPECT_TRUE(recorder_.Runs().empty()) << "something ran that was never journaled";
  EXPECT_TRUE(All().empty());
  engine.Stop();
}

}  // namespace
}  // namespace failover

namespace failover {
namespace {

// Issue 14, point 2: the journal fails once the first step has run. The second step must
// not run while its start cannot be recorded; the execution waits (retrying, counted in
// failover_actuator_journal_write_failures_total, failover_actuator_journal_failing 1),
// PagerDuty is told once, and once the journal works again the execution goes on from
// where it was: every step ran exactly once.
TEST_F(EngineTest, NoStepRunsWhileTheJournalCannotRecordItAndItResumesAfterwards) {
  FailingJournal failing(*journal_);
  failing.accept_works = true;
  engine_journal_ = &failing;
  struct Reset {
    std::unique_ptr<Engine>& e;
    ~Reset() { e.reset(); }
  } reset{engine_};
  journal_yaml_ = "{path: " + dir_.path() + "/journal.db, page_after: 30s}";
  recorder_.after_run = [&](const std::string& name) {
    if (name == "one") failing.broken = true;
  };
  Load(R"(  - name: three
    match: {alertname: RegionDown}
    steps:
      - record: {name: one}
      - record: {name: two}
      - record: {name: three}
)");
  AlertGroup g;
  g.version = "4";
  g.status = "firing";
  g.alerts = {MakeAlert("us-east")};
  auto r = engine_->HandleWebhook(g, "{}");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->execution_ids.size(), 1u);
  ASSERT_TRUE(testing::WaitFor([&] { return failing.failed > 20; }, std::chrono::seconds(20)));
  std::string metrics = Scrape();
  EXPECT_NE(metrics.find("\nfailover_actuator_journal_failing 1"), std::string::npos) << metrics;
  EXPECT_EQ(metrics.find("\nfailover_actuator_journal_write_failures_total 0"), std::string::npos)
      << metrics;
  EXPECT_EQ(recorder_.Runs(), std::vector<std::string>{"one:"})
      << "a step ran while the journal could not record it";
  // Paged once (the fake clock runs past page_after at once), however long it lasts.
  ASSERT_TRUE(testing::WaitFor([&] { return !pd_.Events().empty(); }, std::chrono::seconds(20)));
  int before = failing.failed;
  ASSERT_TRUE(
      testing::WaitFor([&] { return failing.failed > before + 10; }, std::chrono::seconds(20)));
  auto pages = pd_.Events();
  ASSERT_EQ(pages.size(), 1u);
  EXPECT_EQ(pages[0].body["dedup_key"], "failover/journal");
  EXPECT_NE(pages[0].body["payload"]["summary"].get<std::string>().find("cannot write its journal"),
            std::string::npos);
  EXPECT_EQ(recorder_.Runs(), std::vector<std::string>{"one:"});
  EXPECT_EQ(Get(r->execution_ids[0]).state, ExecState::kRunning);

  failing.broken = false;
  ASSERT_TRUE(engine_->WaitIdle(std::chrono::seconds(30)));
  // Without a restart nothing runs twice: step one's "ok" was written late, then two, three.
  EXPECT_EQ(recorder_.Runs(), (std::vector<std::string>{"one:", "two:", "three:"}));
  EXPECT_EQ(Get(r->execution_ids[0]).state, ExecState::kSucceeded);
  metrics = Scrape();
  EXPECT_NE(metrics.find("\nfailover_actuator_journal_failing 0"), std::string::npos) << metrics;
  // The page is resolved.
  ASSERT_TRUE(testing::WaitFor([&] { return pd_.Events().size() == 2; }));
  EXPECT_EQ(pd_.Events()[1].body["event_action"], "resolve");
}

}  // namespace
}  // namespace failover

namespace failover {
namespace {

// Issue 14, point 5: a big alert group is one journal transaction and its execution ids
// never collide. (With ids of one second plus 24 random bits, 20,000 alerts of one
// webhook collide almost surely: UNIQUE constraint failed, every retry.)
TEST_F(EngineTest, AHugeAlertGroupIsAcceptedWithDistinctIds) {
  Load(R"(  - name: per-instance
    match: {alertname: InstanceDown}
    cooldown: 0s
    steps:
      - record: {name: one, arg: "{{labels.instance}}"}
)");
  constexpr int kAlerts = 20000;
  AlertGroup g;
  g.version = "4";
  g.status = "firing";
  g.group_key = "{}:{alertname=\"InstanceDown\"}";
  for (int i = 0; i < kAlerts; ++i) {
    Alert a;
    a.status = "firing";
    a.labels = {{"alertname", "InstanceDown"}, {"instance", "host-" + std::to_string(i)}};
    a.starts_at = "2026-11-21T22:40:00Z";
    a.fingerprint = "fp" + std::to_string(i);
    g.alerts.push_back(a);
  }
  auto r = engine_->HandleWebhook(g, "{}");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->matched + r->deduplicated, kAlerts);
  ExecutionQuery q;
  q.limit = 100000;
  auto all = journal_->List(q);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), static_cast<size_t>(kAlerts));
  std::set<std::string> ids;
  for (const auto& e : *all) ids.insert(e.id);
  EXPECT_EQ(ids.size(), static_cast<size_t>(kAlerts));
  // Each has its first event, written in the same transaction.
  auto events = journal_->Events(all->front().id);
  ASSERT_TRUE(events);
  ASSERT_FALSE(events->empty());
  EXPECT_TRUE((*events)[0].kind == "accepted" || (*events)[0].kind == "suppressed");
  EXPECT_TRUE(engine_->WaitIdle(std::chrono::seconds(60)));
}

// Issue 14, point 9: failover_actuator_brake_engaged is what Brake() (the status page,
// /api/v1/status) says, at every scrape: engaged right after the automatic execution ran,
// and released once the window has passed, with no further execution considered.
TEST_F(EngineTest, BrakeGaugeIsComputedAtScrapeTime) {
  Load(kRunbook);
  EXPECT_NE(Scrape().find("\nfailover_actuator_brake_engaged 0"), std::string::npos);
  auto out = Send({MakeAlert("us-east")});
  ASSERT_EQ(out.execution_ids.size(), 1u);
  ASSERT_EQ(Get(out.execution_ids[0]).state, ExecState::kSucceeded);
  EXPECT_TRUE(engine_->Brake().engaged);
  EXPECT_NE(Scrape().find("\nfailover_actuator_brake_engaged 1"), std::string::npos) << Scrape();
  clock_.Advance(std::chrono::minutes(61));
  EXPECT_FALSE(engine_->Brake().engaged);
  EXPECT_NE(Scrape().find("\nfailover_actuator_brake_engaged 0"), std::string::npos) << Scrape();
}

// Issue 14, point 8: a runbook that only notifies (pagerduty, wait, wait_for) does not
// spend the brake: the recovery page on `resolved` leaves the next real failover free.
// `brake: false` opts a changing runbook out explicitly; `brake: true` opts a notifying
// one in.
TEST_F(EngineTest, NotificationOnlyRunbooksDoNotSpendTheBrake) {
  Load(R"(  - name: recovered
    match: {alertname: RegionDown, region: us-east}
    on: resolved
    cooldown: 0s
    steps:
      - pagerduty: {action: trigger, severity: info, summary: "{{labels.region}} answers again"}
      - wait: {duration: 1s}
)" + std::string(kRunbook));
  const RunbookConfig* recovered = engine_->config()->FindRunbook("recovered");
  ASSERT_NE(recovered, nullptr);
  EXPECT_FALSE(recovered->brake);
  EXPECT_TRUE(engine_->config()->FindRunbook("failover-us-east")->brake);

  auto resolved = Send({MakeAlert("us-east", "2026-11-21T22:00:00Z", "resolved")});
  ASSERT_EQ(resolved.execution_ids.size(), 1u);
  EXPECT_EQ(Get(resolved.execution_ids[0]).state, ExecState::kSucceeded);
  EXPECT_FALSE(engine_->Brake().engaged) << "a notification spent the brake";
  auto firing = Send({MakeAlert("us-east")});
  ASSERT_EQ(firing.execution_ids.size(), 1u);
  ExecutionRecord e = Get(firing.execution_ids[0]);
  EXPECT_EQ(e.state, ExecState::kSucceeded) << e.message;
  EXPECT_TRUE(engine_->Brake().engaged);
  // With the brake engaged a notification still goes out.
  auto again = Send({MakeAlert("us-east", "2026-11-21T22:55:00Z", "resolved")});
  ASSERT_EQ(again.execution_ids.size(), 1u);
  EXPECT_EQ(Get(again.execution_ids[0]).state, ExecState::kSucceeded);
}

TEST_F(EngineTest, BrakeKeyOverridesTheDefault) {
  Load(R"(  - name: notify-counted
    match: {alertname: A}
    brake: true
    steps:
      - wait: {duration: 1s}
  - name: change-uncounted
    match: {alertname: B}
    brake: false
    steps:
      - record: {name: x}
)");
  EXPECT_TRUE(engine_->config()->FindRunbook("notify-counted")->brake);
  EXPECT_FALSE(engine_->config()->FindRunbook("change-uncounted")->brake);
}

}  // namespace
}  // namespace failover

namespace failover {
namespace {

// The real SQLite journal, with its group commits counted and the first one held until
// the test opens the gate (so that the webhooks sent meanwhile are known to be queued).
class GatedJournal : public ForwardingJournal {
 public:
  explicit GatedJournal(Journal& real) : ForwardingJournal(real) {}
  std::atomic<bool> fail{false};  // every group commit fails, as on a full disk

  std::vector<Result<std::vector<bool>>> AcceptGroup(const std::vector<AcceptRequest>& group,
                                                     int* commits) override {
    {
      std::unique_lock<std::mutex> l(mu_);
      sizes_.push_back(static_cast<int>(group.size()));
      cv_.wait(l, [&] { return open_; });
    }
    if (fail) {
      *commits = 0;
      return std::vector<Result<std::vector<bool>>>(
          group.size(), Error{ErrorCode::kUnavailable, "journal: database or disk is full", true});
    }
    return real_.AcceptGroup(group, commits);
  }
  void Open() {
    std::lock_guard<std::mutex> l(mu_);
    open_ = true;
    cv_.notify_all();
  }
  std::vector<int> Sizes() {
    std::lock_guard<std::mutex> l(mu_);
    return sizes_;
  }
  Result<std::vector<bool>> Accept(const WebhookRecord& w,
                                   const std::vector<ExecutionRecord>& c) override {
    ADD_FAILURE() << "a webhook was accepted outside a group commit";
    return real_.Accept(w, c);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  std::vector<int> sizes_;
};

class GroupCommitTest : public EngineTest {
 protected:
  static constexpr int kSenders = 24;  // webhooks sent at once; sender 2k+1 repeats 2k's
  static constexpr const char* kAnyRegion = R"(  - name: restart
    match: {alertname: RegionDown}
    mode: dry-run
    steps:
      - record: {name: dns, arg: "{{labels.region}}"}
)";

  static AlertGroup WebhookOf(int sender) {
    Alert a;
    a.status = "firing";
    std::string region = "region-" + std::to_string(sender / 2);
    a.labels = {{"alertname", "RegionDown"}, {"region", region}};
    a.starts_at = "2026-11-21T22:40:00Z";
    a.fingerprint = "fp-" + region;
    AlertGroup g;
    g.version = "4";
    g.status = "firing";
    g.group_key = "{}:{region=\"" + region + "\"}";
    g.alerts = {a};
    return g;
  }

  // Sends every webhook at once: the first one's commit is held until all the others
  // are queued behind it, so they make one group.
  std::vector<Result<Engine::WebhookOutcome>> SendAllAtOnce(GatedJournal& gated) {
    std::vector<std::optional<Result<Engine::WebhookOutcome>>> got(kSenders);
    std::vector<std::thread> senders;
    senders.emplace_back([&] { got[0] = engine_->HandleWebhook(WebhookOf(0), "{\"n\":0}"); });
    EXPECT_TRUE(
        testing::WaitFor([&] { return gated.Sizes().size() == 1; }, std::chrono::seconds(10)));
    for (int i = 1; i < kSenders; ++i) {
      senders.emplace_back([&, i] {
        got[i] = engine_->HandleWebhook(WebhookOf(i), "{\"n\":" + std::to_string(i) + "}");
      });
    }
    EXPECT_TRUE(testing::WaitFor([&] { return engine_->AcceptsWaiting() == kSenders - 1; },
                                 std::chrono::seconds(10)))
        << engine_->AcceptsWaiting() << " queued";
    gated.Open();
    for (auto& t : senders) t.join();
    std::vector<Result<Engine::WebhookOutcome>> out;
    for (auto& r : got) out.push_back(std::move(*r));
    return out;
  }
};

// Issue 19, point 1: concurrent webhooks share one transaction and one commit, each gets
// its own outcome, and a repeated webhook in the same group is deduplicated as if it had
// come after the first.
TEST_F(GroupCommitTest, ConcurrentWebhooksShareOneCommitAndEachGetsItsOwnOutcome) {
  GatedJournal gated(*journal_);
  engine_journal_ = &gated;
  Load(kAnyRegion);
  auto results = SendAllAtOnce(gated);
  EXPECT_EQ(gated.Sizes(), (std::vector<int>{1, kSenders - 1}))
      << "the webhooks queued behind the first commit were not written as one group";
  std::set<std::string> ids;
  for (int pair = 0; pair < kSenders / 2; ++pair) {
    const auto& a = results[2 * pair];
    const auto& b = results[2 * pair + 1];
    ASSERT_TRUE(a) << a.error().message;
    ASSERT_TRUE(b) << b.error().message;
    EXPECT_EQ(a->matched + b->matched, 1) << "pair " << pair << ": the alert ran twice or never";
    EXPECT_EQ(a->deduplicated + b->deduplicated, 1) << "pair " << pair;
    const auto& first = a->matched == 1 ? *a : *b;
    ASSERT_EQ(first.execution_ids.size(), 1u);
    ExecutionRecord e = Get(first.execution_ids[0]);
    EXPECT_EQ(e.labels["region"], "region-" + std::to_string(pair))
        << "a webhook was answered with another one's execution";
    ids.insert(e.id);
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kSenders / 2));
  EXPECT_EQ(All().size(), static_cast<size_t>(kSenders / 2));
  std::string text = Scrape();
  EXPECT_NE(text.find("failover_actuator_journal_commits_total 2"), std::string::npos) << text;
  EXPECT_NE(text.find("failover_actuator_journal_group_size_count 2"), std::string::npos) << text;
  EXPECT_NE(text.find("failover_actuator_journal_group_size_sum " + std::to_string(kSenders)),
            std::string::npos)
      << text;
  EXPECT_TRUE(engine_->WaitIdle(std::chrono::seconds(30)));
}

// The async form (the actuator's webhook route): a webhook queued behind a commit in
// progress returns at once, holding no thread, and is answered only after its own commit.
TEST_F(GroupCommitTest, QueuedWebhooksReturnAtOnceAndAreAnsweredAfterTheirCommit) {
  GatedJournal gated(*journal_);
  engine_journal_ = &gated;
  Load(kAnyRegion);
  std::thread leader([&] { EXPECT_TRUE(engine_->HandleWebhook(WebhookOf(0), "{}")); });
  ASSERT_TRUE(
      testing::WaitFor([&] { return gated.Sizes().size() == 1; }, std::chrono::seconds(10)));
  constexpr int kQueued = 5;
  std::vector<AlertGroup> groups;
  for (int i = 0; i < kQueued; ++i) groups.push_back(WebhookOf(2 * (i + 1)));
  const std::vector<std::string> bodies(kQueued, "{}");  // valid until each is answered
  std::mutex m;
  std::vector<Result<Engine::WebhookOutcome>> answers;
  for (int i = 0; i < kQueued; ++i) {
    engine_->AcceptWebhook(groups[i], bodies[i], [&](Result<Engine::WebhookOutcome> r) {
      std::lock_guard<std::mutex> l(m);
      answers.push_back(std::move(r));
    });
  }
  // Every call above returned while the first commit is still held.
  EXPECT_EQ(engine_->AcceptsWaiting(), kQueued);
  {
    std::lock_guard<std::mutex> l(m);
    EXPECT_TRUE(answers.empty()) << "a webhook was answered before its commit";
  }
  gated.Open();
  leader.join();
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        std::lock_guard<std::mutex> l(m);
        return answers.size() == static_cast<size_t>(kQueued);
      },
      std::chrono::seconds(10)));
  EXPECT_EQ(gated.Sizes(), (std::vector<int>{1, kQueued}));
  for (const auto& a : answers) {
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_EQ(a->matched, 1);
  }
  EXPECT_EQ(All().size(), static_cast<size_t>(kQueued + 1));
  EXPECT_TRUE(engine_->WaitIdle(std::chrono::seconds(30)));
}

// A commit that fails fails every webhook of its group with the error that answers 503,
// and none of them is recorded.
TEST_F(GroupCommitTest, AFailedCommitFailsTheWholeGroup) {
  GatedJournal gated(*journal_);
  gated.fail = true;
  engine_journal_ = &gated;
  Load(kAnyRegion);
  auto results = SendAllAtOnce(gated);
  ASSERT_EQ(gated.Sizes().size(), 2u);
  for (int i = 0; i < kSenders; ++i) {
    ASSERT_FALSE(results[i]) << "webhook " << i << " was acknowledged without a durable record";
    EXPECT_TRUE(results[i].error().retryable) << "webhook " << i << " would not get a 503";
  }
  EXPECT_TRUE(All().empty());
  EXPECT_NE(Scrape().find("failover_actuator_journal_failing 1"), std::string::npos);
  // Once the journal works, the same webhooks are accepted (Alertmanager's retry).
  gated.fail = false;
  auto again = engine_->HandleWebhook(WebhookOf(0), "{}");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->matched, 1);
  EXPECT_TRUE(engine_->WaitIdle(std::chrono::seconds(30)));
}

}  // namespace
}  // namespace failover
