// What the stage tests share (tests/actuator/stages/*_test.cc): a real Engine on a real
// SQLite journal, the runbook configuration loaded as the daemon loads it, the PagerDuty
// contract fake, a Prometheus query API answering what the test says, and a FakeClock.
// The engine is not started: nothing runs but the stage a test calls.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "actuator/config.h"
#include "actuator/engine.h"
#include "actuator/journal.h"
#include "actuator/metrics.h"
#include "actuator/steps/step.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "common/yaml.h"
#include "tests/actuator/step_test_util.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_pagerduty.h"
#include "tests/support/temp_dir.h"

namespace failover {
namespace {

// Prometheus' instant query API with a canned answer.
class StagePrometheus {
 public:
  StagePrometheus() {
    HttpServerOptions o;
    o.listen_address = "127.0.0.1:0";
    auto started =
        HttpServer::Start(o, {{"GET", "/api/v1/query", false, [this](const HttpServerRequest&) {
                                 std::lock_guard<std::mutex> l(mu_);
                                 return HttpServerResponse::Json(200, answer_);
                               }}});
    server_ = std::move(*started);
    url_ = "http://127.0.0.1:" + std::to_string(server_->port());
    AnswerTrue();
  }
  const std::string& url() const { return url_; }
  void AnswerTrue() {
    Set(R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1"]}]}})");
  }
  void AnswerEmpty() { Set(R"({"status":"success","data":{"resultType":"vector","result":[]}})"); }
  void Stop() { server_.reset(); }

 private:
  void Set(std::string body) {
    std::lock_guard<std::mutex> l(mu_);
    answer_ = std::move(body);
  }
  std::mutex mu_;
  std::string answer_;
  std::string url_;
  std::unique_ptr<HttpServer> server_;
};

class StageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterBuiltinSteps(steps_);
    auto j = OpenSqliteJournal(dir_.path() + "/journal.db");
    ASSERT_TRUE(j) << j.error().message;
    journal_ = std::move(*j);
  }

  // `runbooks`: the items of `runbooks:`; `extra`: more top-level keys.
  void Load(const std::string& runbooks, const std::string& extra = "",
            bool with_pagerduty = true) {
    std::string text = "prometheus: {url: \"" + prom_.url() + "\", timeout: 2s}\n" +
                       "journal: " + dir_.path() + "/journal.db\n" + extra;
    if (with_pagerduty) {
      text += std::string("pagerduty: {routing_key: ") + testing::FakePagerDuty::kRoutingKey +
              ", url: \"" + pd_.url() + "\"}\n";
    }
    text += "runbooks:\n" + runbooks;
    auto cfg = testing::LoadConfigText(text, steps_, http_, clock_);
    ASSERT_TRUE(cfg) << cfg.error().message;
    config_ = std::make_shared<ActuatorConfig>(std::move(*cfg));
    engine_ = std::make_unique<Engine>(*journal_, clock_, http_, metrics_, EngineOptions{});
    engine_->SetConfig(config_);
  }

  const RunbookConfig& Runbook(const std::string& name) { return *config_->FindRunbook(name); }

  // An execution as acceptance leaves it (queued), written to the journal.
  ExecutionRecord Queued(const std::string& id, const std::string& runbook,
                         ExecTrigger trigger = ExecTrigger::kWebhook,
                         ExecMode mode = ExecMode::kAuto) {
    ExecutionRecord e;
    e.id = id;
    e.dedup_key = runbook + "|" + id;
    e.runbook = runbook;
    e.trigger = trigger;
    e.mode = mode;
    e.state = ExecState::kQueued;
    e.labels = {{"alertname", "RegionDown"}, {"region", "us-east"}};
    e.created_at = e.updated_at = engine_->Now();
    e.message = "accepted";
    EXPECT_TRUE(journal_->Insert(e));
    return e;
  }

  ExecutionRecord Get(const std::string& id) { return **journal_->Get(id); }
  std::vector<std::string> EventKinds(const std::string& id) {
    std::vector<std::string> out;
    for (const auto& ev : *journal_->Events(id)) out.push_back(ev.kind);
    return out;
  }
  std::string EventsText(const std::string& id) {
    std::string out;
    for (const auto& ev : *journal_->Events(id)) out += ev.kind + ": " + ev.message + "\n";
    return out;
  }
  TemplateVars Vars(const ExecutionRecord& e) {
    return TemplateVars{e.labels, e.annotations, e.runbook, e.id};
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  CurlHttpClient http_;
  ActuatorMetrics metrics_;
  StepRegistry steps_;
  StagePrometheus prom_;
  testing::FakePagerDuty pd_;
  std::unique_ptr<Journal> journal_;
  std::shared_ptr<const ActuatorConfig> config_;
  std::unique_ptr<Engine> engine_;
};

}  // namespace
}  // namespace failover
