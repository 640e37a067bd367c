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
#include "tests/support/fake_clock.h"

namespace failover::testing {

inline bool Has(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class LbStepRig {
 public:
  LbStepRig() {
    RegisterBuiltinSteps(steps_);
    deps_.steps = &steps_;
    deps_.provider_ctx.http = &http_;
    deps_.provider_ctx.clock = &clock_;
  }

  // `lbs_yaml`: the lines under load_balancers:; `step_yaml`: the lb_pool mapping.
  Result<std::shared_ptr<Step>> Load(const std::string& lbs_yaml, const std::string& step_yaml) {
    const std::string text = "journal: /tmp/failover-unused-journal.db\nload_balancers:\n" +
                             lbs_yaml +
                             "\nrunbooks:\n  - name: drain\n    match: {alertname: RegionDown}\n"
                             "    steps:\n      - lb_pool: " +
                             step_yaml + "\n";
    auto root = YamlNode::LoadString(text, "actuator.yml");
    if (!root) return root.error();
    auto cfg = LoadActuatorConfig(*root, deps_);
    if (!cfg) return cfg.error();
    cfg_ = std::move(*cfg);
    return cfg_.runbooks.at(0).steps.at(0).step;
  }

  StepOutcome Run(Step& step) {
    StepContext ctx;
    ctx.clock = &clock_;
    ctx.deadline = clock_.Now() + step.common().timeout;
    ctx.http = &http_;
    return step.Run(ctx);
  }

  FakeClock& clock() { return clock_; }

 private:
  StepRegistry steps_;
  ConfigDeps deps_;
  ActuatorConfig cfg_;
  CurlHttpClient http_;
  FakeClock clock_;
};

}  // namespace failover::testing
