// The checks the tests of the REST load-balancer providers (cloudflare_lb_test,
// digitalocean_lb_test, linode_nodebalancer_test) make the same way: a token read from a
// file, a refusal that names the file and never the token, and provider blocks that the
// loader refuses with an error at their line.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/actuator/lb_test_util.h"
#include "tests/support/temp_dir.h"

namespace failover::testing {

// Two token files in a temporary directory: `good` holds `token` (with a newline after
// it), `wrong` holds `wrong_token`.
struct TokenFiles {
  explicit TokenFiles(const std::string& token)
      : good(dir.Write("good.token", token + "\n")), wrong(dir.Write("wrong.token", wrong_token)) {}

  TempDir dir;
  const std::string wrong_token = "not-the-token-0123456789";
  const std::string good;
  const std::string wrong;
};

// The step `step_yaml` loads with `lbs_yaml` and runs to kOk.
inline ::testing::AssertionResult LoadsAndRunsOk(LbStepRig& rig, const std::string& lbs_yaml,
                                                 const std::string& step_yaml) {
  auto step = rig.Load(lbs_yaml, step_yaml);
  if (!step) return ::testing::AssertionFailure() << "load: " << step.error().message;
  auto out = rig.Run(**step);
  if (out.status != StepStatus::kOk) return ::testing::AssertionFailure() << out.message;
  return ::testing::AssertionSuccess();
}

// `step_yaml` with `lbs_yaml`, whose token file is `files.wrong`: the step fails with
// "authentication failed", naming the file and never the token.
inline void ExpectTokenFileRefused(LbStepRig& rig, const std::string& lbs_yaml,
                                   const std::string& step_yaml, const TokenFiles& files) {
  auto step = rig.MustLoad(lbs_yaml, step_yaml);
  ASSERT_TRUE(step);
  auto out = rig.Run(*step);
  EXPECT_EQ(out.status, StepStatus::kFailed) << out.message;
  EXPECT_TRUE(Has(out.message, "authentication failed")) << out.message;
  EXPECT_TRUE(Has(out.message, files.wrong)) << out.message;
  EXPECT_FALSE(Has(out.message, files.wrong_token)) << out.message;
}

// A provider block the loader refuses: `block` (a flow mapping) and a part of the error.
struct BadBlock {
  std::string block, what;
};

// Each case's block, as `lb_prefix + block + "}"` ("  do: {digitalocean_lb: "), is refused
// with an error at actuator.yml:3 (the block's line) that contains its `what`.
inline void ExpectBadBlocks(LbStepRig& rig, const std::string& lb_prefix,
                            const std::string& step_yaml, const std::vector<BadBlock>& cases) {
  for (const auto& c : cases) {
    auto bad = rig.Load(lb_prefix + c.block + "}", step_yaml);
    ASSERT_FALSE(bad) << c.block;
    EXPECT_TRUE(Has(bad.error().message, "actuator.yml:3:")) << bad.error().message;
    EXPECT_TRUE(Has(bad.error().message, c.what)) << bad.error().message;
  }
}

}  // namespace failover::testing
