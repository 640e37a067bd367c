#include "actuator/steps/lb_pool.h"

#include <algorithm>

#include "actuator/lb/provider.h"
#include "common/config_fields.h"
#include "common/log.h"

namespace failover {
namespace {

constexpr Duration kDefaultTimeout = std::chrono::minutes(10);
constexpr Duration kDefaultPoll = std::chrono::seconds(5);

StepOutcome FromError(const Error& e, nlohmann::json details) {
  return StepOutcome::FromError(e).WithDetails(std::move(details));
}

// What an lb_pool: block asks for (besides timeout, retries, backoff).
struct LbPoolSpec {
  std::string load_balancer;  // the entry of actuator.yml's load_balancers:
  std::shared_ptr<LbProvider> provider;
  std::shared_ptr<LbChange> change;      // the member and its state: the provider's own keys
  bool wait = true;                      // wait for the load balancer to settle (draining)
  std::optional<Duration> wait_timeout;  // unset: the step's timeout bounds the wait
  Duration poll_interval = kDefaultPoll;
};

Result<LbPoolSpec> ParseLbPoolSpec(const YamlNode& body, const StepFactoryContext& ctx) {
  LbPoolSpec spec;
  auto id = RequireField<std::string>(body, "load_balancer");
  if (!id) return id.error();
  std::string known;
  if (ctx.lb_providers != nullptr) {
    auto it = ctx.lb_providers->find(id->value);
    if (it != ctx.lb_providers->end()) spec.provider = it->second;
    for (const auto& [k, p] : *ctx.lb_providers) known += (known.empty() ? "" : ", ") + k;
  }
  if (spec.provider == nullptr) {
    return id->node.Fail("unknown load balancer \"" + id->value + "\" (" +
                         (known.empty() ? std::string("no load_balancers: are configured")
                                        : "configured: " + known) +
                         ")");
  }
  spec.load_balancer = id->value;
  auto change = spec.provider->ParseChange(body);
  if (!change) return change.error();
  spec.change = std::move(*change);
  if (auto s = ReadOptional(body, "wait", spec.wait); !s) return s.error();
  if (auto w = body.Get("wait_timeout")) {
    if (!spec.wait) return w->Fail("wait_timeout needs wait: true");
    auto d = w->AsDuration();
    if (!d) return d.error();
    if (*d <= Duration::zero()) return w->Fail("must be positive");
    spec.wait_timeout = *d;
  }
  if (auto p = body.Get("poll_interval")) {
    auto d = p->AsDuration();
    if (!d) return d.error();
    if (*d <= Duration::zero() || *d > std::chrono::minutes(5)) {
      return p->Fail("must be positive and at most 5m");
    }
    spec.poll_interval = *d;
  }
  return spec;
}

class LbPoolStep final : public Step {
 public:
  explicit LbPoolStep(LbPoolSpec spec) : spec_(std::move(spec)) {}

  const std::string& kind() const override {
    static const std::string k = "lb_pool";
    return k;
  }

  // What the engine journals before Run: which member, which state.
  Result<nlohmann::json> Render(const TemplateVars&) const override {
    nlohmann::json out = {{"load_balancer", spec_.load_balancer},
                          {"provider", spec_.provider->kind()},
                          {"change", spec_.change->Describe()},
                          {"wait", spec_.wait}};
    if (spec_.wait_timeout) out["wait_timeout"] = FormatDuration(*spec_.wait_timeout);
    return out;
  }

  StepOutcome Run(StepContext& ctx) override {
    Clock& clock = ctx.clock != nullptr ? *ctx.clock : SystemClock::Get();
    const std::string label = spec_.change->Label();
    const std::string want = spec_.change->Want();
    auto before = spec_.change->Read(ctx.deadline);
    if (!before) return FromError(before.error(), {});
    nlohmann::json details = {{"before", before->json}, {"changed", false}};
    LbState now = *before;
    std::string msg;
    if (before->desired) {
      msg = label + " already " + before->summary;
    } else {
      if (ctx.cancelled()) return StepOutcome::Retry("shutting down before " + label + " changed");
      if (auto s = spec_.change->Apply(*before, ctx.deadline); !s) {
        return FromError(s.error(), std::move(details));
      }
      log::Info("load balancer changed", {{"load_balancer", spec_.load_balancer},
                                          {"provider", spec_.provider->kind()},
                                          {"member", label},
                                          {"before", before->summary},
                                          {"want", want}});
      auto after = spec_.change->Read(ctx.deadline);
      if (!after) return FromError(after.error(), std::move(details));
      details["changed"] = true;
      details["after"] = after->json;
      if (!after->desired) {
        // Desired-state: running again reads and rewrites, so this is worth a retry.
        return StepOutcome::Retry("after the change " + spec_.provider->kind() + " reports " +
                                  label + " as " + after->summary + " instead of " + want)
            .WithDetails(std::move(details));
      }
      now = *after;
      msg = label + ": " + before->summary + " -> " + after->summary;
    }
    if (!spec_.wait || now.settled) {
      details["after"] = now.json;
      return StepOutcome::Ok(msg + (before->desired ? ", nothing to do" : ""), std::move(details));
    }

    // The load balancer moves on by itself (connections draining, a target turning
    // healthy): poll until it has, within wait_timeout and the step's deadline.
    const MonoTime start = clock.Now();
    const MonoTime until =
        spec_.wait_timeout ? std::min(start + *spec_.wait_timeout, ctx.deadline) : ctx.deadline;
    log::Info(
        "waiting for the load balancer",
        {{"load_balancer", spec_.load_balancer}, {"member", label}, {"state", now.unsettled}});
    while (!now.settled) {
      if (ctx.cancelled()) {
        return StepOutcome::Retry("shutting down while " + label + " is still " + now.unsettled +
                                  " (the change is made)")
            .WithDetails(std::move(details));
      }
      MonoTime next = clock.Now() + spec_.poll_interval;
      if (next > until) {
        details["after"] = now.json;
        return StepOutcome::Fail(
                   label + " is " + want + " but still " + now.unsettled + " after " +
                   FormatDuration(clock.Now() - start) +
                   (spec_.wait_timeout && start + *spec_.wait_timeout <= ctx.deadline
                        ? " (wait_timeout " + FormatDuration(*spec_.wait_timeout) + ")"
                        : " (the step's timeout)"))
            .WithDetails(std::move(details));
      }
      clock.SleepUntil(next);
      auto r = spec_.change->Read(ctx.deadline);
      if (!r) return FromError(r.error(), std::move(details));
      now = *r;
      if (!now.desired) {
        details["after"] = now.json;
        return StepOutcome::Fail("while waiting, " + label + " changed to " + now.summary +
                                 " (someone else changed it?)")
            .WithDetails(std::move(details));
      }
    }
    details["after"] = now.json;
    details["waited_seconds"] =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock.Now() - start).count() / 1000.0;
    return StepOutcome::Ok(
        msg + "; " + now.summary + " after waiting " + FormatDuration(clock.Now() - start),
        std::move(details));
  }

 private:
  LbPoolSpec spec_;
};

}  // namespace

Result<std::unique_ptr<Step>> NewLbPoolStep(const YamlNode& body, const StepFactoryContext& ctx) {
  if (auto s = body.ExpectMap(); !s) return s.error();
  auto spec = ParseLbPoolSpec(body, ctx);
  if (!spec) return spec.error();
  StepCommon defaults;
  defaults.timeout = kDefaultTimeout;
  auto common = ParseStepCommon(body, defaults);
  if (!common) return common.error();
  if (spec->wait_timeout && *spec->wait_timeout > common->timeout) {
    return body.Get("wait_timeout")
        ->Fail("wait_timeout " + FormatDuration(*spec->wait_timeout) +
               " is longer than the step's timeout " + FormatDuration(common->timeout) +
               " (raise timeout:)");
  }
  // The provider's ParseChange read its own keys: together they are all the step takes.
  return FinishStep<LbPoolStep>(body, std::move(*spec), *common);
}

}  // namespace failover
