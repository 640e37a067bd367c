// What the actuator's step tests share: building a step from its YAML as actuator.yml
// holds it, running it once, and checking that a bad step is refused.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "actuator/alert.h"
#include "actuator/config.h"
#include "actuator/steps/step.h"
#include "common/clock.h"
#include "common/http_client.h"
#include "common/yaml.h"

namespace failover::testing {

// actuator.yml's `text` loaded with the step kinds `steps`, its providers on `http` and
// `clock`.
inline Result<ActuatorConfig> LoadConfigText(const std::string& text, const StepRegistry& steps,
                                             HttpClient& http, Clock& clock) {
  auto root = YamlNode::LoadString(text, "actuator.yml");
  if (!root) return root.error();
  ConfigDeps deps;
  deps.steps = &steps;
  deps.provider_ctx.http = &http;
  deps.provider_ctx.clock = &clock;
  return LoadActuatorConfig(*root, deps);
}

// The step `yaml` (the mapping under the step's kind) built by `factory`, as read from
// `file`.
inline Result<std::unique_ptr<Step>> BuildStep(const std::string& yaml, const StepFactory& factory,
                                               const StepFactoryContext& ctx = {},
                                               const std::string& file = "actuator.yml") {
  auto node = YamlNode::LoadString(yaml, file);
  if (!node) return node.error();
  return factory(*node, ctx);
}

// BuildStep that must succeed: a failure fails the test and gives null.
inline std::unique_ptr<Step> MustBuildStep(const std::string& yaml, const StepFactory& factory,
                                           const StepFactoryContext& ctx = {}) {
  auto step = BuildStep(yaml, factory, ctx);
  EXPECT_TRUE(step) << step.error().message;
  return step ? std::move(*step) : nullptr;
}

// The step `kind: body` as the first item of a runbook's `steps:` list in actuator.yml
// (so that errors name steps[0].<kind>... at actuator.yml:2), built by `factory`.
inline Result<std::unique_ptr<Step>> LoadListedStep(const std::string& kind,
                                                    const std::string& body,
                                                    const StepFactory& factory,
                                                    const StepFactoryContext& ctx = {}) {
  auto root = YamlNode::LoadString("steps:\n  - " + kind + ": " + body + "\n", "actuator.yml");
  if (!root) return root.error();
  auto steps = root->Require("steps");
  if (!steps) return steps.error();
  auto items = steps->Items();
  if (!items) return items.error();
  auto node = (*items)[0].Require(kind);
  if (!node) return node.error();
  return factory(*node, ctx);
}

// A listed step (LoadListedStep) with `body` was refused with an error at actuator.yml:2
// that contains `want`.
inline void ExpectListedStepRefused(const Result<std::unique_ptr<Step>>& step,
                                    const std::string& body, const std::string& want) {
  ASSERT_FALSE(step) << body;
  EXPECT_NE(step.error().message.find(want), std::string::npos)
      << body << "\n  got: " << step.error().message;
  EXPECT_EQ(step.error().message.rfind("actuator.yml:2:", 0), 0u) << step.error().message;
}

// Runs `step` once on `clock`, its deadline the step's timeout from now, with `vars` (no
// labels when null) and `http`; `more` fills in whatever else the step needs.
inline StepOutcome RunStep(Step& step, Clock& clock, const TemplateVars* vars = nullptr,
                           HttpClient* http = nullptr,
                           const std::function<void(StepContext&)>& more = {}) {
  static const TemplateVars kNoVars;
  StepContext ctx;
  ctx.vars = vars != nullptr ? vars : &kNoVars;
  ctx.clock = &clock;
  ctx.deadline = clock.Now() + step.common().timeout;
  ctx.http = http;
  if (more) more(ctx);
  return step.Run(ctx);
}

// Alertmanager's webhook group for one firing RegionDown alert for `region`.
inline AlertGroup FiringRegionDown(const std::string& region, const std::string& starts_at,
                                   const std::string& fingerprint) {
  AlertGroup g;
  g.version = "4";
  g.status = "firing";
  g.group_key = "{}:{alertname=\"RegionDown\"}";
  Alert a;
  a.status = "firing";
  a.labels = {{"alertname", "RegionDown"}, {"region", region}};
  a.starts_at = starts_at;
  a.fingerprint = fingerprint;
  g.alerts = {a};
  return g;
}

// An actuator.yml with `section:` (e.g. providers) holding `section_yaml` and one runbook
// `runbook` on RegionDown whose only step is `kind: step_yaml`, loaded as the daemon loads
// it (providers built with `http` and `clock`); the config lives as long as this.
class OneStepConfig {
 public:
  OneStepConfig(HttpClient* http, Clock* clock) {
    RegisterBuiltinSteps(steps_);
    deps_.steps = &steps_;
    deps_.provider_ctx.http = http;
    deps_.provider_ctx.clock = clock;
  }

  Result<std::shared_ptr<Step>> Load(const std::string& section, const std::string& section_yaml,
                                     const std::string& runbook, const std::string& kind,
                                     const std::string& step_yaml) {
    const std::string text = "journal: /tmp/failover-unused-journal.db\n" + section + ":\n" +
                             section_yaml + "\nrunbooks:\n  - name: " + runbook +
                             "\n    match: {alertname: RegionDown}\n    steps:\n      - " + kind +
                             ": " + step_yaml + "\n";
    auto root = YamlNode::LoadString(text, "actuator.yml");
    if (!root) return root.error();
    auto cfg = LoadActuatorConfig(*root, deps_);
    if (!cfg) return cfg.error();
    cfg_ = std::move(*cfg);
    return cfg_.runbooks.at(0).steps.at(0).step;
  }

 private:
  StepRegistry steps_;
  ConfigDeps deps_;
  ActuatorConfig cfg_;
};

}  // namespace failover::testing
