// The Linode provider against the local fake of Linode's API v4
// (tests/support/fake_linode.h), and the dns_update step through it.
#include "actuator/dns/linode.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "tests/actuator/hosted_dns_test_util.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_linode.h"

namespace failover {
namespace {

using testing::Contains;
using testing::FakeLinode;

constexpr const char* kZone = "example.com.";

class LinodeTest : public ::testing::Test {
 protected:
  void SetUp() override { provider_ = Make(std::string("token: ") + FakeLinode::kToken); }

  std::shared_ptr<DnsProvider> Make(const std::string& token_yaml) {
    auto p = testing::MakeProvider(
        "linode", "{url: " + lin_.base_url() + ", " + token_yaml + ", domain_id: 1234}", &http_,
        &clock_);
    EXPECT_TRUE(p) << p.error().message;
    return p ? *p : nullptr;
  }
  MonoTime Deadline(int seconds = 60) { return clock_.Now() + std::chrono::seconds(seconds); }
  void Add(const std::string& name, const std::string& type, const std::string& target,
           int ttl = 300) {
    lin_.AddRecord({0, type, name, target, ttl, false});
  }
  std::vector<std::string> Targets(const std::string& name, const std::string& type) {
    std::vector<std::string> out;
    for (const auto& r : lin_.Find(name, type)) out.push_back(r.content);
    return out;
  }

  FakeLinode lin_;
  CurlHttpClient http_;
  testing::FakeClock clock_;
  std::shared_ptr<DnsProvider> provider_;
};

TEST_F(LinodeTest, GetReadsTheRecordsOfNameAndTypeOnEveryPage) {
  EXPECT_EQ(provider_->kind(), "linode");
  lin_.SetPageSize(2);
  for (int i = 1; i <= 5; ++i) Add("www", "A", "192.0.2." + std::to_string(i), 120);
  for (int i = 1; i <= 6; ++i) Add("other" + std::to_string(i), "A", "192.0.2.99");
  Add("www", "AAAA", "2001:db8::1");
  auto got = provider_->Get(kZone, "www.example.com.", "A", Deadline());
  ASSERT_TRUE(got) << got.error().message;
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->records.size(), 5u);
  EXPECT_EQ((*got)->ttl, 120);
  // The X-Filter narrowed the list to the 5 records: three pages of two.
  EXPECT_EQ(lin_.Requests(), 3);
  EXPECT_TRUE(Contains(lin_.Log().at(0), "GET /v4/domains/1234/records?page=1&page_size=500"))
      << lin_.Log().at(0);

  // The apex is the empty name.
  Add("", "A", "192.0.2.50");
  auto apex = provider_->Get(kZone, "example.com.", "A", Deadline());
  ASSERT_TRUE(apex) << apex.error().message;
  ASSERT_TRUE(apex->has_value());
  EXPECT_EQ((*apex)->records, std::vector<std::string>{"192.0.2.50"});
}

TEST_F(LinodeTest, SetCreatesReplacesAndDeletesSingleRecords) {
  ASSERT_TRUE(provider_->Set(kZone, {"www.example.com.", "A", 300, {"192.0.2.1", "192.0.2.2"}},
                             Deadline()));
  EXPECT_EQ(Targets("www", "A"), (std::vector<std::string>{"192.0.2.1", "192.0.2.2"}));
  EXPECT_EQ(lin_.Writes(), 2);
  ASSERT_TRUE(provider_->Set(kZone, {"www.example.com.", "A", 300, {"192.0.2.3"}}, Deadline()));
  EXPECT_EQ(Targets("www", "A"), std::vector<std::string>{"192.0.2.3"});
  EXPECT_EQ(lin_.Writes(), 4);  // one PUT, one DELETE
  ASSERT_TRUE(provider_->Set(kZone, {"www.example.com.", "A", 300, {"192.0.2.3"}}, Deadline()));
  EXPECT_EQ(lin_.Writes(), 4);

  ASSERT_TRUE(provider_->Set(kZone, {"alias.example.com.", "CNAME", 300, {"www.example.com."}},
                             Deadline()));
  EXPECT_EQ(Targets("alias", "CNAME"), std::vector<std::string>{"www.example.com"});
  ASSERT_TRUE(
      provider_->Set(kZone, {"txt.example.com.", "TXT", 300, {"\"v=spf1 -all\""}}, Deadline()));
  EXPECT_EQ(Targets("txt", "TXT"), std::vector<std::string>{"v=spf1 -all"});
  const int writes = lin_.Writes();
  ASSERT_TRUE(
      provider_->Set(kZone, {"txt.example.com.", "TXT", 300, {"\"v=spf1 -all\""}}, Deadline()));
  EXPECT_EQ(lin_.Writes(), writes);

  ASSERT_TRUE(provider_->Set(kZone, {"www.example.com.", "A", 300, {}}, Deadline()));
  EXPECT_TRUE(lin_.Find("www", "A").empty());
  EXPECT_EQ(lin_.Rejected(), 0);
}

TEST_F(LinodeTest, TtlIsRoundedUpWithAWarning) {
  EXPECT_EQ(LinodeTtl(0), 0);
  EXPECT_EQ(LinodeTtl(1), 30);
  EXPECT_EQ(LinodeTtl(30), 30);
  EXPECT_EQ(LinodeTtl(45), 120);
  EXPECT_EQ(LinodeTtl(86401), 172800);
  EXPECT_EQ(LinodeTtl(5000000), 2419200);

  testing::LogCapture logs;
  ASSERT_TRUE(provider_->Set(kZone, {"www.example.com.", "A", 45, {"192.0.2.1"}}, Deadline()));
  EXPECT_EQ(lin_.Find("www", "A").at(0).ttl, 120);
  EXPECT_TRUE(Contains(logs.All(), "level=warn")) << logs.All();
  EXPECT_TRUE(Contains(logs.All(), "ttl=45 ttl_sec=120")) << logs.All();
  // It reads back as asked, so the step sees its desired state; no second write.
  auto got = provider_->Get(kZone, "www.example.com.", "A", Deadline());
  ASSERT_TRUE(got && got->has_value());
  EXPECT_EQ((*got)->ttl, 45);
  ASSERT_TRUE(provider_->Set(kZone, {"www.example.com.", "A", 45, {"192.0.2.1"}}, Deadline()));
  EXPECT_EQ(lin_.Writes(), 1);

  // An allowed TTL is sent as it is, without a warning.
  testing::LogCapture quiet;
  ASSERT_TRUE(provider_->Set(kZone, {"www.example.com.", "A", 300, {"192.0.2.1"}}, Deadline()));
  EXPECT_EQ(lin_.Find("www", "A").at(0).ttl, 300);
  EXPECT_FALSE(Contains(quiet.All(), "level=warn")) << quiet.All();
}

TEST_F(LinodeTest, RateLimitIsWaitedOutWithinTheDeadline) {
  Add("www", "A", "192.0.2.1");
  lin_.FailNext(1, 429, 5);
  const MonoTime start = clock_.Now();
  ASSERT_TRUE(provider_->Set(kZone, {"www.example.com.", "A", 300, {"192.0.2.7"}}, Deadline()));
  EXPECT_EQ(clock_.Now() - start, std::chrono::seconds(5));
  EXPECT_EQ(Targets("www", "A"), std::vector<std::string>{"192.0.2.7"});

  lin_.FailNext(1, 429, 120);
  const MonoTime before = clock_.Now();
  auto got = provider_->Get(kZone, "www.example.com.", "A", Deadline(30));
  ASSERT_FALSE(got);
  EXPECT_TRUE(got.error().retryable);
  EXPECT_TRUE(Contains(got.error().message, "Too many requests")) << got.error().message;
  EXPECT_EQ(clock_.Now(), before);
}

TEST_F(LinodeTest, ServerErrorsAreRetryableUnlessInMaintenance) {
  lin_.FailNext(1, 500);
  auto got = provider_->Get(kZone, "www.example.com.", "A", Deadline());
  ASSERT_FALSE(got);
  EXPECT_TRUE(got.error().retryable);
  lin_.FailNext(1, 503);
  got = provider_->Get(kZone, "www.example.com.", "A", Deadline());
  ASSERT_FALSE(got);
  EXPECT_TRUE(got.error().retryable);
  lin_.FailNext(1, 503, -1, {{"X-Maintenance-Mode", "1"}});
  got = provider_->Get(kZone, "www.example.com.", "A", Deadline());
  ASSERT_FALSE(got);
  EXPECT_FALSE(got.error().retryable) << got.error().message;
  EXPECT_TRUE(Contains(got.error().message, "HTTP 503")) << got.error().message;
}

TEST_F(LinodeTest, ClientErrorsAreNotRetriedAndCarryLinodesMessage) {
  auto set = provider_->Set(kZone, {"www.example.com.", "A", 300, {"not-an-address"}}, Deadline());
  ASSERT_FALSE(set);
  EXPECT_FALSE(set.error().retryable);
  EXPECT_TRUE(Contains(set.error().message, "HTTP 400")) << set.error().message;
  EXPECT_TRUE(Contains(set.error().message, "target: Invalid value for target"))
      << set.error().message;
  EXPECT_EQ(lin_.Requests(), 2);

  auto other = testing::MakeProvider(
      "linode", "{url: " + lin_.base_url() + ", token: " + FakeLinode::kToken + ", domain_id: 99}",
      &http_, &clock_);
  ASSERT_TRUE(other);
  auto got = (*other)->Get(kZone, "www.example.com.", "A", Deadline());
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(Contains(got.error().message, "Not found")) << got.error().message;
}

TEST_F(LinodeTest, WrongTokenIsAuthenticationFailureWithoutTheToken) {
  const std::string wrong = "wrong-linode-token-91zz";
  setenv("FAILOVER_TEST_LINODE_TOKEN", wrong.c_str(), 1);
  auto p = Make("token_env: FAILOVER_TEST_LINODE_TOKEN");
  ASSERT_TRUE(p);
  auto set = p->Set(kZone, {"www.example.com.", "A", 300, {"192.0.2.1"}}, Deadline());
  ASSERT_FALSE(set);
  EXPECT_FALSE(set.error().retryable);
  EXPECT_EQ(set.error().code, ErrorCode::kPermissionDenied);
  EXPECT_TRUE(Contains(set.error().message, "authentication failed")) << set.error().message;
  EXPECT_TRUE(Contains(set.error().message, "env FAILOVER_TEST_LINODE_TOKEN"));
  EXPECT_TRUE(Contains(set.error().message, "Invalid Token"));
  EXPECT_FALSE(Contains(set.error().message, wrong)) << set.error().message;
  EXPECT_EQ(lin_.Writes(), 0);
  unsetenv("FAILOVER_TEST_LINODE_TOKEN");
}

TEST_F(LinodeTest, ConfigErrorsAreLocated) {
  auto make = [&](const std::string& yaml) {
    return testing::MakeProvider("linode", yaml, &http_, &clock_);
  };
  EXPECT_TRUE(testing::FailsWith(make("{domain_id: 1234}"), {"actuator.yml:1:1", "token_file"}));
  EXPECT_TRUE(testing::FailsWith(make("{token: t}"), {"domain_id"}));
  EXPECT_TRUE(
      testing::FailsWith(make("{token: t, domain_id: -3}"), {"actuator.yml:1:23: domain_id"}));
  EXPECT_TRUE(testing::FailsWith(make("{token: t, domain_id: 1, api_token: x}"),
                                 {"unknown key \"api_token\""}));
  EXPECT_TRUE(testing::FailsWith(make("{token_file: /nonexistent/linode.token, domain_id: 1}"),
                                 {"/nonexistent/linode.token"}));
}

TEST(LinodeStep, DnsUpdateWithARoundedTtlConvergesAndASecondRunIsANoOp) {
  FakeLinode lin;
  lin.AddRecord({0, "A", "www", "192.0.2.2", 3600, false});
  CurlHttpClient http;
  const std::string providers = std::string("  lin: {linode: {url: ") + lin.base_url() +
                                ", token: " + FakeLinode::kToken + ", domain_id: 1234}}";
  const std::string step_yaml =
      "{provider: lin, zone: example.com., name: www.example.com., type: A, "
      "records: [192.0.2.3], ttl: 45}";
  testing::DnsStepRig rig(&http);
  auto step = rig.Load(providers, step_yaml);
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome out = rig.Run(**step);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_EQ(lin.Find("www", "A").at(0).content, "192.0.2.3");
  EXPECT_EQ(lin.Find("www", "A").at(0).ttl, 120);
  EXPECT_EQ(lin.Writes(), 1);

  StepOutcome again = rig.Run(**step);
  ASSERT_EQ(again.status, StepStatus::kOk) << again.message;
  EXPECT_TRUE(Contains(again.message, "nothing to do")) << again.message;
  EXPECT_EQ(lin.Writes(), 1);

  // After a restart (a new provider that never rounded anything) the run writes nothing
  // either: Linode already holds the rounded TTL.
  testing::DnsStepRig restarted(&http);
  auto fresh = restarted.Load(providers, step_yaml);
  ASSERT_TRUE(fresh) << fresh.error().message;
  StepOutcome third = restarted.Run(**fresh);
  ASSERT_EQ(third.status, StepStatus::kOk) << third.message;
  EXPECT_EQ(lin.Writes(), 1);
  StepOutcome fourth = restarted.Run(**fresh);
  EXPECT_TRUE(Contains(fourth.message, "nothing to do")) << fourth.message;
}

TEST(FakeLinodeShape, RejectsWhatTheApiRejects) {
  FakeLinode lin;
  const std::string records = lin.base_url() + "/domains/1234/records";
  auto fqdn = testing::SendRaw("POST", records, FakeLinode::kToken,
                               R"({"type":"A","name":"www.example.com","target":"192.0.2.1"})");
  EXPECT_EQ(fqdn.status, 400);
  EXPECT_EQ(nlohmann::json::parse(fqdn.body)["errors"][0]["field"], "name");
  auto mistyped = testing::SendRaw("POST", records, FakeLinode::kToken,
                                   R"({"type":"A","name":"www","target":"192.0.2.1","ttl":30})");
  EXPECT_EQ(mistyped.status, 400);
  auto no_auth = testing::SendRaw("GET", records + "?page=1&page_size=25", "nope", "");
  EXPECT_EQ(no_auth.status, 401);
  EXPECT_EQ(nlohmann::json::parse(no_auth.body)["errors"][0]["reason"], "Invalid Token");
  EXPECT_EQ(lin.Rejected(), 3);
  EXPECT_EQ(lin.Writes(), 0);
}

}  // namespace
}  // namespace failover
