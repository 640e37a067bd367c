// The AWS ALB target group provider (actuator/lb/aws_alb.cc) against the local fake of the
// Elastic Load Balancing v2 Query API (tests/support/fake_elbv2.h), SigV4 and all, through
// the lb_pool step: deregistration waits for `draining` to end, within wait_timeout.
#include <gtest/gtest.h>

#include "tests/actuator/lb_test_util.h"
#include "tests/support/fake_elbv2.h"
#include "tests/support/temp_dir.h"

namespace failover {
namespace {

using testing::FakeElbv2;
using testing::Has;

constexpr const char* kTg =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/73e2d6bc24d8a067";

class AwsAlbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    elb_.AddTargetGroup(kTg);
    elb_.AddTarget(kTg, "i-0us0east", 8080);
    elb_.AddTarget(kTg, "i-0eu0west", 8080);
  }
  std::string Lbs(const std::string& secret = testing::kFakeAwsSecretAccessKey) {
    return "  alb: {aws_alb: {region: us-east-1, url: \"" + elb_.base_url() +
           "\", access_key_id: " + testing::kFakeAwsAccessKeyId + ", secret_access_key: \"" +
           secret + "\"}}";
  }
  std::string StepYaml(const std::string& state, const std::string& extra = "") {
    return std::string("{load_balancer: alb, target_group_arn: \"") + kTg +
           "\", target: i-0us0east, port: 8080, state: " + state + ", poll_interval: 5s" + extra +
           "}";
  }
  std::shared_ptr<Step> Load(const std::string& step, const std::string& lbs = "") {
    return rig_.MustLoad(lbs.empty() ? Lbs() : lbs, step);
  }

  FakeElbv2 elb_;
  testing::LbStepRig rig_;
};

TEST_F(AwsAlbTest, DeregistersAndWaitsForTheDrainToEnd) {
  elb_.SetDrainingPolls(3);
  auto step = Load(StepYaml("deregistered"));
  ASSERT_TRUE(step);
  const MonoTime start = rig_.clock().Now();
  auto out = rig_.Run(*step);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_EQ(elb_.State(kTg, "i-0us0east", 8080), "") << "still registered";
  EXPECT_EQ(elb_.State(kTg, "i-0eu0west", 8080), "healthy");
  EXPECT_TRUE(Has(out.message, "healthy -> draining (Target.DeregistrationInProgress)"))
      << out.message;
  EXPECT_TRUE(Has(out.message, "unused (Target.NotRegistered) after waiting")) << out.message;
  // It polled every poll_interval until draining ended: three polls of 5s.
  EXPECT_GE(rig_.clock().Now() - start, std::chrono::seconds(15));
  EXPECT_EQ(out.details["after"]["state"], "unused");
  EXPECT_EQ(elb_.Actions(), 1);

  // Again: not registered, nothing sent.
  auto again = rig_.Run(*step);
  ASSERT_EQ(again.status, StepStatus::kOk) << again.message;
  EXPECT_TRUE(Has(again.message, "already unused")) << again.message;
  EXPECT_EQ(elb_.Actions(), 1);
}

TEST_F(AwsAlbTest, ADrainLongerThanWaitTimeoutFailsTheStep) {
  elb_.SetDrainingPolls(1000000);
  auto step = Load(StepYaml("deregistered", ", wait_timeout: 1m"));
  ASSERT_TRUE(step);
  auto out = rig_.Run(*step);
  EXPECT_EQ(out.status, StepStatus::kFailed) << out.message;
  EXPECT_TRUE(Has(out.message, "is deregistered but still draining")) << out.message;
  EXPECT_TRUE(Has(out.message, "(wait_timeout 1m)")) << out.message;
  EXPECT_EQ(elb_.State(kTg, "i-0us0east", 8080), "draining");

  // A re-run (the engine's retry, or a resumed execution) does not deregister again; it
  // waits again.
  elb_.SetDrainingPolls(0);
  auto rerun = rig_.Run(*step);
  EXPECT_EQ(rerun.status, StepStatus::kOk) << rerun.message;
  EXPECT_EQ(elb_.Actions(), 1);
}

TEST_F(AwsAlbTest, RegistersAndWaitsUntilHealthyUnlessToldNotToWait) {
  auto out_step = Load(StepYaml("deregistered", ", wait: false"));
  ASSERT_EQ(rig_.Run(*out_step).status, StepStatus::kOk);
  EXPECT_EQ(elb_.State(kTg, "i-0us0east", 8080), "draining") << "wait: false waited";

  elb_.SetDrainingPolls(0);
  elb_.SetInitialPolls(2);
  auto in_step = Load(StepYaml("registered"));
  auto out = rig_.Run(*in_step);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_EQ(elb_.State(kTg, "i-0us0east", 8080), "healthy");
  EXPECT_TRUE(Has(out.message, "healthy after waiting")) << out.message;
}

TEST_F(AwsAlbTest, AwsErrorsAreSurfacedAndSecretsAreNot) {
  const std::string wrong = "wRoNg/SecretAccessKey+0000000000000000000";
  auto denied_step = Load(StepYaml("deregistered"), Lbs(wrong));
  ASSERT_TRUE(denied_step);
  auto denied = rig_.Run(*denied_step);
  EXPECT_EQ(denied.status, StepStatus::kFailed) << denied.message;
  EXPECT_TRUE(Has(denied.message, "SignatureDoesNotMatch")) << denied.message;
  EXPECT_FALSE(Has(denied.message, wrong)) << denied.message;
  EXPECT_EQ(elb_.State(kTg, "i-0us0east", 8080), "healthy");

  const std::string other =
      "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/gone/0000000000000000";
  auto missing = Load(std::string("{load_balancer: alb, target_group_arn: \"") + other +
                      "\", target: i-0us0east, state: deregistered}");
  ASSERT_TRUE(missing);
  auto out = rig_.Run(*missing);
  EXPECT_EQ(out.status, StepStatus::kFailed) << out.message;
  EXPECT_TRUE(Has(out.message, "TargetGroupNotFound")) << out.message;
  EXPECT_TRUE(Has(out.message, "One or more target groups not found")) << out.message;

  // 5xx and throttling are retried within the step's deadline.
  elb_.FailNext(2, 503, "ServiceUnavailable");
  auto flaky = rig_.Run(*Load(StepYaml("deregistered", ", wait: false")));
  EXPECT_EQ(flaky.status, StepStatus::kOk) << flaky.message;
  EXPECT_EQ(elb_.State(kTg, "i-0us0east", 8080), "draining");
}

TEST_F(AwsAlbTest, ConfigErrorsNameTheKey) {
  auto bad_arn = rig_.Load(Lbs(),
                           "{load_balancer: alb, target_group_arn: web, target: i-1, "
                           "state: deregistered}");
  ASSERT_FALSE(bad_arn);
  EXPECT_TRUE(Has(bad_arn.error().message, "target_group_arn: expected a target group ARN"))
      << bad_arn.error().message;
  auto long_wait = rig_.Load(Lbs(), StepYaml("deregistered", ", wait_timeout: 20m"));
  ASSERT_FALSE(long_wait);
  EXPECT_TRUE(Has(long_wait.error().message, "actuator.yml:8:")) << long_wait.error().message;
  EXPECT_TRUE(Has(long_wait.error().message,
                  "wait_timeout 20m is longer than the step's timeout 10m (raise timeout:)"))
      << long_wait.error().message;
  auto region = rig_.Load("  alb: {aws_alb: {region: US_EAST}}", StepYaml("registered"));
  ASSERT_FALSE(region);
  EXPECT_TRUE(Has(region.error().message, "region: expected an AWS region"))
      << region.error().message;
}

TEST_F(AwsAlbTest, TheLoadBalancerBlockConfiguresRegionUrlAndCredentialFiles) {
  testing::TempDir dir;
  const std::string id_file = dir.Write("aws.id", testing::kFakeAwsAccessKeyId);
  const std::string secret_file = dir.Write("aws.secret", testing::kFakeAwsSecretAccessKey);
  const std::string wrong_secret = "wRoNg/SecretAccessKey+1111111111111111111";
  const std::string wrong_file = dir.Write("wrong.secret", wrong_secret);
  auto lbs = [&](const std::string& secret) {
    return "  alb: {aws_alb: {region: us-east-1, url: \"" + elb_.base_url() +
           "/\", access_key_id_file: " + id_file + ", secret_access_key_file: " + secret + "}}";
  };
  auto ok_step = rig_.MustLoad(lbs(secret_file), StepYaml("deregistered", ", wait: false"));
  ASSERT_TRUE(ok_step);
  auto ok = rig_.Run(*ok_step);
  ASSERT_EQ(ok.status, StepStatus::kOk) << ok.message;
  EXPECT_EQ(elb_.State(kTg, "i-0us0east", 8080), "draining");

  // The secret is read from its file and signs the requests (the fake checks SigV4): a
  // wrong one is refused, and the refusal does not show it.
  auto denied_step = rig_.MustLoad(lbs(wrong_file), StepYaml("registered"));
  ASSERT_TRUE(denied_step);
  auto denied = rig_.Run(*denied_step);
  EXPECT_EQ(denied.status, StepStatus::kFailed) << denied.message;
  EXPECT_TRUE(Has(denied.message, "SignatureDoesNotMatch")) << denied.message;
  EXPECT_FALSE(Has(denied.message, wrong_secret)) << denied.message;

  struct Case {
    std::string block, what;
  };
  const std::vector<Case> cases = {
      {"{region: US_EAST}", "region: expected an AWS region like us-east-1, found \"US_EAST\""},
      {"{region: us-east-1, url: \"ftp://x\"}", "url: "},
      {"{region: us-east-1, access_key_id: AKIDEXAMPLE, secret_access_key: s, target: i-1}",
       "unknown key \"target\""},
  };
  for (const auto& c : cases) {
    auto bad = rig_.Load("  alb: {aws_alb: " + c.block + "}", StepYaml("registered"));
    ASSERT_FALSE(bad) << c.block;
    EXPECT_TRUE(Has(bad.error().message, "actuator.yml:3:")) << bad.error().message;
    EXPECT_TRUE(Has(bad.error().message, c.what)) << bad.error().message;
  }
}

}  // namespace
}  // namespace failover
