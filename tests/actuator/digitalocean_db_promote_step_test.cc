// digitalocean_db_promote against the DigitalOcean fake (tests/support/fake_digitalocean_db.h),
// which checks the bearer token and plays the replica's promotion.
#include <gtest/gtest.h>

#include "actuator/steps/digitalocean_db_promote.h"
#include "tests/actuator/step_test_util.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_digitalocean_db.h"
#include "tests/support/temp_dir.h"

namespace failover {
namespace {

using testing::FakeDigitalOceanDb;

constexpr const char* kCluster = "9cc10173-e9ea-4176-9dbc-a4cee4c4ff30";

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class DoPromoteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    token_file_ = dir_.Write("do.token", std::string(FakeDigitalOceanDb::kToken) + "\n");
    fake_.AddReplica(kCluster, "orders-ams3");
  }

  std::string Yaml(const std::string& extra = "", const std::string& token_file = "") {
    return std::string("{cluster_id: ") + kCluster +
           ", replica_name: orders-ams3, url: " + fake_.base_url() +
           ", token_file: " + (token_file.empty() ? token_file_ : token_file) + extra + "}";
  }

  Result<std::unique_ptr<Step>> Make(const std::string& yaml) {
    return testing::BuildStep(yaml, &NewDigitalOceanDbPromoteStep, {}, "runbooks.yml");
  }

  StepOutcome Run(Step& step) { return testing::RunStep(step, clock_, &vars_, &http_); }

  testing::TempDir dir_;
  std::string token_file_;
  FakeDigitalOceanDb fake_;
  testing::FakeClock clock_;
  CurlHttpClient http_;
  TemplateVars vars_;
};

TEST_F(DoPromoteTest, PromotesAndVerifiesTheReplicaLeftTheCluster) {
  fake_.SetPromoteDelay(2);
  auto step = Make(Yaml());
  ASSERT_TRUE(step) << step.error().message;
  EXPECT_EQ((*step)->kind(), "digitalocean_db_promote");
  StepOutcome out = Run(**step);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_TRUE(
      Contains(out.message, "promoted replica orders-ams3 of cluster " + std::string(kCluster)))
      << out.message;
  EXPECT_EQ(fake_.PromoteCount(), 1);
  EXPECT_TRUE(fake_.IsPromoted("orders-ams3"));
  EXPECT_FALSE(fake_.IsReplica(kCluster, "orders-ams3"));
  EXPECT_EQ(out.details["before"]["status"], "online");
}

TEST_F(DoPromoteTest, AMissingReplicaFailsByDefaultAndIsANoOpWithIfMissingOk) {
  auto step = Make(Yaml());
  ASSERT_TRUE(step);
  ASSERT_EQ(Run(**step).status, StepStatus::kOk);
  ASSERT_EQ(fake_.PromoteCount(), 1);

  // Running again: the replica is no longer listed; nothing is sent either way.
  StepOutcome strict = Run(**step);
  ASSERT_EQ(strict.status, StepStatus::kFailed) << strict.message;
  EXPECT_TRUE(Contains(strict.message, "not found")) << strict.message;
  EXPECT_TRUE(Contains(strict.message, "if_missing: ok")) << strict.message;
  auto lenient = Make(Yaml(", if_missing: ok"));
  ASSERT_TRUE(lenient) << lenient.error().message;
  StepOutcome ok = Run(**lenient);
  ASSERT_EQ(ok.status, StepStatus::kOk) << ok.message;
  EXPECT_TRUE(Contains(ok.message, "nothing sent")) << ok.message;
  EXPECT_EQ(fake_.PromoteCount(), 1);
}

TEST_F(DoPromoteTest, RateLimitsAndServerErrorsOnReadsAreRetried) {
  fake_.FailNext(2, 429, 7);
  auto step = Make(Yaml());
  ASSERT_TRUE(step);
  MonoTime start = clock_.Now();
  StepOutcome out = Run(**step);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_GE(clock_.Now() - start, std::chrono::seconds(14));  // retry-after: 7, twice
  EXPECT_EQ(fake_.PromoteCount(), 1);

  fake_.AddReplica(kCluster, "orders-fra1");
  fake_.FailNext(1, 503);
  auto other = Make(std::string("{cluster_id: ") + kCluster + ", replica_name: orders-fra1, url: " +
                    fake_.base_url() + ", token_file: " + token_file_ + "}");
  ASSERT_TRUE(other);
  out = Run(**other);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_EQ(fake_.PromoteCount(), 2);
}

TEST_F(DoPromoteTest, RateLimitedUntilTheDeadlineIsRetryable) {
  fake_.FailNext(100, 429, 60);
  auto step = Make(Yaml(", timeout: 30s"));
  ASSERT_TRUE(step);
  StepOutcome out = Run(**step);
  ASSERT_EQ(out.status, StepStatus::kRetryable) << out.message;
  EXPECT_TRUE(Contains(out.message, "too_many_requests")) << out.message;
  EXPECT_EQ(fake_.PromoteCount(), 0);
}

TEST_F(DoPromoteTest, WrongTokenFailsWithoutShowingIt) {
  const std::string wrong = "dop_v1_wrongtokenwrongtokenwrongtoken";
  std::string wrong_file = dir_.Write("wrong.token", wrong);
  auto step = Make(Yaml("", wrong_file));
  ASSERT_TRUE(step);
  int before = fake_.RequestCount();
  StepOutcome out = Run(**step);
  ASSERT_EQ(out.status, StepStatus::kFailed) << out.message;
  EXPECT_TRUE(Contains(out.message, "authentication failed")) << out.message;
  EXPECT_TRUE(Contains(out.message, wrong_file)) << out.message;
  EXPECT_FALSE(Contains(out.message, wrong)) << out.message;
  EXPECT_EQ(fake_.RequestCount(), before + 1);  // a 401 is not retried
  EXPECT_EQ(fake_.PromoteCount(), 0);
  auto shown = (*step)->Render(vars_);
  ASSERT_TRUE(shown);
  EXPECT_FALSE(Contains(shown->dump(), wrong));
  EXPECT_FALSE(Contains(shown->dump(), FakeDigitalOceanDb::kToken));
}

TEST_F(DoPromoteTest, RenderShowsEveryConfiguredValueAndTheDefaults) {
  auto step = Make(std::string("{cluster_id: ") + kCluster + ", replica_name: orders-ams3, url: '" +
                   fake_.base_url() + "/', token_file: " + token_file_ +
                   ", if_missing: ok, poll_interval: 20s, timeout: 3m}");
  ASSERT_TRUE(step) << step.error().message;
  EXPECT_EQ((*step)->common().timeout, std::chrono::minutes(3));
  auto shown = (*step)->Render(vars_);
  ASSERT_TRUE(shown) << shown.error().message;
  EXPECT_EQ((*shown)["cluster_id"], kCluster);
  EXPECT_EQ((*shown)["replica_name"], "orders-ams3");
  EXPECT_EQ((*shown)["url"], fake_.base_url());  // the trailing slash is dropped
  EXPECT_EQ((*shown)["if_missing"], "ok");
  EXPECT_TRUE(Contains((*shown)["token"].get<std::string>(), token_file_)) << shown->dump();
  EXPECT_FALSE(Contains(shown->dump(), FakeDigitalOceanDb::kToken));

  auto plain = Make("{cluster_id: c1, replica_name: r1, token_file: " + token_file_ + "}");
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ((*plain)->common().timeout, std::chrono::minutes(10));
  auto plain_shown = (*plain)->Render(vars_);
  ASSERT_TRUE(plain_shown);
  EXPECT_EQ((*plain_shown)["url"], "https://api.digitalocean.com");
  EXPECT_EQ((*plain_shown)["if_missing"], "fail");

  auto slow = Make("{cluster_id: c1, replica_name: r1, token: t,\n poll_interval: 0s}");
  ASSERT_FALSE(slow);
  EXPECT_TRUE(Contains(slow.error().message, "runbooks.yml:2:17")) << slow.error().message;
  EXPECT_TRUE(
      Contains(slow.error().message, "poll_interval must be greater than zero and at most 5m"))
      << slow.error().message;
}

TEST_F(DoPromoteTest, ConfigErrorsAreLocated) {
  struct Case {
    std::string yaml, where, what;
  };
  std::vector<Case> cases = {
      {"{replica_name: r, token: t}", "runbooks.yml:1:1", "cluster_id"},
      {"{cluster_id: c, replica_name: 'a/b', token: t}", "runbooks.yml:1:31", "replica_name"},
      {"{cluster_id: c, replica_name: r}", "runbooks.yml:1:1", "token"},
      {"{cluster_id: c, replica_name: r, token: t,\n if_missing: maybe}", "runbooks.yml:2:14",
       "if_missing"},
      {"{cluster_id: c, replica_name: r, token: t, url: 'ftp://x'}", "runbooks.yml:1:", "url"},
      {"{cluster_id: c, replica_name: r, token: t, replica: x}", "runbooks.yml:1:", "replica"},
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
