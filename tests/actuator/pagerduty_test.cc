// The PagerDuty Events API v2 client against the local fake of the contract.
#include "actuator/pagerduty.h"

#include <gtest/gtest.h>

#include "tests/support/fake_clock.h"
#include "tests/support/fake_pagerduty.h"

namespace failover {
namespace {

using testing::FakeClock;
using testing::FakePagerDuty;

class PagerDutyTest : public ::testing::Test {
 protected:
  PagerDutyClient Client(const std::string& key = FakePagerDuty::kRoutingKey) {
    return PagerDutyClient(http_, clock_, pd_.url(), SecretRef::Inline(key));
  }
  MonoTime Deadline(Duration d = std::chrono::seconds(60)) { return clock_.Now() + d; }

  FakePagerDuty pd_;
  CurlHttpClient http_;
  FakeClock clock_;
};

PagerDutyEvent Trigger() {
  PagerDutyEvent ev;
  ev.action = "trigger";
  ev.dedup_key = "failover/exec-1";
  ev.summary = "Failed over us-east to eu-west";
  ev.severity = "info";
  ev.component = "dns";
  ev.group = "failover-us-east";
  ev.event_class = "failover";
  ev.custom_details = {{"labels", {{"region", "us-east"}}}};
  return ev;
}

TEST_F(PagerDutyTest, TriggerIsAccepted) {
  auto client = Client();
  Status st = client.Enqueue(Trigger(), Deadline());
  ASSERT_TRUE(st) << st.error().message;
  auto events = pd_.Events();
  ASSERT_EQ(events.size(), 1u);
  const auto& b = events[0].body;
  EXPECT_EQ(b["routing_key"], FakePagerDuty::kRoutingKey);
  EXPECT_EQ(b["event_action"], "trigger");
  EXPECT_EQ(b["dedup_key"], "failover/exec-1");
  EXPECT_EQ(b["payload"]["summary"], "Failed over us-east to eu-west");
  EXPECT_EQ(b["payload"]["source"], "failover_actuator");
  EXPECT_EQ(b["payload"]["severity"], "info");
  EXPECT_EQ(b["payload"]["component"], "dns");
  EXPECT_EQ(b["payload"]["group"], "failover-us-east");
  EXPECT_EQ(b["payload"]["class"], "failover");
  EXPECT_EQ(b["payload"]["custom_details"]["labels"]["region"], "us-east");
  // RFC 3339 from the (fake) wall clock; the fake checks the format.
  EXPECT_NE(b["payload"]["timestamp"].get<std::string>().find('T'), std::string::npos);
  EXPECT_EQ(pd_.AlertStatus("failover/exec-1"), "triggered");
  EXPECT_EQ(pd_.RequestCount(), 1);
}

TEST_F(PagerDutyTest, AcknowledgeAndResolveReachTheSameAlert) {
  auto client = Client();
  ASSERT_TRUE(client.Enqueue(Trigger(), Deadline()));
  PagerDutyEvent ack;
  ack.action = "acknowledge";
  ack.dedup_key = "failover/exec-1";
  ASSERT_TRUE(client.Enqueue(ack, Deadline()));
  EXPECT_EQ(pd_.AlertStatus("failover/exec-1"), "acknowledged");
  PagerDutyEvent res = ack;
  res.action = "resolve";
  ASSERT_TRUE(client.Enqueue(res, Deadline()));
  EXPECT_EQ(pd_.AlertStatus("failover/exec-1"), "resolved");
  auto events = pd_.Events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_FALSE(events[2].body.contains("payload"));
  EXPECT_EQ(pd_.AlertsOpened(), 1);
}

TEST_F(PagerDutyTest, LongSummaryAndDedupKeyAreTruncated) {
  auto client = Client();
  PagerDutyEvent ev = Trigger();
  ev.summary = std::string(2000, 's');
  ev.dedup_key = std::string(400, 'k');
  Status st = client.Enqueue(ev, Deadline());
  ASSERT_TRUE(st) << st.error().message;
  auto b = pd_.Events().at(0).body;
  EXPECT_EQ(b["payload"]["summary"].get<std::string>().size(), 1024u);
  EXPECT_EQ(b["dedup_key"].get<std::string>().size(), 255u);
}

TEST_F(PagerDutyTest, MultibyteSummaryIsCutOnACharacterBoundary) {
  auto client = Client();
  PagerDutyEvent ev = Trigger();
  ev.summary.clear();
  for (int i = 0; i < 1100; ++i) ev.summary += "\xc3\xa9";  // é
  ASSERT_TRUE(client.Enqueue(ev, Deadline()));
  auto s = pd_.Events().at(0).body["payload"]["summary"].get<std::string>();
  EXPECT_EQ(s.size(), 2048u);  // 1024 characters of two bytes each
}

TEST_F(PagerDutyTest, ValidatesBeforeSending) {
  auto client = Client();
  PagerDutyEvent bad_action = Trigger();
  bad_action.action = "escalate";
  EXPECT_FALSE(client.Enqueue(bad_action, Deadline()));
  PagerDutyEvent bad_sev = Trigger();
  bad_sev.severity = "fatal";
  EXPECT_FALSE(client.Enqueue(bad_sev, Deadline()));
  PagerDutyEvent no_key;
  no_key.action = "resolve";
  Status st = client.Enqueue(no_key, Deadline());
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("dedup_key"), std::string::npos);
  EXPECT_EQ(pd_.RequestCount(), 0);
}

TEST_F(PagerDutyTest, BadRequestIsReportedAndNotRetried) {
  // A 31-character key: the fake answers 400 like PagerDuty.
  const std::string key = "SHORTKEYSHORTKEYSHORTKEYSHORTKE";
  auto client = Client(key);
  Status st = client.Enqueue(Trigger(), Deadline());
  ASSERT_FALSE(st);
  EXPECT_FALSE(st.error().retryable);
  EXPECT_NE(st.error().message.find("400"), std::string::npos) << st.error().message;
  EXPECT_NE(st.error().message.find("Event object is invalid"), std::string::npos)
      << st.error().message;
  EXPECT_NE(st.error().message.find("routing_key"), std::string::npos) << st.error().message;
  EXPECT_EQ(st.error().message.find(key), std::string::npos) << st.error().message;
  EXPECT_EQ(pd_.RequestCount(), 1);
  EXPECT_EQ(pd_.RejectedCount(), 1);
}

TEST_F(PagerDutyTest, ThrottledTwiceThenAccepted) {
  auto client = Client();
  pd_.FailNext(2, 429);
  MonoTime start = clock_.Now();
  Status st = client.Enqueue(Trigger(), Deadline());
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(pd_.RequestCount(), 3);
  EXPECT_EQ(pd_.Events().size(), 1u);
  // Backed off on the (fake) clock: 1s, then 2s.
  EXPECT_EQ(clock_.Now() - start, std::chrono::seconds(3));
}

TEST_F(PagerDutyTest, ServerErrorsAreRetriedUntilTheDeadline) {
  auto client = Client();
  pd_.FailNext(1000, 500);
  MonoTime deadline = Deadline(std::chrono::seconds(20));
  Status st = client.Enqueue(Trigger(), deadline);
  ASSERT_FALSE(st);
  EXPECT_TRUE(st.error().retryable);
  EXPECT_NE(st.error().message.find("500"), std::string::npos) << st.error().message;
  EXPECT_LE(clock_.Now(), deadline);
  // 1 + 2 + 4 + 8 = 15s of backoff fit before the deadline; the next (16s) does not.
  EXPECT_EQ(pd_.RequestCount(), 5);
  EXPECT_TRUE(pd_.Events().empty());
}

TEST_F(PagerDutyTest, NetworkErrorsAreRetryableAndNeverShowTheKey) {
  std::string url;
  {
    FakePagerDuty gone;
    url = gone.url();
  }
  PagerDutyClient client(http_, clock_, url, SecretRef::Inline(FakePagerDuty::kRoutingKey));
  Status st = client.Enqueue(Trigger(), Deadline(std::chrono::seconds(5)));
  ASSERT_FALSE(st);
  EXPECT_TRUE(st.error().retryable);
  EXPECT_EQ(st.error().message.find(FakePagerDuty::kRoutingKey), std::string::npos);
}

TEST_F(PagerDutyTest, UnreadableRoutingKeyIsAnErrorWithoutSending) {
  PagerDutyClient client(http_, clock_, pd_.url(),
                         SecretRef::File("/nonexistent/failover-test/routing.key"));
  Status st = client.Enqueue(Trigger(), Deadline());
  ASSERT_FALSE(st);
  EXPECT_FALSE(st.error().retryable);
  EXPECT_EQ(pd_.RequestCount(), 0);
}

TEST_F(PagerDutyTest, BodyCarriesTheRoutingKeyOnlyInItsField) {
  auto client = Client();
  auto body = client.Body(Trigger());
  ASSERT_TRUE(body) << body.error().message;
  EXPECT_EQ((*body)["routing_key"], FakePagerDuty::kRoutingKey);
  EXPECT_EQ((*body)["client"], "failover_actuator");
}

// The fake itself follows the contract.
TEST_F(PagerDutyTest, FakeRejectsWhatTheContractForbids) {
  CurlHttpClient http;
  auto post = [&](const std::string& path, const std::string& body) {
    HttpRequest req;
    req.method = "POST";
    req.url = pd_.base_url() + path;
    req.body = body;
    req.headers = {{"Content-Type", "application/json"}};
    auto r = http.Send(req);
    EXPECT_TRUE(r) << r.error().message;
    return r ? r->status : 0;
  };
  std::string key = FakePagerDuty::kRoutingKey;
  auto ev = [&](const std::string& rest) {
    return R"({"routing_key":")" + key + R"(")" + rest + "}";
  };
  EXPECT_EQ(post("/v2/enqueue", "{"), 400);
  EXPECT_EQ(post("/v2/enqueue", ev(R"(,"event_action":"trigger")")), 400);  // no payload
  EXPECT_EQ(
      post(
          "/v2/enqueue",
          ev(R"(,"event_action":"trigger","payload":{"summary":"s","source":"x","severity":"bad"})")),
      400);
  EXPECT_EQ(post("/v2/enqueue", ev(R"(,"event_action":"resolve")")), 400);  // no dedup_key
  EXPECT_EQ(
      post(
          "/v2/enqueue",
          ev(R"(,"event_action":"trigger","payload":{"summary":"s","source":"x","severity":"info","sumary":"typo"})")),
      400);
  EXPECT_EQ(post("/v2/enqueue", ev(R"(,"event_action":"snooze","dedup_key":"k")")), 400);
  EXPECT_EQ(pd_.RejectedCount(), 6);
  // Generated dedup key, then a follow-up to an unknown key is accepted and dropped.
  EXPECT_EQ(
      post(
          "/v2/enqueue",
          ev(R"(,"event_action":"trigger","payload":{"summary":"s","source":"x","severity":"info"})")),
      202);
  EXPECT_FALSE(pd_.Events().back().dedup_key.empty());
  EXPECT_EQ(post("/v2/enqueue", ev(R"(,"event_action":"resolve","dedup_key":"unknown")")), 202);
  EXPECT_TRUE(pd_.Events().back().dropped);
  EXPECT_EQ(post("/v2/change/enqueue", ev(R"(,"payload":{"summary":"failover executed"})")), 202);
  EXPECT_EQ(post("/v2/change/enqueue", ev(R"(,"payload":{"source":"x"})")), 400);
  EXPECT_EQ(pd_.Events().back().path, "/v2/change/enqueue");
}

}  // namespace
}  // namespace failover
