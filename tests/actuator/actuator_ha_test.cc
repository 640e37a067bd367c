// Two failover_actuator processes sharing one etcd (journal: {etcd: ...}), as an operator
// runs them for high availability: both receive every webhook and the runbook runs once;
// the survivor of a SIGKILL finishes the run after the lease TTL; a holder cut off from
// etcd stops acting before its lease can expire. Side effects are counted on a local HTTP
// server (the runbook's http steps) and in files (its exec steps).
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "common/http_client.h"
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
using testing::ReadFile;
using testing::Subprocess;
using testing::WaitFor;

constexpr const char* kWebhookToken = "wh-T0KEN-ha-5ecret";
constexpr const char* kAdminToken = "adm-T0KEN-ha-5ecret";

std::string Payload() { return testing::RegionDownWebhook(); }

struct Actuator {
  std::unique_ptr<Subprocess> proc;
  int port = 0;
};

class ActuatorHaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stack_ = &testing::Stack::Get({"etcd"});
    d_ = dir_.path();
    dir_.Write("webhook.token", kWebhookToken);
    dir_.Write("admin.token", kAdminToken);
    std::string prefix =
        "/ha-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "/";
    // Step 1 and 3 call the target server; step 2 waits for a gate file (so a test can act
    // while it runs); step 4 leaves a line in a file.
    std::string sh = "/bin/sh";
    std::string config = "webhook: {bearer_token_file: " + d_ + "/webhook.token}\n" +
                         "api: {bearer_token_file: " + d_ + "/admin.token}\n" +
                         "journal: {etcd: {endpoints: [" + stack_->Env("ETCD_ENDPOINTS") +
                         "], ttl: 2s, prefix: " + prefix + "}}\n" +
                         "runbooks:\n"
                         "  - name: failover-us-east\n"
                         "    match: {alertname: RegionDown, region: us-east}\n"
                         "    steps:\n"
                         "      - http: {url: \"" +
                         target_.url("/body?text=step1") +
                         "\"}\n"
                         "      - exec: {argv: [" +
                         sh + ", -c, 'echo run >> " + d_ + "/s2.log; while [ ! -f " + d_ +
                         "/gate ]; do sleep 0.02; done'], timeout: 60s}\n"
                         "      - http: {url: \"" +
                         target_.url("/healthz") +
                         "\"}\n"
                         "      - exec: {argv: [" +
                         sh + ", -c, 'echo done >> " + d_ + "/s4.log']}\n";
    config_path_ = dir_.Write("actuator.yml", config);
  }

  void TearDown() override {
    if (etcd_stopped_) kill(EtcdPid(), SIGCONT);
  }

  pid_t EtcdPid() { return std::stoi(stack_->Env("ETCD_PID")); }

  Actuator Start() {
    Actuator a;
    a.proc = std::make_unique<Subprocess>(
        std::vector<std::string>{Binary("failover_actuator"), "--config.file=" + config_path_,
                                 "--web.listen-address=127.0.0.1:0", "--log.level=debug"},
        d_);
    a.port = testing::WaitForListeningPort(*a.proc);
    EXPECT_NE(a.port, 0) << a.proc->Stderr();
    return a;
  }

  Result<HttpResponse> Call(const Actuator& a, const std::string& method, const std::string& path,
                            const std::string& body, const std::string& token) {
    HttpRequest req;
    req.method = method;
    req.url = "http://127.0.0.1:" + std::to_string(a.port) + path;
    req.body = body;
    req.headers.emplace_back("Authorization", std::string("Bearer ") + token);
    req.headers.emplace_back("Content-Type", "application/json");
    return CurlHttpClient().Send(req);
  }

  json Execution(const Actuator& a, const std::string& id) {
    auto r = Call(a, "GET", "/api/v1/executions/" + id, "", kAdminToken);
    return r && r->status == 200 ? json::parse(r->body) : json();
  }
  size_t ExecutionCount(const Actuator& a) {
    auto r = Call(a, "GET", "/api/v1/executions", "", kAdminToken);
    return r && r->status == 200 ? json::parse(r->body)["executions"].size() : 0;
  }

  // Sends the webhook to both at once; returns the execution id (whoever inserted it).
  std::string SendToBoth(const Actuator& a, const Actuator& b) {
    Result<HttpResponse> ra = Error::Internal(""), rb = Error::Internal("");
    std::thread ta([&] { ra = Call(a, "POST", "/webhook", Payload(), kWebhookToken); });
    std::thread tb([&] { rb = Call(b, "POST", "/webhook", Payload(), kWebhookToken); });
    ta.join();
    tb.join();
    EXPECT_TRUE(ra && rb);
    if (!ra || !rb) return "";
    EXPECT_EQ(ra->status, 202) << ra->body;
    EXPECT_EQ(rb->status, 202) << rb->body;
    json ja = json::parse(ra->body), jb = json::parse(rb->body);
    EXPECT_EQ(ja["executions"].size() + jb["executions"].size(), 1u)
        << "exactly one actuator inserts the execution: " << ra->body << " / " << rb->body;
    EXPECT_EQ(ja["deduplicated"].get<int>() + jb["deduplicated"].get<int>(), 1);
    return ja["executions"].empty() ? jb["executions"][0] : ja["executions"][0];
  }

  static bool Started(const Actuator& a, const std::string& id) {
    return a.proc->Stderr().find("msg=\"execution started\" execution=" + id) != std::string::npos;
  }

  testing::Stack* stack_ = nullptr;
  testing::TempDir dir_;
  testing::TestHttpServer target_;
  std::string d_, config_path_;
  bool etcd_stopped_ = false;
};

// The automation hold is one switch for every actuator of the journal; a cancel asked of
// one stops the execution the other runs, before its next step.
TEST_F(ActuatorHaTest, HoldAndCancelAreSharedByBothActuators) {
  Actuator a = Start(), b = Start();
  auto held = Call(a, "POST", "/api/v1/hold", R"({"reason":"planned maintenance"})", kAdminToken);
  ASSERT_TRUE(held) << held.error().message;
  ASSERT_EQ(held->status, 200) << held->body;
  json on_b = json::parse(Call(b, "GET", "/api/v1/hold", "", kAdminToken)->body);
  EXPECT_EQ(on_b["held"], true) << on_b.dump();
  EXPECT_EQ(on_b["reason"], "planned maintenance");
  EXPECT_NE(
      Call(b, "GET", "/metrics", "", kAdminToken)->body.find("failover_actuator_automation_held 1"),
      std::string::npos);
  std::string id = SendToBoth(a, b);
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(WaitFor([&] { return Execution(a, id)["state"] == "held"; }))
      << Execution(a, id).dump(2);
  EXPECT_EQ(target_.RequestCount("/body"), 0);

  auto resumed = Call(b, "DELETE", "/api/v1/hold", R"({"reason":"done"})", kAdminToken);
  ASSERT_TRUE(resumed);
  ASSERT_EQ(resumed->status, 200) << resumed->body;
  EXPECT_EQ(json::parse(Call(a, "GET", "/api/v1/hold", "", kAdminToken)->body)["held"], false);
  EXPECT_EQ(Call(a, "DELETE", "/api/v1/hold", "", kAdminToken)->status, 409) << "not on hold";

  // A new alert runs; while its step 2 waits for the gate, cancel it through the other one.
  std::string run_id;
  {
    auto r = Call(a, "POST", "/webhook", testing::RegionDownWebhook({"2026-11-21T23:40:00Z"}),
                  kWebhookToken);
    ASSERT_TRUE(r && r->status == 202) << (r ? r->body : r.error().message);
    run_id = json::parse(r->body)["executions"][0];
  }
  ASSERT_TRUE(WaitFor([&] { return CountLines(d_ + "/s2.log") == 1; }));
  for (const Actuator* x : {&a, &b}) {
    auto c = Call(*x, "POST", "/api/v1/executions/" + run_id + "/cancel",
                  R"({"reason":"wrong region"})", kAdminToken);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->status, 202) << c->body;
  }
  dir_.Write("gate", "");
  ASSERT_TRUE(WaitFor([&] { return Execution(b, run_id)["state"] == "cancelled"; }))
      << Execution(b, run_id).dump(2);
  EXPECT_NE(Execution(b, run_id)["message"].get<std::string>().find("wrong region"),
            std::string::npos);
  EXPECT_EQ(target_.RequestCount("/healthz"), 0) << "step 3 ran after the cancel";
  EXPECT_EQ(CountLines(d_ + "/s4.log"), 0);
}

TEST_F(ActuatorHaTest, BothGetEveryWebhookAndTheRunbookRunsOnce) {
  dir_.Write("gate", "");
  Actuator a = Start(), b = Start();
  std::string id = SendToBoth(a, b);
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(WaitFor([&] { return Execution(b, id)["state"] == "succeeded"; }))
      << Execution(b, id).dump(2) << a.proc->Stderr() << b.proc->Stderr();
  // Alertmanager resends to both while it fires: still deduplicated.
  EXPECT_EQ(
      json::parse(Call(a, "POST", "/webhook", Payload(), kWebhookToken)->body)["deduplicated"], 1);
  EXPECT_EQ(
      json::parse(Call(b, "POST", "/webhook", Payload(), kWebhookToken)->body)["deduplicated"], 1);
  // A few scan periods (ttl/3) pass: nobody runs it again.
  std::this_thread::sleep_for(seconds(2));
  EXPECT_EQ(target_.RequestCount("/body"), 1);
  EXPECT_EQ(CountLines(d_ + "/s2.log"), 1);
  EXPECT_EQ(target_.RequestCount("/healthz"), 1);
  EXPECT_EQ(CountLines(d_ + "/s4.log"), 1);
  EXPECT_EQ(ExecutionCount(a), 1u);
  EXPECT_EQ(ExecutionCount(b), 1u);
  EXPECT_NE(Started(a, id), Started(b, id)) << "exactly one actuator started it";
  EXPECT_EQ(Execution(a, id)["resumes"], 0);

  // The journal (export reads etcd): one execution, four steps, two webhook requests.
  auto exported = Subprocess::Run(
      {Binary("failover_actuator"), "journal", "export", "--config.file=" + config_path_}, d_);
  ASSERT_EQ(exported.status, 0) << exported.err;
  std::map<std::string, int> types;
  std::istringstream in(exported.out);
  for (std::string line; std::getline(in, line);) ++types[json::parse(line)["type"]];
  EXPECT_EQ(types["execution"], 1) << exported.out;
  EXPECT_EQ(types["step"], 4) << exported.out;
  EXPECT_EQ(types["webhook"], 4) << "each actuator journals each request it accepted";
}

TEST_F(ActuatorHaTest, SigkilledHolderIsReplacedAfterTheLeaseAndTheRunFinishesOnce) {
  Actuator a = Start(), b = Start();
  std::string id = SendToBoth(a, b);
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(WaitFor([&] { return CountLines(d_ + "/s2.log") == 1; }));
  ASSERT_TRUE(WaitFor([&] { return Started(a, id) || Started(b, id); }));
  bool a_runs = Started(a, id);
  Actuator& holder = a_runs ? a : b;
  Actuator& survivor = a_runs ? b : a;
  holder.proc->Signal(SIGKILL);
  holder.proc->Wait();
  auto killed_at = std::chrono::steady_clock::now();
  dir_.Write("gate", "");

  ASSERT_TRUE(WaitFor([&] { return Execution(survivor, id)["state"] == "succeeded"; }))
      << Execution(survivor, id).dump(2) << survivor.proc->Stderr();
  // Not before the dead holder's lease expired: 2 s after its last refresh, which was at
  // most ttl/3 (0.67 s) before the kill.
  EXPECT_GE(std::chrono::steady_clock::now() - killed_at, std::chrono::milliseconds(1300));
  json e = Execution(survivor, id);
  EXPECT_EQ(e["resumes"], 1);
  EXPECT_EQ(target_.RequestCount("/body"), 1) << "step 1 ran again";
  EXPECT_EQ(CountLines(d_ + "/s2.log"), 2) << "the interrupted step is re-run once";
  EXPECT_EQ(target_.RequestCount("/healthz"), 1);
  EXPECT_EQ(CountLines(d_ + "/s4.log"), 1);
  EXPECT_NE(survivor.proc->Stderr().find("taking over an execution no live actuator runs"),
            std::string::npos);
  EXPECT_EQ(ExecutionCount(survivor), 1u);
}

TEST_F(ActuatorHaTest, HolderCutOffFromEtcdStopsBeforeItsLeaseExpires) {
  Actuator a = Start();
  auto r = Call(a, "POST", "/webhook", Payload(), kWebhookToken);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 202) << r->body;
  std::string id = json::parse(r->body)["executions"][0];
  ASSERT_TRUE(WaitFor([&] { return CountLines(d_ + "/s2.log") == 1; })) << a.proc->Stderr();

  ASSERT_EQ(kill(EtcdPid(), SIGSTOP), 0);
  etcd_stopped_ = true;
  auto stopped_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitFor([&] {
    return a.proc->Stderr().find("msg=\"lost the execution lock\"") != std::string::npos;
  })) << a.proc->Stderr();
  EXPECT_LT(std::chrono::steady_clock::now() - stopped_at, seconds(2))
      << "it must stop acting within the lease TTL (2 s)";
  // The step in flight was cancelled; opening the gate now starts nothing.
  dir_.Write("gate", "");
  ASSERT_TRUE(WaitFor([&] {
    return a.proc->Stderr().find("msg=\"execution stopped: lost the execution lock") !=
           std::string::npos;
  })) << a.proc->Stderr();
  std::this_thread::sleep_for(seconds(1));
  EXPECT_EQ(target_.RequestCount("/healthz"), 0) << "a step started after the lock was lost";
  EXPECT_EQ(CountLines(d_ + "/s4.log"), 0);

  // etcd comes back: the lease has expired, the scan takes the execution over and finishes
  // it once (the interrupted step again: desired-state).
  ASSERT_EQ(kill(EtcdPid(), SIGCONT), 0);
  etcd_stopped_ = false;
  ASSERT_TRUE(WaitFor([&] { return Execution(a, id)["state"] == "succeeded"; }))
      << Execution(a, id).dump(2) << a.proc->Stderr();
  EXPECT_EQ(target_.RequestCount("/body"), 1);
  EXPECT_EQ(CountLines(d_ + "/s2.log"), 2);
  EXPECT_EQ(target_.RequestCount("/healthz"), 1);
  EXPECT_EQ(CountLines(d_ + "/s4.log"), 1);
}

}  // namespace
}  // namespace failover
