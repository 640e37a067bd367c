// What the tests of the load-balancer providers (linode_nodebalancer_test,
// cloudflare_lb_test, aws_alb_test, digitalocean_lb_test) and of the lb_pool step share:
// an actuator.yml with `load_balancers:` and one runbook whose only step is one lb_pool
// mapping, loaded as the daemon loads it, and the step run on a FakeClock (waits take no
// time).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "actuator/config.h"
#include "actuator/steps/step.h"
#include "common/http_client.h"
#include "tests/actuator/step_test_util.h"
#include "tests/support/fake_clock.h"

namespace failover::testing {

inline bool Has(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class LbStepRig {
 public:
  // `lbs_yaml`: the lines under load_balancers:; `step_yaml`: the lb_pool mapping.
  Result<std::shared_ptr<Step>> Load(const std::string& lbs_yaml, const std::string& step_yaml) {
    return config_.Load("load_balancers", lbs_yaml, "drain", "lb_pool", step_yaml);
  }

  // Load that must succeed: a config error fails the test and gives null.
  std::shared_ptr<Step> MustLoad(const std::string& lbs_yaml, const std::string& step_yaml) {
    auto s = Load(lbs_yaml, step_yaml);
    EXPECT_TRUE(s) << s.error().message;
    return s ? *s : nullptr;
  }

  StepOutcome Run(Step& step) { return RunStep(step, clock_, nullptr, &http_); }

  FakeClock& clock() { return clock_; }

 private:
  CurlHttpClient http_;
  FakeClock clock_;
  OneStepConfig config_{&http_, &clock_};
};

}  // namespace failover::testing
