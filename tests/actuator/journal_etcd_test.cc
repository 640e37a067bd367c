// The etcd journal against a real etcd (scripts/stack component etcd), for what only a
// shared journal needs: several actuators accepting the same webhooks insert each execution
// once, and endpoints are tried in turn. The semantics common to every backend are in
// journal_test.cc (JournalBackendTest, run on SQLite and etcd); fenced writes in
// lock_etcd_test.cc.
#include <gtest/gtest.h>

#include <atomic>
#include <sstream>
#include <thread>

#include "actuator/journal.h"
#include "common/http_client.h"
#include "tests/support/stack.h"
#include "tests/support/test_http_server.h"

namespace failover {
namespace {

using nlohmann::json;

constexpr double kT0 = 1'800'000'000;

ExecutionRecord MakeExecution(const std::string& id, const std::string& dedup_key,
                              double created_at = kT0) {
  ExecutionRecord e;
  e.id = id;
  e.dedup_key = dedup_key;
  e.runbook = "failover-us-east";
  e.trigger = ExecTrigger::kWebhook;
  e.mode = ExecMode::kAuto;
  e.state = ExecState::kQueued;
  e.labels = {{"alertname", "RegionDown"}, {"region", "us-east"}};
  e.annotations = {{"summary", "us-east is down"}};
  e.alert_status = "firing";
  e.fingerprint = "0123456789abcdef";
  e.starts_at = "2027-01-15T07:59:00Z";
  e.created_at = created_at;
  e.updated_at = created_at;
  return e;
}

WebhookRecord MakeWebhook() {
  WebhookRecord w;
  w.received_at = kT0;
  w.group_key = "{}:{alertname=\"RegionDown\"}";
  w.status = "firing";
  w.receiver = "failover";
  w.alerts = 1;
  w.body = R"({"version":"4"})";
  return w;
}

class EtcdJournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    endpoint_ = testing::Stack::Get({"etcd"}).Env("ETCD_ENDPOINTS");
    prefix_ = "/test-" +
              std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "/";
  }
  std::unique_ptr<Journal> Open(std::vector<std::string> endpoints = {}) {
    if (endpoints.empty()) endpoints = {endpoint_};
    auto j = OpenEtcdJournal(http_, endpoints, prefix_);
    EXPECT_TRUE(j) << j.error().message;
    return j ? std::move(*j) : nullptr;
  }

  CurlHttpClient http_;
  std::string endpoint_, prefix_;
};

TEST_F(EtcdJournalTest, AcceptInsertsCandidatesAndReportsDuplicates) {
  auto a = Open();
  auto b = Open();  // a second actuator on the same etcd
  auto r = a->Accept(MakeWebhook(), {MakeExecution("e1", "k1"), MakeExecution("e2", "k2")});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, (std::vector<bool>{true, true}));
  // The same alerts reach the other actuator (new ids, same dedup keys) plus a new one.
  auto r2 = b->Accept(MakeWebhook(), {MakeExecution("x1", "k1"), MakeExecution("x3", "k3"),
                                      MakeExecution("x2", "k2")});
  ASSERT_TRUE(r2) << r2.error().message;
  EXPECT_EQ(*r2, (std::vector<bool>{false, true, false}));
  EXPECT_TRUE(a->Get("e1").value().has_value());
  EXPECT_FALSE(a->Get("x1").value().has_value()) << "a duplicate was written";
  EXPECT_TRUE(a->Get("x3").value().has_value());
  ExecutionQuery q;
  EXPECT_EQ(a->List(q)->size(), 3u);
}

TEST_F(EtcdJournalTest, ConcurrentAcceptsFromManyActuatorsInsertEachAlertOnce) {
  constexpr int kActuators = 4, kAlerts = 10;
  std::vector<std::unique_ptr<Journal>> journals;
  for (int i = 0; i < kActuators; ++i) journals.push_back(Open());
  std::atomic<int> inserted{0}, errors{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kActuators; ++i) {
    threads.emplace_back([&, i] {
      for (int k = 0; k < kAlerts; ++k) {
        auto r = journals[i]->Accept(
            MakeWebhook(), {MakeExecution("a" + std::to_string(i) + "-" + std::to_string(k),
                                          "alert-" + std::to_string(k))});
        if (!r) {
          ++errors;
        } else if ((*r)[0]) {
          ++inserted;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors, 0);
  EXPECT_EQ(inserted, kAlerts) << "each alert is inserted by exactly one actuator";
  EXPECT_EQ(journals[0]->List({})->size(), static_cast<size_t>(kAlerts));
}

TEST_F(EtcdJournalTest, DeadEndpointsAreSkippedAndNoneAnsweringIsAClearError) {
  int dead = testing::ClosedPort();
  std::string dead_url = "http://127.0.0.1:" + std::to_string(dead);
  auto j = Open({dead_url, endpoint_});
  ASSERT_TRUE(j);
  ASSERT_TRUE(j->Insert(MakeExecution("e1", "k1")));
  EXPECT_TRUE(j->Get("e1").value().has_value());
  auto none = OpenEtcdJournal(http_, {dead_url}, prefix_);
  ASSERT_FALSE(none);
  EXPECT_TRUE(none.error().retryable);
  EXPECT_NE(none.error().message.find("journal (etcd)"), std::string::npos) << none.error().message;
  EXPECT_NE(none.error().message.find(dead_url), std::string::npos) << none.error().message;
}

}  // namespace
}  // namespace failover
