// The Cloudflare provider against the local fake of Cloudflare's API v4
// (tests/support/fake_cloudflare.h), and the dns_update step through it.
#include "actuator/dns/cloudflare.h"

#include <gtest/gtest.h>

#include "tests/actuator/hosted_dns_test_util.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_cloudflare.h"
#include "tests/support/temp_dir.h"

namespace failover {
namespace {

using testing::Contains;
using testing::FakeCloudflare;
using testing::FakeDnsRecord;

constexpr const char* kZone = "example.com.";

class CloudflareTest : public ::testing::Test {
 protected:
  void SetUp() override {
    token_file_ = dir_.Write("cf.token", std::string(FakeCloudflare::kToken) + "\n");
    provider_ = Make("");
  }

  std::shared_ptr<DnsProvider> Make(const std::string& extra) {
    auto p = testing::MakeProvider("cloudflare",
                                   "{url: " + cf_.base_url() + ", api_token_file: " + token_file_ +
                                       ", zone_id: " + FakeCloudflare::kZoneId + extra + "}",
                                   &http_, &clock_);
    EXPECT_TRUE(p) << p.error().message;
    return p ? *p : nullptr;
  }
  MonoTime Deadline(int seconds = 60) { return clock_.Now() + std::chrono::seconds(seconds); }
  void Add(const std::string& name, const std::string& type, const std::string& content,
           int ttl = 300, bool proxied = false) {
    cf_.AddRecord({0, type, name, content, ttl, proxied});
  }
  std::vector<std::string> Contents(const std::string& name, const std::string& type) {
    std::vector<std::string> out;
    for (const auto& r : cf_.Find(name, type)) out.push_back(r.content);
    return out;
  }

  testing::TempDir dir_;
  std::string token_file_;
  FakeCloudflare cf_;
  CurlHttpClient http_;
  testing::FakeClock clock_;
  std::shared_ptr<DnsProvider> provider_;
};

TEST_F(CloudflareTest, GetReadsTheRecordsOfNameAndType) {
  EXPECT_EQ(provider_->kind(), "cloudflare");
  Add("www.example.com", "A", "192.0.2.2", 120);
  Add("www.example.com", "A", "192.0.2.1", 120);
  Add("www.example.com", "AAAA", "2001:db8::1", 120);
  Add("api.example.com", "A", "192.0.2.9", 120);
  auto got = provider_->Get(kZone, "www.example.com.", "A", Deadline());
  ASSERT_TRUE(got) << got.error().message;
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, (DnsRecordSet{"www.example.com.", "A", 120, {"192.0.2.1", "192.0.2.2"}}));

  auto none = provider_->Get(kZone, "nothing.example.com.", "A", Deadline());
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_FALSE(none->has_value());
  // The lookup is by name and type, with the bearer token.
  auto log = cf_.Log();
  ASSERT_FALSE(log.empty());
  EXPECT_TRUE(Contains(log[0], std::string("GET /client/v4/zones/") + FakeCloudflare::kZoneId +
                                   "/dns_records?type=A&name=www.example.com&per_page=100&page=1"))
      << log[0];
}

TEST_F(CloudflareTest, SetCreatesReplacesAndDeletesSingleRecords) {
  // Create: two records where there were none.
  ASSERT_TRUE(
      provider_->Set(kZone, {"www.example.com.", "A", 60, {"192.0.2.1", "192.0.2.2"}}, Deadline()));
  EXPECT_EQ(Contents("www.example.com", "A"), (std::vector<std::string>{"192.0.2.1", "192.0.2.2"}));
  EXPECT_EQ(cf_.Writes(), 2);

  // Replace one of two: the kept record is not touched, the other one changes content.
  ASSERT_TRUE(
      provider_->Set(kZone, {"www.example.com.", "A", 60, {"192.0.2.1", "192.0.2.3"}}, Deadline()));
  EXPECT_EQ(Contents("www.example.com", "A"), (std::vector<std::string>{"192.0.2.1", "192.0.2.3"}));
  EXPECT_EQ(cf_.Writes(), 3);

  // Shrink to one: a delete.
  ASSERT_TRUE(provider_->Set(kZone, {"www.example.com.", "A", 60, {"192.0.2.3"}}, Deadline()));
  EXPECT_EQ(Contents("www.example.com", "A"), std::vector<std::string>{"192.0.2.3"});
  EXPECT_EQ(cf_.Writes(), 4);

  // The same again writes nothing.
  ASSERT_TRUE(provider_->Set(kZone, {"www.example.com.", "A", 60, {"192.0.2.3"}}, Deadline()));
  EXPECT_EQ(cf_.Writes(), 4);

  // A TTL change alone is one PATCH of the ttl.
  ASSERT_TRUE(provider_->Set(kZone, {"www.example.com.", "A", 120, {"192.0.2.3"}}, Deadline()));
  EXPECT_EQ(cf_.Find("www.example.com", "A").at(0).ttl, 120);
  EXPECT_EQ(cf_.Writes(), 5);

  // No records: the record set is deleted.
  ASSERT_TRUE(provider_->Set(kZone, {"www.example.com.", "A", 120, {}}, Deadline()));
  EXPECT_TRUE(cf_.Find("www.example.com", "A").empty());
  auto got = provider_->Get(kZone, "www.example.com.", "A", Deadline());
  ASSERT_TRUE(got);
  EXPECT_FALSE(got->has_value());
  EXPECT_EQ(cf_.Rejected(), 0);
}

TEST_F(CloudflareTest, CnameAndTxtRoundTripInCloudflareForm) {
  ASSERT_TRUE(provider_->Set(kZone, {"alias.example.com.", "CNAME", 300, {"target.example.net."}},
                             Deadline()));
  // Cloudflare holds targets without the trailing dot.
  EXPECT_EQ(Contents("alias.example.com", "CNAME"), std::vector<std::string>{"target.example.net"});
  ASSERT_TRUE(provider_->Set(kZone, {"alias.example.com.", "CNAME", 300, {"target.example.net."}},
                             Deadline()));
  EXPECT_EQ(cf_.Writes(), 1);
  ASSERT_TRUE(
      provider_->Set(kZone, {"txt.example.com.", "TXT", 300, {"\"v=spf1 -all\""}}, Deadline()));
  ASSERT_TRUE(
      provider_->Set(kZone, {"txt.example.com.", "TXT", 300, {"\"v=spf1 -all\""}}, Deadline()));
  EXPECT_EQ(cf_.Writes(), 2);
}

TEST_F(CloudflareTest, ProxiedIsKeptUnlessConfigured) {
  Add("www.example.com", "A", "192.0.2.1", 300, true);
  ASSERT_TRUE(provider_->Set(kZone, {"www.example.com.", "A", 300, {"192.0.2.5", "192.0.2.6"}},
                             Deadline()));
  auto recs = cf_.Find("www.example.com", "A");
  ASSERT_EQ(recs.size(), 2u);
  // The changed record stays proxied, and the added one joins it.
  EXPECT_TRUE(recs[0].proxied);
  EXPECT_TRUE(recs[1].proxied);

  // Configured: proxied is set as configured, even where the content is right.
  auto unproxied = Make(", proxied: false");
  ASSERT_TRUE(unproxied->Set(kZone, {"www.example.com.", "A", 300, {"192.0.2.5", "192.0.2.6"}},
                             Deadline()));
  for (const auto& r : cf_.Find("www.example.com", "A")) EXPECT_FALSE(r.proxied) << r.content;
  const int writes = cf_.Writes();
  ASSERT_TRUE(unproxied->Set(kZone, {"www.example.com.", "A", 300, {"192.0.2.5", "192.0.2.6"}},
                             Deadline()));
  EXPECT_EQ(cf_.Writes(), writes);
}

TEST_F(CloudflareTest, ReadsEveryPage) {
  cf_.SetPageSize(2);
  for (int i = 1; i <= 5; ++i) Add("www.example.com", "A", "192.0.2." + std::to_string(i), 60);
  auto got = provider_->Get(kZone, "www.example.com.", "A", Deadline());
  ASSERT_TRUE(got) << got.error().message;
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->records.size(), 5u);
  EXPECT_EQ(cf_.Requests(), 3);

  // Set sees the records of every page: all but one are deleted.
  ASSERT_TRUE(provider_->Set(kZone, {"www.example.com.", "A", 60, {"192.0.2.5"}}, Deadline()));
  EXPECT_EQ(Contents("www.example.com", "A"), std::vector<std::string>{"192.0.2.5"});
}

TEST_F(CloudflareTest, RateLimitIsWaitedOutWithinTheDeadline) {
  Add("www.example.com", "A", "192.0.2.1", 60);
  cf_.FailNext(2, 429, 7);
  const MonoTime start = clock_.Now();
  auto got = provider_->Get(kZone, "www.example.com.", "A", Deadline(60));
  ASSERT_TRUE(got) << got.error().message;
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(cf_.Faulted(), 2);
  // Waited through the clock, as long as Retry-After said, twice.
  EXPECT_EQ(clock_.Now() - start, std::chrono::seconds(14));
}

TEST_F(CloudflareTest, RateLimitPastTheDeadlineIsRetryableWithoutWaiting) {
  cf_.FailNext(1, 429, 300);
  const MonoTime start = clock_.Now();
  auto got = provider_->Get(kZone, "www.example.com.", "A", Deadline(60));
  ASSERT_FALSE(got);
  EXPECT_TRUE(got.error().retryable);
  EXPECT_TRUE(Contains(got.error().message, "HTTP 429")) << got.error().message;
  EXPECT_TRUE(Contains(got.error().message, "Retry-After 300s")) << got.error().message;
  EXPECT_EQ(clock_.Now(), start);
  EXPECT_EQ(cf_.Requests(), 1);
}

TEST_F(CloudflareTest, ServerErrorsAreRetryable) {
  cf_.FailNext(1, 502);
  auto set = provider_->Set(kZone, {"www.example.com.", "A", 60, {"192.0.2.1"}}, Deadline());
  ASSERT_FALSE(set);
  EXPECT_TRUE(set.error().retryable);
  EXPECT_TRUE(Contains(set.error().message, "HTTP 502")) << set.error().message;
  EXPECT_EQ(cf_.Writes(), 0);
  // Cloudflare asks to retry 409 too.
  cf_.FailNext(1, 409);
  auto got = provider_->Get(kZone, "www.example.com.", "A", Deadline());
  ASSERT_FALSE(got);
  EXPECT_TRUE(got.error().retryable);
}

TEST_F(CloudflareTest, ClientErrorsAreNotRetriedAndCarryCloudflaresMessage) {
  // A ttl Cloudflare refuses: its own message and code, one request, no retry.
  auto set = provider_->Set(kZone, {"www.example.com.", "A", 30, {"192.0.2.1"}}, Deadline());
  ASSERT_FALSE(set);
  EXPECT_FALSE(set.error().retryable);
  EXPECT_TRUE(Contains(set.error().message, "HTTP 400")) << set.error().message;
  EXPECT_TRUE(Contains(set.error().message,
                       "TTL must be between 60 and 86400 seconds, or 1 for Automatic. (code 9000)"))
      << set.error().message;
  EXPECT_EQ(cf_.Requests(), 2);  // the read and the refused create
  EXPECT_TRUE(cf_.Find("www.example.com", "A").empty());
}

TEST_F(CloudflareTest, WrongTokenIsAuthenticationFailureWithoutTheToken) {
  const std::string wrong = "wrong-cf-token-55aa";
  const std::string file = dir_.Write("wrong.token", wrong);
  auto p = testing::MakeProvider("cloudflare",
                                 "{url: " + cf_.base_url() + ", api_token_file: " + file +
                                     ", zone_id: " + FakeCloudflare::kZoneId + "}",
                                 &http_, &clock_);
  ASSERT_TRUE(p) << p.error().message;
  auto got = (*p)->Get(kZone, "www.example.com.", "A", Deadline());
  ASSERT_FALSE(got);
  EXPECT_FALSE(got.error().retryable);
  EXPECT_EQ(got.error().code, ErrorCode::kPermissionDenied);
  EXPECT_TRUE(Contains(got.error().message, "authentication failed")) << got.error().message;
  EXPECT_TRUE(Contains(got.error().message, "file " + file)) << got.error().message;
  EXPECT_TRUE(Contains(got.error().message, "Authentication error (code 10000)"));
  EXPECT_FALSE(Contains(got.error().message, wrong)) << got.error().message;
  EXPECT_FALSE(Contains(got.error().message, FakeCloudflare::kToken));
  auto set = (*p)->Set(kZone, {"www.example.com.", "A", 60, {"192.0.2.1"}}, Deadline());
  ASSERT_FALSE(set);
  EXPECT_FALSE(Contains(set.error().message, wrong));
  EXPECT_EQ(cf_.Writes(), 0);
}

TEST_F(CloudflareTest, UnknownZoneIdIsNotFound) {
  auto p =
      testing::MakeProvider("cloudflare",
                            "{url: " + cf_.base_url() + ", api_token: " + FakeCloudflare::kToken +
                                ", zone_id: ffffffffffffffffffffffffffffffff}",
                            &http_, &clock_);
  ASSERT_TRUE(p) << p.error().message;
  auto got = (*p)->Get(kZone, "www.example.com.", "A", Deadline());
  ASSERT_FALSE(got);
  EXPECT_FALSE(got.error().retryable);
  EXPECT_EQ(got.error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(Contains(got.error().message, "perhaps your object identifier is invalid"))
      << got.error().message;
}

TEST_F(CloudflareTest, ConfigErrorsAreLocated) {
  auto make = [&](const std::string& yaml) {
    return testing::MakeProvider("cloudflare", yaml, &http_, &clock_);
  };
  const std::string zone = std::string("{api_token: t, zone_id: ") + FakeCloudflare::kZoneId;
  EXPECT_TRUE(testing::FailsWith(make(std::string("{zone_id: ") + FakeCloudflare::kZoneId + "}"),
                                 {"actuator.yml:1:1", "api_token_file"}));
  EXPECT_TRUE(testing::FailsWith(make("{api_token: t}"), {"zone_id"}));
  EXPECT_TRUE(testing::FailsWith(make("{api_token: t, zone_id: example.com}"),
                                 {"actuator.yml:1:25: zone_id: expected"}));
  EXPECT_TRUE(testing::FailsWith(make(zone + ", zone: example.com}"), {"unknown key \"zone\""}));
  EXPECT_TRUE(testing::FailsWith(make(zone + ", proxied: maybe}"), {"proxied"}));
  EXPECT_TRUE(
      testing::FailsWith(make(zone + ", url: api.cloudflare.com}"), {"expected an http://"}));
}

TEST(CloudflareStep, DnsUpdateSwitchesAndASecondRunIsANoOp) {
  FakeCloudflare cf;
  cf.AddRecord({0, "A", "www.example.com", "192.0.2.2", 300, true});
  CurlHttpClient http;
  testing::DnsStepRig rig(&http);
  auto step = rig.Load(std::string("  cf: {cloudflare: {url: ") + cf.base_url() + ", api_token: " +
                           FakeCloudflare::kToken + ", zone_id: " + FakeCloudflare::kZoneId + "}}",
                       "{provider: cf, zone: example.com, name: www.example.com, type: A, "
                       "records: [192.0.2.3, 192.0.2.4], ttl: 60}");
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome out = rig.Run(**step);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_TRUE(Contains(out.message, "192.0.2.2 (ttl 300) -> 192.0.2.3, 192.0.2.4 (ttl 60)"))
      << out.message;
  auto recs = cf.Find("www.example.com", "A");
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].content, "192.0.2.3");
  EXPECT_EQ(recs[1].content, "192.0.2.4");
  EXPECT_TRUE(recs[0].proxied && recs[1].proxied);
  const int writes = cf.Writes();
  EXPECT_EQ(writes, 2);

  StepOutcome again = rig.Run(**step);
  ASSERT_EQ(again.status, StepStatus::kOk) << again.message;
  EXPECT_TRUE(Contains(again.message, "nothing to do")) << again.message;
  EXPECT_EQ(again.details["changed"], false);
  EXPECT_EQ(cf.Writes(), writes);

  // A rate limit longer than the step's deadline makes the step retryable.
  cf.FailNext(1, 429, 3600);
  StepOutcome limited = rig.Run(**step);
  EXPECT_EQ(limited.status, StepStatus::kRetryable) << limited.message;
}

TEST(FakeCloudflareShape, RejectsWhatTheApiRejects) {
  FakeCloudflare cf;
  const std::string records = cf.base_url() + "/zones/" + FakeCloudflare::kZoneId + "/dns_records";
  auto unknown = testing::SendRaw(
      "POST", records, FakeCloudflare::kToken,
      R"({"type":"A","name":"www.example.com","content":"192.0.2.1","ttl":60,"data":"x"})");
  EXPECT_EQ(unknown.status, 400);
  auto doc = nlohmann::json::parse(unknown.body);
  EXPECT_EQ(doc["success"], false);
  EXPECT_TRUE(Contains(doc["errors"][0]["message"].get<std::string>(), "data"));
  auto missing = testing::SendRaw("POST", records, FakeCloudflare::kToken,
                                  R"({"type":"A","name":"www.example.com","ttl":60})");
  EXPECT_EQ(missing.status, 400);
  auto outside =
      testing::SendRaw("POST", records, FakeCloudflare::kToken,
                       R"({"type":"A","name":"www.example.org","content":"192.0.2.1","ttl":60})");
  EXPECT_EQ(outside.status, 400);
  auto no_auth = testing::SendRaw("GET", records, "nope", "");
  EXPECT_EQ(no_auth.status, 403);
  EXPECT_EQ(nlohmann::json::parse(no_auth.body)["errors"][0]["code"], 10000);
  EXPECT_EQ(cf.Rejected(), 4);
  EXPECT_EQ(cf.Writes(), 0);
}

}  // namespace
}  // namespace failover
