// The Cloudflare Load Balancing provider (actuator/lb/cloudflare_lb.cc) against the local
// fake of Cloudflare's pools and load balancers API (tests/support/fake_cloudflare_lb.h),
// through the lb_pool step.
#include <gtest/gtest.h>

#include "tests/actuator/lb_provider_test_util.h"
#include "tests/actuator/lb_test_util.h"
#include "tests/support/fake_cloudflare_lb.h"

namespace failover {
namespace {

using nlohmann::json;
using testing::FakeCloudflareLb;
using testing::Has;

constexpr const char* kUs = "11111111111111111111111111111111";
constexpr const char* kEu = "22222222222222222222222222222222";
constexpr const char* kLb = "99999999999999999999999999999999";

class CloudflareLbTest : public ::testing::Test {
 protected:
  static json Origin(const std::string& name, const std::string& address) {
    json o = json::object();
    o["name"] = name;
    o["address"] = address;
    o["enabled"] = true;
    o["weight"] = 1;
    return o;
  }
  void SetUp() override {
    json us = json::object();
    us["id"] = kUs;
    us["name"] = "us-east";
    us["enabled"] = true;
    us["origins"] =
        json::array({Origin("us-east-1", "192.0.2.1"), Origin("us-east-2", "192.0.2.2")});
    cf_.AddPool(us);
    json eu = json::object();
    eu["id"] = kEu;
    eu["name"] = "eu-west";
    eu["enabled"] = true;
    eu["origins"] = json::array({Origin("eu-west-1", "198.51.100.1")});
    cf_.AddPool(eu);
    json lb = json::object();
    lb["id"] = kLb;
    lb["name"] = "www.example.com";
    lb["default_pools"] = json::array({kUs, kEu});
    lb["fallback_pool"] = kEu;
    cf_.AddLoadBalancer(lb);
  }
  std::string Lbs(bool zone = true) {
    return "  cf: {cloudflare_lb: {url: \"" + cf_.base_url() +
           "\", api_token: " + FakeCloudflareLb::kToken +
           ", account_id: " + FakeCloudflareLb::kAccountId +
           (zone ? std::string(", zone_id: ") + FakeCloudflareLb::kZoneId : std::string()) + "}}";
  }
  StepOutcome Run(const std::string& step) {
    auto s = rig_.Load(Lbs(), step);
    EXPECT_TRUE(s) << s.error().message;
    if (!s) return StepOutcome::Fail("not loaded");
    return rig_.Run(**s);
  }

  FakeCloudflareLb cf_;
  testing::LbStepRig rig_;
};

TEST_F(CloudflareLbTest, DisablesAndEnablesAPool) {
  auto out = Run(std::string("{load_balancer: cf, pool_id: ") + kUs + ", enabled: false}");
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_EQ(cf_.Pool(kUs)["enabled"], false);
  EXPECT_EQ(cf_.Pool(kEu)["enabled"], true);
  EXPECT_TRUE(Has(out.message, "pool " + std::string(kUs) + ": enabled -> disabled"))
      << out.message;
  auto again = Run(std::string("{load_balancer: cf, pool_id: ") + kUs + ", enabled: false}");
  EXPECT_TRUE(Has(again.message, "already disabled")) << again.message;
  EXPECT_EQ(cf_.Writes(), 1);
  ASSERT_EQ(Run(std::string("{load_balancer: cf, pool_id: ") + kUs + ", enabled: true}").status,
            StepStatus::kOk);
  EXPECT_EQ(cf_.Pool(kUs)["enabled"], true);
}

TEST_F(CloudflareLbTest, ChangesOneOriginAndKeepsTheOthers) {
  auto out = Run(std::string("{load_balancer: cf, pool_id: ") + kUs +
                 ", origin: us-east-2, enabled: false, weight: 0.25}");
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  json origins = cf_.Pool(kUs)["origins"];
  ASSERT_EQ(origins.size(), 2u);
  EXPECT_EQ(origins[0]["name"], "us-east-1");
  EXPECT_EQ(origins[0]["enabled"], true);
  EXPECT_EQ(origins[0]["address"], "192.0.2.1");
  EXPECT_EQ(origins[1]["enabled"], false);
  EXPECT_DOUBLE_EQ(origins[1]["weight"].get<double>(), 0.25);
  EXPECT_TRUE(Has(out.message, "enabled, weight 1.00") && Has(out.message, "disabled, weight 0.25"))
      << out.message;

  auto unknown = Run(std::string("{load_balancer: cf, pool_id: ") + kUs +
                     ", origin: ap-south-1, enabled: false}");
  EXPECT_EQ(unknown.status, StepStatus::kFailed);
  EXPECT_TRUE(Has(unknown.message,
                  "has no origin named \"ap-south-1\" (it has: us-east-1, "
                  "us-east-2)"))
      << unknown.message;
}

TEST_F(CloudflareLbTest, SetsTheDefaultAndFallbackPools) {
  auto out = Run(std::string("{load_balancer: cf, load_balancer_id: ") + kLb +
                 ", default_pools: [" + kEu + "], fallback_pool: " + kEu + "}");
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_EQ(cf_.LoadBalancer(kLb)["default_pools"], json::array({kEu}));
  EXPECT_EQ(cf_.LoadBalancer(kLb)["fallback_pool"], kEu);
  EXPECT_EQ(out.details["before"]["default_pools"], json::array({kUs, kEu}));
}

TEST_F(CloudflareLbTest, ApiErrorsCarryCloudflaresMessageAndCode) {
  const std::string missing = "33333333333333333333333333333333";
  auto out = Run(std::string("{load_balancer: cf, load_balancer_id: ") + kLb +
                 ", default_pools: [" + missing + "]}");
  EXPECT_EQ(out.status, StepStatus::kFailed) << out.message;
  EXPECT_TRUE(Has(out.message, "cloudflare_lb: setting load balancer " + std::string(kLb)))
      << out.message;
  EXPECT_TRUE(Has(out.message, "HTTP 400")) << out.message;
  EXPECT_TRUE(Has(out.message, "not found (code 1002)")) << out.message;
  EXPECT_EQ(cf_.LoadBalancer(kLb)["default_pools"], json::array({kUs, kEu}));

  cf_.FailNext(1, 500);
  auto flaky = Run(std::string("{load_balancer: cf, pool_id: ") + kUs + ", enabled: false}");
  EXPECT_EQ(flaky.status, StepStatus::kRetryable) << flaky.message;
}

TEST_F(CloudflareLbTest, ConfigErrorsNameTheKey) {
  auto both = rig_.Load(Lbs(), std::string("{load_balancer: cf, pool_id: ") + kUs +
                                   ", load_balancer_id: " + kLb + ", enabled: true}");
  ASSERT_FALSE(both);
  EXPECT_TRUE(Has(both.error().message, "exactly one of pool_id")) << both.error().message;

  auto weight = rig_.Load(Lbs(), std::string("{load_balancer: cf, pool_id: ") + kUs +
                                     ", origin: us-east-1, weight: 2}");
  ASSERT_FALSE(weight);
  EXPECT_TRUE(Has(weight.error().message, "lb_pool.weight: expected a weight between 0 and 1"))
      << weight.error().message;

  auto pool_weight =
      rig_.Load(Lbs(), std::string("{load_balancer: cf, pool_id: ") + kUs + ", weight: 0.5}");
  ASSERT_FALSE(pool_weight);
  EXPECT_TRUE(Has(pool_weight.error().message, "needs origin")) << pool_weight.error().message;

  auto no_zone = rig_.Load(Lbs(false), std::string("{load_balancer: cf, load_balancer_id: ") + kLb +
                                           ", fallback_pool: " + kEu + "}");
  ASSERT_FALSE(no_zone);
  EXPECT_TRUE(Has(no_zone.error().message, "needs zone_id")) << no_zone.error().message;

  auto bad_id = rig_.Load(Lbs(), "{load_balancer: cf, pool_id: us-east, enabled: false}");
  ASSERT_FALSE(bad_id);
  EXPECT_TRUE(Has(bad_id.error().message, "actuator.yml:8:")) << bad_id.error().message;
  EXPECT_TRUE(Has(bad_id.error().message, "pool_id: expected Cloudflare's 32-character hex id"))
      << bad_id.error().message;
}

TEST_F(CloudflareLbTest, TheLoadBalancerBlockConfiguresUrlTokenFileAndIds) {
  testing::TokenFiles files(FakeCloudflareLb::kToken);
  auto lbs = [&](const std::string& token_file) {
    return "  cf: {cloudflare_lb: {url: \"" + cf_.base_url() +
           "/\", api_token_file: " + token_file + ", account_id: " + FakeCloudflareLb::kAccountId +
           ", zone_id: " + FakeCloudflareLb::kZoneId + "}}";
  };
  const std::string lb_step =
      std::string("{load_balancer: cf, load_balancer_id: ") + kLb + ", fallback_pool: " + kUs + "}";
  ASSERT_TRUE(testing::LoadsAndRunsOk(rig_, lbs(files.good), lb_step));
  EXPECT_EQ(cf_.LoadBalancer(kLb)["fallback_pool"], kUs);

  // The token is read from the file; a refusal names the file, never the token.
  testing::ExpectTokenFileRefused(
      rig_, lbs(files.wrong),
      std::string("{load_balancer: cf, pool_id: ") + kUs + ", enabled: false}", files);
  EXPECT_EQ(cf_.Pool(kUs)["enabled"], true);

  const std::string account = FakeCloudflareLb::kAccountId;
  testing::ExpectBadBlocks(
      rig_, "  cf: {cloudflare_lb: ", lb_step,
      {
          {"{api_token: t, account_id: acme}",
           "account_id: expected Cloudflare's 32-character hex id, found \"acme\""},
          {"{api_token: t, account_id: " + account + ", zone_id: example.com}",
           "zone_id: expected Cloudflare's 32-character hex id"},
          {"{account_id: " + account + "}",
           "the Cloudflare API needs api_token, api_token_file or api_token_env"},
          {"{url: \"ftp://x\", api_token: t, account_id: " + account + "}",
           "url: expected an http:// or https:// URL"},
          {"{api_token: t, account_id: " + account + ", pool_id: " + kUs + "}",
           "unknown key \"pool_id\""},
      });
}

}  // namespace
}  // namespace failover
