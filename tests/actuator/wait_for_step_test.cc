// The wait_for step against a local server answering like Prometheus' query API.
#include <gtest/gtest.h>

#include <deque>
#include <mutex>

#include "actuator/prometheus_client.h"
#include "actuator/steps/wait_for.h"
#include "common/http_server.h"
#include "tests/actuator/step_test_util.h"
#include "tests/support/fake_clock.h"

namespace failover {
namespace {

using testing::FakeClock;

constexpr const char* kEmpty = R"({"status":"success","data":{"resultType":"vector","result":[]}})";
constexpr const char* kMatch = R"({"status":"success","data":{"resultType":"vector","result":[
    {"metric":{"name":"www.example.test."},"value":[1700000000,"1"]}]}})";

// Answers queued responses in order, then repeats the last one.
class ScriptedPrometheus {
 public:
  ScriptedPrometheus() {
    HttpServerOptions opts;
    opts.listen_address = "127.0.0.1:0";
    opts.num_threads = 2;
    auto s = HttpServer::Start(opts,
                               {{"GET", "/api/v1/query", false, [this](const HttpServerRequest& r) {
                                   std::lock_guard<std::mutex> l(mu_);
                                   queries_.push_back(r.QueryParam("query"));
                                   auto [status, body] = answers_.front();
                                   if (answers_.size() > 1) answers_.pop_front();
                                   return HttpServerResponse::Json(status, body);
                                 }}});
    if (!s) throw std::runtime_error(s.error().message);
    server_ = std::move(*s);
  }
  void Script(std::deque<std::pair<int, std::string>> answers) {
    std::lock_guard<std::mutex> l(mu_);
    answers_ = std::move(answers);
  }
  std::vector<std::string> queries() const {
    std::lock_guard<std::mutex> l(mu_);
    return queries_;
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }

 private:
  mutable std::mutex mu_;
  std::deque<std::pair<int, std::string>> answers_ = {{200, kEmpty}};
  std::vector<std::string> queries_;
  std::unique_ptr<HttpServer> server_;
};

Result<std::unique_ptr<Step>> Load(const std::string& body, bool have_prometheus = true) {
  StepFactoryContext ctx;
  ctx.have_prometheus = have_prometheus;
  return testing::LoadListedStep("wait_for", body, &NewWaitForStep, ctx);
}

class WaitForStepTest : public ::testing::Test {
 protected:
  void SetUp() override {
    vars_.labels = {{"region", "us-east"}};
    vars_.runbook = "failover-us-east";
    vars_.execution_id = "exec-1";
  }
  StepOutcome Run(Step& step, Clock& clock) {
    return testing::RunStep(step, clock, &vars_, nullptr,
                            [&](StepContext& c) { c.prometheus = &client_; });
  }

  ScriptedPrometheus prom_;
  CurlHttpClient http_;
  PromClient client_{http_, prom_.url(), std::chrono::seconds(5)};
  TemplateVars vars_;
  FakeClock clock_;
};

TEST_F(WaitForStepTest, SucceedsOnceTheConditionHolds) {
  prom_.Script({{200, kEmpty}, {200, kEmpty}, {200, kMatch}});
  auto step = Load(
      "{promql: 'failover_dns_record_matches_expected{region=\"{{labels.region}}\"} == 1', "
      "timeout: 60s, interval: 2s}");
  ASSERT_TRUE(step) << step.error().message;
  EXPECT_EQ((*step)->kind(), "wait_for");
  MonoTime start = clock_.Now();
  StepOutcome o = Run(**step, clock_);
  EXPECT_EQ(o.status, StepStatus::kOk) << o.message;
  EXPECT_NE(o.message.find(R"(name="www.example.test.")"), std::string::npos) << o.message;
  EXPECT_EQ(o.details["polls"], 3);
  EXPECT_EQ(clock_.Now() - start, std::chrono::seconds(4));
  auto q = prom_.queries();
  ASSERT_EQ(q.size(), 3u);
  EXPECT_EQ(q[0], R"(failover_dns_record_matches_expected{region="us-east"} == 1)");

  auto r = (*step)->Render(vars_);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ((*r)["promql"], q[0]);
  EXPECT_EQ((*r)["timeout"], "1m");
  EXPECT_EQ((*r)["interval"], "2s");
}

// What the journal and dry-run show without timeout and interval (the defaults), and with
// both set; the other common keys land in the step's settings.
TEST_F(WaitForStepTest, RendersDefaultsAndSetKeys) {
  auto plain = Load("{promql: 'up == 1'}");
  ASSERT_TRUE(plain) << plain.error().message;
  auto r = (*plain)->Render(vars_);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, nlohmann::json({{"promql", "up == 1"}, {"timeout", "1m"}, {"interval", "2s"}}));

  auto step = Load(
      "{promql: 'up{region=\"{{labels.region}}\"}', timeout: 90s, interval: 500ms, "
      "retries: 0, backoff: 3s}");
  ASSERT_TRUE(step) << step.error().message;
  r = (*step)->Render(vars_);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(
      *r, nlohmann::json(
              {{"promql", "up{region=\"us-east\"}"}, {"timeout", "1m30s"}, {"interval", "500ms"}}));
  EXPECT_EQ((*step)->common().retries, 0);
  EXPECT_EQ((*step)->common().backoff, std::chrono::seconds(3));
}

TEST_F(WaitForStepTest, FailsAtTheTimeoutWhenNeverTrue) {
  prom_.Script({{200, kEmpty}});
  auto step = Load("{promql: 'up == 1', timeout: 60s, interval: 2s}");
  ASSERT_TRUE(step);
  MonoTime start = clock_.Now();
  StepOutcome o = Run(**step, clock_);
  EXPECT_EQ(o.status, StepStatus::kFailed) << o.message;
  EXPECT_EQ(o.message, "condition not met within 1m, last result: empty vector");
  EXPECT_EQ(clock_.Now() - start, std::chrono::seconds(60));
  EXPECT_EQ(o.details["polls"], 31);  // t = 0, 2, ..., 60
}

TEST_F(WaitForStepTest, PrometheusErrorsKeepPolling) {
  prom_.Script({{503, R"({"status":"error","errorType":"unavailable","error":"not ready"})"},
                {200, kMatch}});
  auto step = Load("{promql: 'up == 1', timeout: 10s, interval: 1s}");
  ASSERT_TRUE(step);
  StepOutcome o = Run(**step, clock_);
  EXPECT_EQ(o.status, StepStatus::kOk) << o.message;
  EXPECT_EQ(o.details["polls"], 2);
}

TEST_F(WaitForStepTest, ReportsTheLastErrorAtTheDeadline) {
  prom_.Script({{503, R"({"status":"error","errorType":"unavailable","error":"TSDB not ready"})"}});
  auto step = Load("{promql: 'up == 1', timeout: 10s, interval: 3s}");
  ASSERT_TRUE(step);
  StepOutcome o = Run(**step, clock_);
  EXPECT_EQ(o.status, StepStatus::kFailed) << o.message;
  EXPECT_NE(o.message.find("condition not met within 10s, last error:"), std::string::npos)
      << o.message;
  EXPECT_NE(o.message.find("TSDB not ready"), std::string::npos) << o.message;
}

TEST_F(WaitForStepTest, ARejectedQueryFailsAtOnce) {
  prom_.Script(
      {{400, R"({"status":"error","errorType":"bad_data","error":"parse error at char 4"})"}});
  auto step = Load("{promql: 'up ==', timeout: 60s, interval: 2s}");
  ASSERT_TRUE(step);
  MonoTime start = clock_.Now();
  StepOutcome o = Run(**step, clock_);
  EXPECT_EQ(o.status, StepStatus::kFailed) << o.message;
  EXPECT_NE(o.message.find("query rejected"), std::string::npos) << o.message;
  EXPECT_NE(o.message.find("parse error at char 4"), std::string::npos) << o.message;
  EXPECT_EQ(o.details["polls"], 1);
  EXPECT_EQ(clock_.Now(), start);  // no waiting for the timeout
}

TEST_F(WaitForStepTest, RealClockShortTimeout) {
  prom_.Script({{200, kEmpty}});
  auto step = Load("{promql: 'up == 1', timeout: 300ms, interval: 50ms}");
  ASSERT_TRUE(step);
  StepOutcome o = Run(**step, SystemClock::Get());
  EXPECT_EQ(o.status, StepStatus::kFailed) << o.message;
  EXPECT_GE(o.details["polls"].get<int>(), 2);
}

// Issue 14 point 3: a label value cannot close its PromQL string and make the condition
// always true ("... or vector(1)"); in a regex matcher it matches only itself.
TEST_F(WaitForStepTest, LabelValuesStayInsideTheirStringLiteral) {
  prom_.Script({{200, kEmpty}});
  vars_.labels["region"] = "x\"} or vector(1) or up{region=\"";
  vars_.labels["job"] = ".*";
  auto step = Load(
      "{promql: 'failover_dns_record_matches_expected{region=\"{{labels.region}}\", "
      "job=~\"{{labels.job}}\"} == 1', timeout: 2s, interval: 1s}");
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome o = Run(**step, clock_);
  EXPECT_EQ(o.status, StepStatus::kFailed) << o.message;
  auto q = prom_.queries();
  ASSERT_FALSE(q.empty());
  EXPECT_EQ(q[0],
            R"(failover_dns_record_matches_expected{region="x\"} or vector(1) or up{region=\"", )"
            R"(job=~"\\.\\*"} == 1)");
  auto r = (*step)->Render(vars_);
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["promql"], q[0]);
}

TEST_F(WaitForStepTest, WithoutAPromClientFails) {
  auto step = Load("{promql: 'up'}");
  ASSERT_TRUE(step);
  StepContext ctx;
  ctx.vars = &vars_;
  ctx.clock = &clock_;
  ctx.deadline = clock_.Now() + std::chrono::seconds(1);
  EXPECT_EQ((*step)->Run(ctx).status, StepStatus::kFailed);
}

TEST(WaitForStepConfigTest, LocatedErrors) {
  struct Case {
    std::string body;
    bool have_prometheus;
    std::string want;
  };
  for (const Case& c : std::vector<Case>{
           {"{promql: 'up == 1'}", false, "steps[0].wait_for: wait_for needs a prometheus section"},
           {"{timeout: 5s}", true, "steps[0].wait_for: missing required key \"promql\""},
           {"{promql: ' '}", true, "steps[0].wait_for.promql: promql is empty"},
           {"{promql: 'up{x=\"{{labels}}\"}'}", true, "steps[0].wait_for.promql: "},
           {"{promql: 'up > {{labels.threshold}}'}", true,
            "steps[0].wait_for.promql: template \"up > {{labels.threshold}}\": "
            "{{labels.threshold}} stands outside a PromQL string literal"},
           {"{promql: 'up{a=`{{labels.a}}`}'}", true, "stands in a `raw string`"},
           {"{promql: up, interval: 0s}", true,
            "steps[0].wait_for.interval: interval must be greater"},
           {"{promql: up, interval: 5}", true, "steps[0].wait_for.interval: "},
           {"{promql: [up]}", true, "steps[0].wait_for.promql: expected a string"},
           {"{promql: up, dns: {name: x}}", true, "steps[0].wait_for.dns: unknown key"},
       }) {
    testing::ExpectListedStepRefused(Load(c.body, c.have_prometheus), c.body, c.want);
  }
}

}  // namespace
}  // namespace failover
