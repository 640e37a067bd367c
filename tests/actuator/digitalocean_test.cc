// The DigitalOcean provider against the local fake of DigitalOcean's API v2
// (tests/support/fake_digitalocean.h), and the dns_update step through it.
#include "actuator/dns/digitalocean.h"

#include <gtest/gtest.h>

#include "tests/actuator/hosted_dns_test_util.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_digitalocean.h"
#include "tests/support/temp_dir.h"

namespace failover {
namespace {

using testing::Contains;
using testing::FakeDigitalOcean;

constexpr const char* kZone = "example.com.";

class DigitalOceanTest : public ::testing::Test {
 protected:
  void SetUp() override { provider_ = Make(std::string("token: ") + FakeDigitalOcean::kToken); }

  std::shared_ptr<DnsProvider> Make(const std::string& token_yaml) {
    auto p = testing::MakeProvider(
        "digitalocean", "{url: " + do_.base_url() + ", " + token_yaml + ", domain: example.com}",
        &http_, &clock_);
    EXPECT_TRUE(p) << p.error().message;
    return p ? *p : nullptr;
  }
  MonoTime Deadline(int seconds = 60) { return clock_.Now() + std::chrono::seconds(seconds); }
  void Add(const std::string& name, const std::string& type, const std::string& data,
           int ttl = 300) {
    do_.AddRecord({0, type, name, data, ttl, false});
  }
  std::vector<std::string> Data(const std::string& name, const std::string& type) {
    std::vector<std::string> out;
    for (const auto& r : do_.Find(name, type)) out.push_back(r.content);
    return out;
  }

  FakeDigitalOcean do_;
  CurlHttpClient http_;
  testing::FakeClock clock_;
  std::shared_ptr<DnsProvider> provider_;
};

TEST_F(DigitalOceanTest, GetFollowsTheNextLinks) {
  EXPECT_EQ(provider_->kind(), "digitalocean");
  do_.SetPageSize(2);
  for (int i = 1; i <= 5; ++i) Add("www", "A", "192.0.2." + std::to_string(i), 60);
  Add("api", "A", "192.0.2.99");
  Add("www", "AAAA", "2001:db8::1");
  auto got = provider_->Get(kZone, "www.example.com.", "A", Deadline());
  ASSERT_TRUE(got) << got.error().message;
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->records.size(), 5u);
  EXPECT_EQ((*got)->ttl, 60);
  auto log = do_.Log();
  ASSERT_EQ(log.size(), 3u);
  EXPECT_TRUE(Contains(log[0], "GET /v2/domains/example.com/records?type=A&name=www.example.com"))
      << log[0];
  EXPECT_TRUE(Contains(log[2], "page=3")) << log[2];

  // The apex is "@".
  Add("@", "A", "192.0.2.50");
  auto apex = provider_->Get(kZone, "example.com.", "A", Deadline());
  ASSERT_TRUE(apex) << apex.error().message;
  ASSERT_TRUE(apex->has_value());
  EXPECT_EQ((*apex)->records, std::vector<std::string>{"192.0.2.50"});
}

TEST_F(DigitalOceanTest, NextLinksElsewhereAreNotFollowed) {
  do_.SetPageSize(1);
  Add("www", "A", "192.0.2.1");
  Add("www", "A", "192.0.2.2");
  do_.SetLinkBase("http://127.0.0.2:1");
  auto got = provider_->Get(kZone, "www.example.com.", "A", Deadline());
  ASSERT_FALSE(got);
  EXPECT_FALSE(got.error().retryable);
  EXPECT_TRUE(Contains(got.error().message, "refusing to follow a link outside " + do_.base_url()))
      << got.error().message;
  EXPECT_EQ(do_.Requests(), 1);
}

TEST_F(DigitalOceanTest, PassedDeadlineSendsNothing) {
  auto got = provider_->Get(kZone, "www.example.com.", "A", clock_.Now());
  ASSERT_FALSE(got);
  EXPECT_TRUE(got.error().retryable);
  EXPECT_EQ(got.error().code, ErrorCode::kTimeout);
  EXPECT_EQ(do_.Requests(), 0);
}

TEST_F(DigitalOceanTest, SetCreatesReplacesAndDeletesSingleRecords) {
  ASSERT_TRUE(
      provider_->Set(kZone, {"www.example.com.", "A", 60, {"192.0.2.1", "192.0.2.2"}}, Deadline()));
  EXPECT_EQ(Data("www", "A"), (std::vector<std::string>{"192.0.2.1", "192.0.2.2"}));
  EXPECT_EQ(do_.Writes(), 2);
  ASSERT_TRUE(
      provider_->Set(kZone, {"www.example.com.", "A", 60, {"192.0.2.2", "192.0.2.3"}}, Deadline()));
  EXPECT_EQ(Data("www", "A"), (std::vector<std::string>{"192.0.2.2", "192.0.2.3"}));
  EXPECT_EQ(do_.Writes(), 3);
  ASSERT_TRUE(
      provider_->Set(kZone, {"www.example.com.", "A", 60, {"192.0.2.2", "192.0.2.3"}}, Deadline()));
  EXPECT_EQ(do_.Writes(), 3);

  // The apex, a CNAME (DigitalOcean wants its trailing dot) and a TXT (plain text).
  ASSERT_TRUE(provider_->Set(kZone, {"example.com.", "A", 60, {"192.0.2.9"}}, Deadline()));
  EXPECT_EQ(Data("@", "A"), std::vector<std::string>{"192.0.2.9"});
  ASSERT_TRUE(
      provider_->Set(kZone, {"alias.example.com.", "CNAME", 60, {"www.example.com."}}, Deadline()));
  EXPECT_EQ(Data("alias", "CNAME"), std::vector<std::string>{"www.example.com."});
  ASSERT_TRUE(
      provider_->Set(kZone, {"txt.example.com.", "TXT", 60, {"\"v=spf1 -all\""}}, Deadline()));
  EXPECT_EQ(Data("txt", "TXT"), std::vector<std::string>{"v=spf1 -all"});
  const int writes = do_.Writes();
  ASSERT_TRUE(
      provider_->Set(kZone, {"txt.example.com.", "TXT", 60, {"\"v=spf1 -all\""}}, Deadline()));
  EXPECT_EQ(do_.Writes(), writes);

  ASSERT_TRUE(provider_->Set(kZone, {"www.example.com.", "A", 60, {}}, Deadline()));
  EXPECT_TRUE(do_.Find("www", "A").empty());
  EXPECT_EQ(do_.Rejected(), 0);
}

TEST_F(DigitalOceanTest, ZoneMustBeTheConfiguredDomain) {
  auto got = provider_->Get("example.net.", "www.example.net.", "A", Deadline());
  ASSERT_FALSE(got);
  EXPECT_FALSE(got.error().retryable);
  EXPECT_TRUE(Contains(got.error().message, "manages domain example.com, not zone example.net."))
      << got.error().message;
  EXPECT_EQ(do_.Requests(), 0);
}

TEST_F(DigitalOceanTest, RateLimitIsWaitedOutWithinTheDeadline) {
  do_.FailNext(3, 429, 2);
  const MonoTime start = clock_.Now();
  ASSERT_TRUE(provider_->Set(kZone, {"www.example.com.", "A", 60, {"192.0.2.7"}}, Deadline()));
  EXPECT_EQ(clock_.Now() - start, std::chrono::seconds(6));
  EXPECT_EQ(Data("www", "A"), std::vector<std::string>{"192.0.2.7"});

  do_.FailNext(1, 429, 61);
  const MonoTime before = clock_.Now();
  auto got = provider_->Get(kZone, "www.example.com.", "A", Deadline(60));
  ASSERT_FALSE(got);
  EXPECT_TRUE(got.error().retryable);
  EXPECT_TRUE(Contains(got.error().message, "(too_many_requests)")) << got.error().message;
  EXPECT_EQ(clock_.Now(), before);
}

TEST_F(DigitalOceanTest, ServerErrorsAreRetryable) {
  do_.FailNext(1, 500);
  auto got = provider_->Get(kZone, "www.example.com.", "A", Deadline());
  ASSERT_FALSE(got);
  EXPECT_TRUE(got.error().retryable);
  EXPECT_TRUE(Contains(got.error().message, "(server_error)")) << got.error().message;
}

TEST_F(DigitalOceanTest, ClientErrorsAreNotRetriedAndCarryDigitalOceansMessage) {
  auto set = provider_->Set(kZone, {"www.example.com.", "A", 10, {"192.0.2.1"}}, Deadline());
  ASSERT_FALSE(set);
  EXPECT_FALSE(set.error().retryable);
  EXPECT_TRUE(Contains(set.error().message, "HTTP 422")) << set.error().message;
  EXPECT_TRUE(Contains(set.error().message, "Ttl must be at least 30. (unprocessable_entity)"))
      << set.error().message;
  EXPECT_EQ(do_.Requests(), 2);
}

TEST_F(DigitalOceanTest, WrongTokenIsAuthenticationFailureWithoutTheToken) {
  testing::TempDir dir;
  const std::string wrong = "wrong-do-token-0q0q";
  const std::string file = dir.Write("do.token", wrong + "\n");
  auto p = Make("token_file: " + file);
  ASSERT_TRUE(p);
  auto got = p->Get(kZone, "www.example.com.", "A", Deadline());
  ASSERT_FALSE(got);
  EXPECT_FALSE(got.error().retryable);
  EXPECT_EQ(got.error().code, ErrorCode::kPermissionDenied);
  EXPECT_TRUE(Contains(got.error().message, "authentication failed")) << got.error().message;
  EXPECT_TRUE(Contains(got.error().message, "file " + file));
  EXPECT_TRUE(Contains(got.error().message, "Unable to authenticate you (unauthorized)"));
  EXPECT_FALSE(Contains(got.error().message, wrong)) << got.error().message;
}

TEST_F(DigitalOceanTest, ConfigErrorsAreLocated) {
  auto make = [&](const std::string& yaml) {
    return testing::MakeProvider("digitalocean", yaml, &http_, &clock_);
  };
  EXPECT_TRUE(testing::FailsWith(make("{domain: example.com}"), {"actuator.yml:1:1", "token_env"}));
  EXPECT_TRUE(testing::FailsWith(make("{token: t}"), {"domain"}));
  EXPECT_TRUE(testing::FailsWith(make("{token: t, domain: 'example .com'}"),
                                 {"actuator.yml:1:20: domain: expected"}));
  EXPECT_TRUE(testing::FailsWith(make("{token: t, domain: example.com, domain_id: 3}"),
                                 {"unknown key \"domain_id\""}));
  EXPECT_TRUE(testing::FailsWith(make("{token: t, token_env: X, domain: example.com}"),
                                 {"set only one of"}));
}

TEST(DigitalOceanStep, DnsUpdateSwitchesAndASecondRunIsANoOp) {
  FakeDigitalOcean fake;
  fake.SetPageSize(1);
  fake.AddRecord({0, "A", "www", "192.0.2.2", 300, false});
  fake.AddRecord({0, "A", "www", "192.0.2.5", 300, false});
  CurlHttpClient http;
  testing::DnsStepRig rig(&http);
  auto step = rig.Load(std::string("  do: {digitalocean: {url: ") + fake.base_url() +
                           ", token: " + FakeDigitalOcean::kToken + ", domain: example.com}}",
                       "{provider: do, zone: example.com, name: www.example.com, type: A, "
                       "records: [192.0.2.3], ttl: 30}");
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome out = rig.Run(**step);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_TRUE(Contains(out.message, "192.0.2.2, 192.0.2.5 (ttl 300) -> 192.0.2.3 (ttl 30)"))
      << out.message;
  EXPECT_EQ(fake.Find("www", "A").size(), 1u);
  EXPECT_EQ(fake.Find("www", "A").at(0).ttl, 30);
  const int writes = fake.Writes();
  EXPECT_EQ(writes, 2);  // one PATCH, one DELETE

  StepOutcome again = rig.Run(**step);
  ASSERT_EQ(again.status, StepStatus::kOk) << again.message;
  EXPECT_TRUE(Contains(again.message, "nothing to do")) << again.message;
  EXPECT_EQ(fake.Writes(), writes);

  // A server error makes the step retryable.
  fake.FailNext(1, 500);
  EXPECT_EQ(rig.Run(**step).status, StepStatus::kRetryable);
}

TEST(FakeDigitalOceanShape, RejectsWhatTheApiRejects) {
  FakeDigitalOcean fake;
  const std::string records = fake.base_url() + "/v2/domains/example.com/records";
  auto cname =
      testing::SendRaw("POST", records, FakeDigitalOcean::kToken,
                       R"({"type":"CNAME","name":"alias","data":"www.example.com","ttl":60})");
  EXPECT_EQ(cname.status, 422);
  auto doc = nlohmann::json::parse(cname.body);
  EXPECT_EQ(doc["id"], "unprocessable_entity");
  EXPECT_EQ(doc["message"], "Data needs to end with a dot (.)");
  auto fqdn = testing::SendRaw("POST", records, FakeDigitalOcean::kToken,
                               R"({"type":"A","name":"www.example.com","data":"192.0.2.1"})");
  EXPECT_EQ(fqdn.status, 422);
  auto no_auth = testing::SendRaw("GET", records, "nope", "");
  EXPECT_EQ(no_auth.status, 401);
  EXPECT_EQ(nlohmann::json::parse(no_auth.body)["id"], "unauthorized");
  EXPECT_EQ(fake.Rejected(), 3);
  EXPECT_EQ(fake.Writes(), 0);
}

}  // namespace
}  // namespace failover
