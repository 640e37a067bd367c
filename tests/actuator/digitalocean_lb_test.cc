// The DigitalOcean load balancer provider (actuator/lb/digitalocean_lb.cc) against the
// local fake of DigitalOcean's load balancer API (tests/support/fake_digitalocean_lb.h),
// through the lb_pool step.
#include <gtest/gtest.h>

#include "tests/actuator/lb_provider_test_util.h"
#include "tests/actuator/lb_test_util.h"
#include "tests/support/fake_digitalocean_lb.h"

namespace failover {
namespace {

using testing::FakeDigitalOceanLb;
using testing::Has;

class DigitalOceanLbTest : public ::testing::Test {
 protected:
  void SetUp() override { lb_.SetDroplets({3164444, 3164445}); }
  std::string Lbs() {
    return "  do: {digitalocean_lb: {url: \"" + lb_.base_url() +
           "\", token: " + FakeDigitalOceanLb::kToken +
           ", load_balancer_id: " + FakeDigitalOceanLb::kLoadBalancerId + "}}";
  }
  std::shared_ptr<Step> Load(const std::string& step) { return rig_.MustLoad(Lbs(), step); }

  FakeDigitalOceanLb lb_;
  testing::LbStepRig rig_;
};

TEST_F(DigitalOceanLbTest, TakesADropletOutAndPutsItBack) {
  auto out_step = Load("{load_balancer: do, droplet_id: 3164444, state: out}");
  ASSERT_TRUE(out_step);
  auto out = rig_.Run(*out_step);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_EQ(lb_.Droplets(), std::vector<long long>{3164445});
  EXPECT_TRUE(Has(out.message, "droplet 3164444 of load balancer")) << out.message;
  EXPECT_EQ(lb_.Writes(), 1);
  // Again: nothing to do.
  auto again = rig_.Run(*out_step);
  ASSERT_EQ(again.status, StepStatus::kOk) << again.message;
  EXPECT_TRUE(Has(again.message, "already out")) << again.message;
  EXPECT_EQ(lb_.Writes(), 1);

  auto in_step = Load("{load_balancer: do, droplet_id: 3164444, state: in}");
  ASSERT_EQ(rig_.Run(*in_step).status, StepStatus::kOk);
  EXPECT_EQ(lb_.Droplets(), (std::vector<long long>{3164445, 3164444}));
  EXPECT_EQ(lb_.Writes(), 2);
}

TEST_F(DigitalOceanLbTest, ApiErrorsCarryDigitalOceansMessage) {
  lb_.SetTag("web");  // droplets are chosen by tag: DigitalOcean refuses droplet ids
  auto step = Load("{load_balancer: do, droplet_id: 3164444, state: out}");
  ASSERT_TRUE(step);
  auto out = rig_.Run(*step);
  EXPECT_EQ(out.status, StepStatus::kFailed) << out.message;
  EXPECT_TRUE(Has(out.message, "digitalocean_lb: removing droplet 3164444")) << out.message;
  EXPECT_TRUE(Has(out.message, "HTTP 422")) << out.message;
  EXPECT_TRUE(Has(out.message, "uses a tag (unprocessable_entity)")) << out.message;
  EXPECT_FALSE(Has(out.message, FakeDigitalOceanLb::kToken));
  EXPECT_EQ(lb_.Droplets(), (std::vector<long long>{3164444, 3164445}));

  lb_.FailNext(1, 429, 1);
  lb_.SetTag("");
  // A 429 with Retry-After is waited out (on the step's clock) and the change made.
  auto ok = rig_.Run(*step);
  EXPECT_EQ(ok.status, StepStatus::kOk) << ok.message;
  EXPECT_EQ(lb_.Droplets(), std::vector<long long>{3164445});
}

TEST_F(DigitalOceanLbTest, ConfigErrorsNameTheKey) {
  auto bad = rig_.Load(Lbs(), "{load_balancer: do, droplet_id: 3164444, state: drain}");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(Has(bad.error().message, "actuator.yml:"));
  EXPECT_TRUE(Has(bad.error().message, "state: expected one of in|out, found \"drain\""))
      << bad.error().message;
  auto no_lb = rig_.Load("  do: {digitalocean_lb: {token: x}}",
                         "{load_balancer: do, droplet_id: 1, state: in}");
  ASSERT_FALSE(no_lb);
  EXPECT_TRUE(Has(no_lb.error().message, "load_balancer_id")) << no_lb.error().message;
}

TEST_F(DigitalOceanLbTest, TheLoadBalancerBlockConfiguresUrlTokenFileAndId) {
  testing::TokenFiles files(FakeDigitalOceanLb::kToken);
  auto lbs = [&](const std::string& token_file) {
    return "  do: {digitalocean_lb: {url: \"" + lb_.base_url() + "/\", token_file: " + token_file +
           ", load_balancer_id: " + FakeDigitalOceanLb::kLoadBalancerId + "}}";
  };
  const std::string step = "{load_balancer: do, droplet_id: 3164444, state: out}";
  ASSERT_TRUE(testing::LoadsAndRunsOk(rig_, lbs(files.good), step));
  EXPECT_EQ(lb_.Droplets(), std::vector<long long>{3164445});

  // The token is read from the file; a refusal names the file, never the token.
  testing::ExpectTokenFileRefused(rig_, lbs(files.wrong),
                                  "{load_balancer: do, droplet_id: 3164444, state: in}", files);
  EXPECT_EQ(lb_.Droplets(), std::vector<long long>{3164445});

  testing::ExpectBadBlocks(
      rig_, "  do: {digitalocean_lb: ", step,
      {
          {"{url: \"ftp://x\", token: t, load_balancer_id: a}",
           "url: expected an http:// or https:// URL"},
          {"{load_balancer_id: a}", "the DigitalOcean API needs token, token_file or token_env"},
          {"{token: t, load_balancer_id: \"a/b\"}", "load_balancer_id: expected an id without"},
          {"{token: t, load_balancer_id: a, droplet_id: 1}", "unknown key \"droplet_id\""},
      });
}

}  // namespace
}  // namespace failover
