// The Linode NodeBalancer provider (actuator/lb/linode_nodebalancer.cc) against the local
// fake of Linode's API v4 NodeBalancer nodes (tests/support/fake_linode_nodebalancer.h),
// through the lb_pool step as actuator.yml configures it.
#include <gtest/gtest.h>

#include "tests/actuator/lb_provider_test_util.h"
#include "tests/actuator/lb_test_util.h"
#include "tests/support/fake_linode_nodebalancer.h"

namespace failover {
namespace {

using testing::FakeLinodeNodeBalancer;
using testing::Has;

class LinodeNodeBalancerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    nb_.AddNode(40, 501, {"us-east", "192.168.130.10:80", "accept", "UP", 100});
    nb_.AddNode(40, 502, {"eu-west", "192.168.130.11:80", "accept", "UP", 100});
  }
  std::string Lbs(const std::string& token = FakeLinodeNodeBalancer::kToken) {
    return "  nb: {linode_nodebalancer: {url: \"" + nb_.base_url() + "\", token: " + token +
           ", nodebalancer_id: 4321}}";
  }
  std::shared_ptr<Step> Load(const std::string& step, const std::string& lbs = "") {
    return rig_.MustLoad(lbs.empty() ? Lbs() : lbs, step);
  }

  FakeLinodeNodeBalancer nb_;
  testing::LbStepRig rig_;
};

TEST_F(LinodeNodeBalancerTest, DrainsTheNodeReadsItBackAndIsIdempotent) {
  auto step = Load("{load_balancer: nb, config_id: 40, node_id: 501, mode: drain}");
  ASSERT_TRUE(step);
  auto out = rig_.Run(*step);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_EQ(nb_.Mode(40, 501), "drain");
  EXPECT_EQ(nb_.Mode(40, 502), "accept") << "the other node was touched";
  EXPECT_TRUE(Has(out.message, "mode accept (status UP) -> mode drain")) << out.message;
  EXPECT_EQ(out.details["before"]["mode"], "accept");
  EXPECT_EQ(out.details["after"]["mode"], "drain");
  EXPECT_EQ(nb_.Writes(), 1);
  bool put = false;
  for (const auto& l : nb_.Log()) put |= l == "PUT /v4/nodebalancers/4321/configs/40/nodes/501";
  EXPECT_TRUE(put);

  // Running again reads, finds drain, writes nothing.
  auto again = rig_.Run(*step);
  ASSERT_EQ(again.status, StepStatus::kOk) << again.message;
  EXPECT_TRUE(Has(again.message, "already mode drain")) << again.message;
  EXPECT_EQ(nb_.Writes(), 1);

  // And back: accept.
  auto back = Load("{load_balancer: nb, config_id: 40, node_id: 501, mode: accept}");
  ASSERT_EQ(rig_.Run(*back).status, StepStatus::kOk);
  EXPECT_EQ(nb_.Mode(40, 501), "accept");
}

TEST_F(LinodeNodeBalancerTest, AWriteThatDoesNotReadBackIsRetried) {
  nb_.IgnoreWrites(true);
  auto step = Load("{load_balancer: nb, config_id: 40, node_id: 501, mode: backup}");
  ASSERT_TRUE(step);
  auto out = rig_.Run(*step);
  EXPECT_EQ(out.status, StepStatus::kRetryable) << out.message;
  EXPECT_TRUE(Has(out.message, "reports nodebalancer 4321 config 40 node 501 as mode accept"))
      << out.message;
  EXPECT_TRUE(Has(out.message, "instead of mode backup")) << out.message;
}

TEST_F(LinodeNodeBalancerTest, ApiErrorsCarryLinodesReasonAndNeverTheToken) {
  // An unknown node: Linode's 404 envelope, not retryable.
  auto missing = Load("{load_balancer: nb, config_id: 40, node_id: 999, mode: drain}");
  ASSERT_TRUE(missing);
  auto out = rig_.Run(*missing);
  EXPECT_EQ(out.status, StepStatus::kFailed);
  EXPECT_TRUE(Has(out.message,
                  "linode_nodebalancer: reading nodebalancer 4321 config 40 node "
                  "999: HTTP 404"))
      << out.message;
  EXPECT_TRUE(Has(out.message, "Not found")) << out.message;

  // A wrong token: authentication failed, where the token comes from, not the token.
  const std::string wrong = "wrong-token-Zx81";
  auto step = Load("{load_balancer: nb, config_id: 40, node_id: 501, mode: drain}", Lbs(wrong));
  ASSERT_TRUE(step);
  auto denied = rig_.Run(*step);
  EXPECT_EQ(denied.status, StepStatus::kFailed);
  EXPECT_TRUE(Has(denied.message, "authentication failed")) << denied.message;
  EXPECT_TRUE(Has(denied.message, "Invalid Token")) << denied.message;
  EXPECT_FALSE(Has(denied.message, wrong)) << denied.message;
  EXPECT_EQ(nb_.Mode(40, 501), "accept");

  // A 5xx is retryable; the engine runs the step again.
  auto ok = Load("{load_balancer: nb, config_id: 40, node_id: 501, mode: drain}");
  nb_.FailNext(1, 503);
  auto flaky = rig_.Run(*ok);
  EXPECT_EQ(flaky.status, StepStatus::kRetryable) << flaky.message;
  EXPECT_TRUE(Has(flaky.message, "HTTP 503")) << flaky.message;
  EXPECT_EQ(rig_.Run(*ok).status, StepStatus::kOk);
  EXPECT_EQ(nb_.Mode(40, 501), "drain");
}

TEST_F(LinodeNodeBalancerTest, ConfigErrorsNameFileLineAndKey) {
  auto bad_mode = rig_.Load(Lbs(), "{load_balancer: nb, config_id: 40, node_id: 501, mode: sleep}");
  ASSERT_FALSE(bad_mode);
  EXPECT_TRUE(Has(bad_mode.error().message, "actuator.yml:8:")) << bad_mode.error().message;
  EXPECT_TRUE(Has(bad_mode.error().message,
                  "lb_pool.mode: expected one of "
                  "accept|reject|drain|backup, found \"sleep\""))
      << bad_mode.error().message;

  auto no_node = rig_.Load(Lbs(), "{load_balancer: nb, config_id: 40, mode: drain}");
  ASSERT_FALSE(no_node);
  EXPECT_TRUE(Has(no_node.error().message, "node_id")) << no_node.error().message;

  auto bad_id = rig_.Load("  nb: {linode_nodebalancer: {token: x, nodebalancer_id: -3}}",
                          "{load_balancer: nb, config_id: 40, node_id: 501, mode: drain}");
  ASSERT_FALSE(bad_id);
  EXPECT_TRUE(Has(bad_id.error().message, "actuator.yml:3:"));
  EXPECT_TRUE(Has(bad_id.error().message, "nodebalancer_id: expected a numeric id"))
      << bad_id.error().message;

  auto no_token = rig_.Load("  nb: {linode_nodebalancer: {nodebalancer_id: 4321}}",
                            "{load_balancer: nb, config_id: 40, node_id: 501, mode: drain}");
  ASSERT_FALSE(no_token);
  EXPECT_TRUE(Has(no_token.error().message, "needs token, token_file or token_env"))
      << no_token.error().message;

  // Another provider's keys are unknown keys here.
  auto foreign =
      rig_.Load(Lbs(), "{load_balancer: nb, config_id: 40, node_id: 501, mode: drain, weight: 1}");
  ASSERT_FALSE(foreign);
  EXPECT_TRUE(Has(foreign.error().message, "unknown key \"weight\"")) << foreign.error().message;
}

TEST_F(LinodeNodeBalancerTest, TheLoadBalancerBlockConfiguresUrlTokenFileAndId) {
  testing::TokenFiles files(FakeLinodeNodeBalancer::kToken);
  auto lbs = [&](const std::string& token_file) {
    return "  nb: {linode_nodebalancer: {url: \"" + nb_.base_url() +
           "/\", token_file: " + token_file + ", nodebalancer_id: 4321}}";
  };
  const std::string step = "{load_balancer: nb, config_id: 40, node_id: 501, mode: drain}";
  ASSERT_TRUE(testing::LoadsAndRunsOk(rig_, lbs(files.good), step));
  EXPECT_EQ(nb_.Mode(40, 501), "drain");

  // The token is read from the file; a refusal names the file, never the token.
  testing::ExpectTokenFileRefused(rig_, lbs(files.wrong),
                                  "{load_balancer: nb, config_id: 40, node_id: 501, mode: accept}",
                                  files);
  EXPECT_EQ(nb_.Mode(40, 501), "drain");

  testing::ExpectBadBlocks(
      rig_, "  nb: {linode_nodebalancer: ", step,
      {
          {"{url: \"api.linode.com\", token: t, nodebalancer_id: 4321}",
           "url: expected an http:// or https:// URL"},
          {"{token: t, nodebalancer_id: 4321, mode: drain}", "unknown key \"mode\""},
      });
}

}  // namespace
}  // namespace failover
