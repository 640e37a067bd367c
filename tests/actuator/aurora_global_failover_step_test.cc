// aurora_global_failover against the RDS fake (tests/support/fake_rds.h), which checks
// every request's SigV4 signature and plays a global cluster's failover.
#include <gtest/gtest.h>

#include "actuator/steps/aurora_global_failover.h"
#include "tests/actuator/step_test_util.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_rds.h"
#include "tests/support/temp_dir.h"

namespace failover {
namespace {

using testing::FakeRds;

const std::string kEast = "arn:aws:rds:us-east-1:123456789012:cluster:orders-east";
const std::string kWest = "arn:aws:rds:us-west-2:123456789012:cluster:orders-west";
const std::string kEu = "arn:aws:rds:eu-west-1:123456789012:cluster:orders-eu";

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class AuroraStepTest : public ::testing::Test {
 protected:
  void SetUp() override {
    id_file_ = dir_.Write("aws.id", testing::kFakeAwsAccessKeyId);
    secret_file_ = dir_.Write("aws.secret", testing::kFakeAwsSecretAccessKey);
    fake_.AddGlobalCluster("orders", kEast, {kWest, kEu});
  }

  std::string Yaml(const std::string& extra = "", const std::string& secret = "") {
    return "{global_cluster_id: orders, region: us-west-2, target_cluster_arn: '" + kWest +
           "', url: " + fake_.base_url() + ", access_key_id_file: " + id_file_ +
           ", secret_access_key_file: " + (secret.empty() ? secret_file_ : secret) +
           ", poll_interval: 10s" + extra + "}";
  }

  Result<std::unique_ptr<Step>> Make(const std::string& yaml) {
    return testing::BuildStep(yaml, &NewAuroraGlobalFailoverStep, {}, "runbooks.yml");
  }

  StepOutcome Run(Step& step) { return testing::RunStep(step, clock_, &vars_, &http_); }

  testing::TempDir dir_;
  std::string id_file_;
  std::string secret_file_;
  FakeRds fake_{"us-west-2"};
  testing::FakeClock clock_;
  CurlHttpClient http_;
  TemplateVars vars_;
};

TEST_F(AuroraStepTest, FailsOverWaitsForTheWriterAndThenIsANoOp) {
  fake_.SetFailoverPolls(3);
  auto step = Make(Yaml());
  ASSERT_TRUE(step) << step.error().message;
  EXPECT_EQ((*step)->kind(), "aurora_global_failover");
  EXPECT_EQ((*step)->common().timeout, std::chrono::minutes(15));
  MonoTime start = clock_.Now();
  StepOutcome out = Run(**step);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_TRUE(Contains(out.message, kWest + " is now the writer (was " + kEast)) << out.message;
  EXPECT_EQ(fake_.Writer("orders"), kWest);
  ASSERT_EQ(fake_.ActionCount(), 1);
  auto action = fake_.Actions()[0];
  EXPECT_EQ(action["Action"], "FailoverGlobalCluster");
  EXPECT_EQ(action["AllowDataLoss"], "true");
  EXPECT_EQ(action["TargetDbClusterIdentifier"], kWest);
  EXPECT_EQ(out.details["before"]["writer"], kEast);
  EXPECT_EQ(out.details["after"]["writer"], kWest);
  EXPECT_GE(clock_.Now() - start, std::chrono::seconds(40));  // 4 polls, 10s apart

  int describes = fake_.DescribeCount();
  StepOutcome again = Run(**step);
  ASSERT_EQ(again.status, StepStatus::kOk) << again.message;
  EXPECT_TRUE(Contains(again.message, "already the writer")) << again.message;
  EXPECT_EQ(fake_.ActionCount(), 1);
  EXPECT_EQ(fake_.DescribeCount(), describes + 1);
}

TEST_F(AuroraStepTest, SwitchoverMode) {
  auto step = Make(Yaml(", mode: switchover"));
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome out = Run(**step);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  ASSERT_EQ(fake_.ActionCount(), 1);
  auto action = fake_.Actions()[0];
  EXPECT_EQ(action["Action"], "SwitchoverGlobalCluster");
  EXPECT_EQ(action.count("AllowDataLoss"), 0u);
  EXPECT_EQ(fake_.Writer("orders"), kWest);
}

TEST_F(AuroraStepTest, TimeoutWhileFailingOverIsRetryableAndTheRetryDoesNotResend) {
  fake_.SetFailoverPolls(10);
  auto step = Make(Yaml(", timeout: 35s"));
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome out = Run(**step);
  ASSERT_EQ(out.status, StepStatus::kRetryable) << out.message;
  EXPECT_TRUE(Contains(out.message, "still failing-over")) << out.message;
  EXPECT_TRUE(fake_.FailingOver("orders"));
  for (int i = 0; i < 5 && out.status == StepStatus::kRetryable; ++i) out = Run(**step);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_EQ(fake_.ActionCount(), 1);
  EXPECT_EQ(fake_.Writer("orders"), kWest);
}

TEST_F(AuroraStepTest, AmbiguousServerErrorIsNotResentBlindly) {
  // The failover is applied but answered 500: the step reports a retryable failure, and the
  // next attempt reads the FailoverState and waits instead of sending again.
  fake_.FailNextActionAfterApplying(500);
  auto step = Make(Yaml());
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome out = Run(**step);
  ASSERT_EQ(out.status, StepStatus::kRetryable) << out.message;
  EXPECT_EQ(fake_.ActionCount(), 1);
  out = Run(**step);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_EQ(fake_.ActionCount(), 1);
  EXPECT_EQ(fake_.Writer("orders"), kWest);
}

TEST_F(AuroraStepTest, ThrottlingIsRetriedWithinTheStep) {
  fake_.FailNext(2, 400, "Throttling", 3);
  auto step = Make(Yaml());
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome out = Run(**step);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_EQ(fake_.ActionCount(), 1);
}

TEST_F(AuroraStepTest, ClientErrorsFailWithRdsMessage) {
  auto step = Make("{global_cluster_id: nosuch, region: us-west-2, target_cluster_arn: '" + kWest +
                   "', url: " + fake_.base_url() + ", access_key_id_file: " + id_file_ +
                   ", secret_access_key_file: " + secret_file_ + "}");
  ASSERT_TRUE(step) << step.error().message;
  int before = fake_.RequestCount();
  StepOutcome out = Run(**step);
  ASSERT_EQ(out.status, StepStatus::kFailed) << out.message;
  EXPECT_TRUE(Contains(out.message, "GlobalClusterNotFoundFault: Global cluster nosuch not found"))
      << out.message;
  EXPECT_EQ(fake_.RequestCount(), before + 1);  // not retried

  auto stranger = Make(
      "{global_cluster_id: orders, region: us-west-2, target_cluster_arn: "
      "'arn:aws:rds:us-west-2:123456789012:cluster:other', url: " +
      fake_.base_url() + ", access_key_id_file: " + id_file_ +
      ", secret_access_key_file: " + secret_file_ + "}");
  ASSERT_TRUE(stranger);
  out = Run(**stranger);
  ASSERT_EQ(out.status, StepStatus::kFailed) << out.message;
  EXPECT_TRUE(Contains(out.message, "is not a member of global cluster orders")) << out.message;
  EXPECT_EQ(fake_.ActionCount(), 0);
}

TEST_F(AuroraStepTest, AFailoverToAnotherClusterIsNotOverridden) {
  fake_.SetFailoverPolls(100);
  auto to_eu = Make("{global_cluster_id: orders, region: us-west-2, target_cluster_arn: '" + kEu +
                    "', url: " + fake_.base_url() + ", access_key_id_file: " + id_file_ +
                    ", secret_access_key_file: " + secret_file_ + ", timeout: 15s}");
  ASSERT_TRUE(to_eu);
  ASSERT_EQ(Run(**to_eu).status, StepStatus::kRetryable);
  auto step = Make(Yaml());
  ASSERT_TRUE(step);
  StepOutcome out = Run(**step);
  ASSERT_EQ(out.status, StepStatus::kFailed) << out.message;
  EXPECT_TRUE(Contains(out.message, "towards " + kEu)) << out.message;
  EXPECT_EQ(fake_.ActionCount(), 1);
}

TEST_F(AuroraStepTest, WrongSecretIsRejectedWithoutShowingIt) {
  const std::string wrong = "NotTheRightSecretAtAll/0123456789abcdefgh";
  std::string wrong_file = dir_.Write("wrong", wrong);
  auto step = Make(Yaml("", wrong_file));
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome out = Run(**step);
  ASSERT_EQ(out.status, StepStatus::kFailed) << out.message;
  EXPECT_TRUE(Contains(out.message, "SignatureDoesNotMatch")) << out.message;
  EXPECT_FALSE(Contains(out.message, wrong)) << out.message;
  EXPECT_FALSE(Contains(out.message, testing::kFakeAwsSecretAccessKey)) << out.message;
  EXPECT_EQ(fake_.RejectedAuth(), 1);
  EXPECT_EQ(fake_.ActionCount(), 0);
  auto shown = (*step)->Render(vars_);
  ASSERT_TRUE(shown);
  EXPECT_FALSE(Contains(shown->dump(), wrong));
  EXPECT_TRUE(Contains(shown->dump(), wrong_file));
}

TEST_F(AuroraStepTest, RenderShowsEveryConfiguredValueAndTheDefaults) {
  auto step = Make(Yaml(", mode: switchover, timeout: 20m"));
  ASSERT_TRUE(step) << step.error().message;
  EXPECT_EQ((*step)->common().timeout, std::chrono::minutes(20));
  auto shown = (*step)->Render(vars_);
  ASSERT_TRUE(shown) << shown.error().message;
  EXPECT_EQ((*shown)["global_cluster_id"], "orders");
  EXPECT_EQ((*shown)["target_cluster_arn"], kWest);
  EXPECT_EQ((*shown)["region"], "us-west-2");
  EXPECT_EQ((*shown)["mode"], "switchover");
  EXPECT_EQ((*shown)["url"], fake_.base_url());
  const std::string creds = (*shown)["credentials"].get<std::string>();
  EXPECT_TRUE(Contains(creds, id_file_)) << creds;
  EXPECT_TRUE(Contains(creds, secret_file_)) << creds;

  // Without mode and url: a failover, at the region's RDS endpoint.
  auto plain = Make("{global_cluster_id: orders, region: eu-west-1, target_cluster_arn: '" + kEu +
                    "', access_key_id_file: " + id_file_ +
                    ", secret_access_key_file: " + secret_file_ + "}");
  ASSERT_TRUE(plain) << plain.error().message;
  auto plain_shown = (*plain)->Render(vars_);
  ASSERT_TRUE(plain_shown);
  EXPECT_EQ((*plain_shown)["mode"], "failover");
  EXPECT_EQ((*plain_shown)["url"], "https://rds.eu-west-1.amazonaws.com");
  EXPECT_EQ((*plain)->common().timeout, std::chrono::minutes(15));

  // poll_interval is bounded, and the error names the key's line.
  auto slow = Make("{global_cluster_id: orders, region: us-west-2, target_cluster_arn: '" + kWest +
                   "',\n poll_interval: 10m, access_key_id_file: " + id_file_ +
                   ", secret_access_key_file: " + secret_file_ + "}");
  ASSERT_FALSE(slow);
  EXPECT_TRUE(Contains(slow.error().message, "runbooks.yml:2:17")) << slow.error().message;
  EXPECT_TRUE(
      Contains(slow.error().message, "poll_interval must be greater than zero and at most 5m"))
      << slow.error().message;
}

TEST_F(AuroraStepTest, ConfigErrorsAreLocated) {
  struct Case {
    std::string yaml, where, what;
  };
  std::vector<Case> cases = {
      {"{region: us-west-2, target_cluster_arn: '" + kWest + "'}", "runbooks.yml:1:1",
       "global_cluster_id"},
      {"{global_cluster_id: g, region: us-west-2,\n target_cluster_arn: orders-west}",
       "runbooks.yml:2:22", "ARN"},
      {"{global_cluster_id: g, region: 'US West', target_cluster_arn: '" + kWest + "'}",
       "runbooks.yml:1:32", "region"},
      {"{global_cluster_id: g, region: us-west-2, target_cluster_arn: '" + kWest + "', mode: fast}",
       "runbooks.yml:1:", "mode must be failover"},
      {"{global_cluster_id: g, region: us-west-2, target_cluster_arn: '" + kWest +
           "', secret_access_key: inline-secret}",
       "runbooks.yml:1:1", "access_key_id"},
      {"{global_cluster_id: g, region: us-west-2, target_cluster_arn: '" + kWest +
           "', allow_data_loss: true}",
       "runbooks.yml:1:", "allow_data_loss"},
  };
  for (const auto& c : cases) {
    auto step = Make(c.yaml);
    ASSERT_FALSE(step) << c.yaml;
    EXPECT_TRUE(Contains(step.error().message, c.where)) << step.error().message;
    EXPECT_TRUE(Contains(step.error().message, c.what)) << step.error().message;
  }
}

}  // namespace
}  // namespace failover
