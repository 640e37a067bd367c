#include "actuator/steps/wait_for.h"

#include <algorithm>

#include "actuator/prometheus_client.h"
#include "common/log.h"

namespace failover {
namespace {

constexpr auto kSlice = std::chrono::milliseconds(100);  // cancellation is checked this often

// What a wait_for: block asks for (besides timeout, retries, backoff). The condition is
// polled until the step's own timeout; condition.timeout (dns_weights' key) is not read.
struct WaitForSpec {
  PromCondition condition;  // promql and interval
};

Result<WaitForSpec> ParseWaitForSpec(const YamlNode& body, const StepFactoryContext& ctx) {
  auto cond = ParsePromCondition(body, ctx, /*with_timeout=*/false);
  if (!cond) return cond.error();
  return WaitForSpec{std::move(*cond)};
}

class WaitForStep final : public Step {
 public:
  explicit WaitForStep(WaitForSpec spec) : spec_(std::move(spec)) {}

  const std::string& kind() const override {
    static const std::string k = "wait_for";
    return k;
  }

  Result<nlohmann::json> Render(const TemplateVars& vars) const override {
    auto q = spec_.condition.promql.Render(vars);
    if (!q) return Error::Invalid("promql: " + q.error().message);
    return nlohmann::json{{"promql", *q},
                          {"timeout", FormatDuration(common().timeout)},
                          {"interval", FormatDuration(spec_.condition.interval)}};
  }

  StepOutcome Run(StepContext& ctx) override {
    if (ctx.clock == nullptr) return StepOutcome::Fail("wait_for step: incomplete step context");
    return WaitForCondition(ctx, spec_.condition, ctx.deadline, common().timeout);
  }

 private:
  WaitForSpec spec_;
};

}  // namespace

StepOutcome WaitForCondition(StepContext& ctx, const PromCondition& c, MonoTime until,
                             Duration shown) {
  if (ctx.vars == nullptr || ctx.clock == nullptr) {
    return StepOutcome::Fail("wait_for step: incomplete step context");
  }
  if (ctx.prometheus == nullptr) {
    return StepOutcome::Fail("wait_for: no prometheus is configured");
  }
  auto q = c.promql.Render(*ctx.vars);
  if (!q) return StepOutcome::Fail("promql: " + q.error().message);
  int polls = 0;
  std::string last;  // the last result or error, for the failure message
  while (true) {
    ++polls;
    auto r = ctx.prometheus->Query(*q);
    if (r) {
      std::string described = r->Describe();
      if (r->Truthy()) {
        return StepOutcome::Ok("condition met: " + described,
                               {{"promql", *q}, {"result", described}, {"polls", polls}});
      }
      last = "last result: " + described;
    } else if (!r.error().retryable) {
      // A query Prometheus rejects (syntax, 4xx) will not get better by waiting.
      return StepOutcome::Fail("query rejected: " + r.error().message)
          .WithDetails({{"promql", *q}, {"polls", polls}});
    } else {
      // Prometheus restarting or unreachable: keep polling, report at the end.
      last = "last error: " + r.error().message;
      log::Debug("wait_for: query failed", {{"error", r.error().message}});
    }
    MonoTime now = ctx.clock->Now();
    if (now >= until) break;
    // Sleep until the next poll (or the deadline, for one last look), checking for
    // cancellation in between.
    MonoTime next = std::min<MonoTime>(now + c.interval, until);
    while (ctx.clock->Now() < next) {
      if (ctx.cancelled()) return StepOutcome::Retry("wait_for: cancelled (shutting down)");
      ctx.clock->SleepUntil(std::min<MonoTime>(next, ctx.clock->Now() + kSlice));
    }
  }
  return StepOutcome::Fail("condition not met within " + FormatDuration(shown) + ", " + last)
      .WithDetails({{"promql", *q}, {"polls", polls}, {"last", last}});
}

Result<PromCondition> ParsePromCondition(const YamlNode& body, const StepFactoryContext& ctx,
                                         bool with_timeout) {
  if (!ctx.have_prometheus) {
    return body.Fail("wait_for needs a prometheus section (prometheus: {url: ...}) in the config");
  }
  PromCondition c;
  auto q = body.Require("promql");
  if (!q) return q.error();
  auto text = q->AsString();
  if (!text) return text.error();
  if (text->find_first_not_of(" \t\n") == std::string::npos) return q->Fail("promql is empty");
  auto t = Template::Parse(*text);
  if (!t) return q->Fail(t.error().message);
  // Values only ever inside string literals, escaped for them (actuator/template.h).
  if (auto s = t->SetContext(TemplateContext::kPromql); !s) return q->Fail(s.error().message);
  c.promql = *t;
  if (auto i = body.Get("interval")) {
    auto d = i->AsDuration();
    if (!d) return d.error();
    if (*d <= Duration::zero()) return i->Fail("interval must be greater than zero");
    c.interval = *d;
  }
  if (with_timeout) {
    if (auto i = body.Get("timeout")) {
      auto d = i->AsDuration();
      if (!d) return d.error();
      if (*d <= Duration::zero()) return i->Fail("timeout must be greater than zero");
      c.timeout = *d;
    }
  }
  return c;
}

Result<std::unique_ptr<Step>> NewWaitForStep(const YamlNode& body, const StepFactoryContext& ctx) {
  if (auto s = body.ExpectMap(); !s) return s.error();
  auto spec = ParseWaitForSpec(body, ctx);
  if (!spec) return spec.error();
  auto common = ParseStepCommon(body);
  if (!common) return common.error();
  return FinishStep<WaitForStep>(body, std::move(*spec), *common);
}

}  // namespace failover
