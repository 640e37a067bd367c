// The etcd journal against a real etcd (scripts/stack component etcd): the Journal
// semantics the SQLite tests check, plus what only a shared journal needs: two actuators
// accepting the same webhook insert each execution once, and writes fenced by a lost
// execution lock are refused.
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
  e.trigger = "webhook";
  e.mode = "auto";
  e.state = exec_state::kQueued;
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

TEST_F(EtcdJournalTest, RecordsRoundTrip) {
  auto j = Open();
  ExecutionRecord e = MakeExecution("e1", "k1");
  ASSERT_TRUE(j->Insert(e));
  EXPECT_FALSE(j->Insert(MakeExecution("e9", "k1"))) << "a dedup_key is unique";
  EXPECT_FALSE(j->Insert(MakeExecution("e1", "k9"))) << "an id is unique";
  e.state = exec_state::kRunning;
  e.phase = "on_failure";
  e.next_step = 2;
  e.resumes = 3;
  e.approved = true;
  e.message = "mid-way \"quoted\" \n ünïcode";
  e.finished_at = kT0 + 1.25;
  ASSERT_TRUE(j->Update(e));
  StepRecord s{"e1",    "main", 1, "http", "ok", 2, {{"url", "http://x"}}, "200", {{"status", 200}},
               kT0 + 1, kT0 + 2};
  StepRecord s0{"e1", "main", 0, "wait", "ok", 1, json::object(), "", json::object(), kT0, kT0};
  StepRecord f{"e1", "on_failure",   0,       "pagerduty", "failed", 1, json::object(),
               "x",  json::object(), kT0 + 3, kT0 + 4};
  ASSERT_TRUE(j->PutStep(f));
  ASSERT_TRUE(j->PutStep(s));
  ASSERT_TRUE(j->PutStep(s0));
  s.state = "failed";  // replace by (execution, phase, index)
  ASSERT_TRUE(j->PutStep(s));
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(j->AddEvent({"e1", kT0 + i, "step", std::to_string(i)}));
  ASSERT_TRUE(j->AddEvent({"", kT0, "journal", "an event of no execution"}));

  auto got = j->Get("e1");
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->state, exec_state::kRunning);
  EXPECT_EQ((*got)->phase, "on_failure");
  EXPECT_EQ((*got)->next_step, 2);
  EXPECT_EQ((*got)->resumes, 3);
  EXPECT_TRUE((*got)->approved);
  EXPECT_EQ((*got)->message, e.message);
  EXPECT_EQ((*got)->finished_at, kT0 + 1.25);
  EXPECT_EQ((*got)->labels, e.labels);
  auto steps = j->Steps("e1");
  ASSERT_TRUE(steps);
  ASSERT_EQ(steps->size(), 3u);
  EXPECT_EQ((*steps)[0].index, 0);
  EXPECT_EQ((*steps)[1].index, 1);
  EXPECT_EQ((*steps)[1].state, "failed");
  EXPECT_EQ((*steps)[1].rendered, (json{{"url", "http://x"}}));
  EXPECT_EQ((*steps)[2].phase, "on_failure");
  auto events = j->Events("e1");
  ASSERT_EQ(events->size(), 12u);
  for (int i = 0; i < 12; ++i) EXPECT_EQ((*events)[i].message, std::to_string(i));
  EXPECT_EQ(j->Events("")->size(), 1u);
  EXPECT_FALSE(j->Get("nope").value().has_value());
}

TEST_F(EtcdJournalTest, WritesOfUnknownExecutionsAreRefused) {
  auto j = Open();
  auto u = j->Update(MakeExecution("ghost", "g"));
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(j->PutStep({"ghost", "main", 0, "wait", "ok", 1, {}, "", {}, 0, 0}));
  EXPECT_FALSE(j->AddEvent({"ghost", kT0, "step", "x"}));
  EXPECT_FALSE(j->Get("ghost").value().has_value());
}

TEST_F(EtcdJournalTest, ListFiltersAndOrdersNewestFirst) {
  auto j = Open();
  for (int i = 0; i < 5; ++i) {
    ExecutionRecord e = MakeExecution("e" + std::to_string(i), "k" + std::to_string(i), kT0 + i);
    if (i % 2) e.runbook = "other";
    if (i == 4) e.state = exec_state::kSucceeded;
    ASSERT_TRUE(j->Insert(e));
  }
  auto all = j->List({});
  ASSERT_EQ(all->size(), 5u);
  EXPECT_EQ((*all)[0].id, "e4");
  EXPECT_EQ((*all)[4].id, "e0");
  ExecutionQuery q;
  q.runbook = "failover-us-east";
  q.states = {exec_state::kQueued};
  auto some = j->List(q);
  ASSERT_EQ(some->size(), 2u);
  EXPECT_EQ((*some)[0].id, "e2");
  q = {};
  q.created_since = kT0 + 3;
  EXPECT_EQ(j->List(q)->size(), 2u);
  q = {};
  q.limit = 1;
  EXPECT_EQ(j->List(q)->size(), 1u);
}

TEST_F(EtcdJournalTest, ExportsEveryRecordAsJsonLinesOldestFirst) {
  auto j = Open();
  ASSERT_TRUE(j->Accept(MakeWebhook(), {MakeExecution("e1", "k1")}));
  ASSERT_TRUE(j->PutStep({"e1", "main", 0, "wait", "ok", 1, {}, "", {}, kT0 + 1, kT0 + 2}));
  ASSERT_TRUE(j->AddEvent({"e1", kT0 + 3, "succeeded", "done"}));
  std::ostringstream out;
  ASSERT_TRUE(j->ExportJsonLines(out));
  std::istringstream in(out.str());
  std::vector<std::string> types;
  json exec;
  for (std::string line; std::getline(in, line);) {
    json l = json::parse(line);
    types.push_back(l["type"]);
    if (l["type"] == "execution") exec = l;
  }
  EXPECT_EQ(types, (std::vector<std::string>{"webhook", "execution", "step", "event"}));
  EXPECT_TRUE(exec["webhook_id"].is_number()) << exec.dump();
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
