#include "actuator/steps/lb_pool.h"

#include <algorithm>

#include "actuator/lb/provider.h"
#include "common/log.h"

namespace failover {
namespace {

constexpr Duration kDefaultTimeout = std::chrono::minutes(10);
constexpr Duration kDefaultPoll = std::chrono::seconds(5);

StepOutcome FromError(const Error& e, nlohmann::json details) {
  return StepOutcome::FromError(e).WithDetails(std::move(details));
}

class LbPoolStep final : public Step {
 public:
  LbPoolStep(std::string lb_id, std::shared_ptr<LbProvider> provider,
             std::shared_ptr<LbChange> change, bool wait, std::optional<Duration> wait_timeout,
             Duration poll)
      : lb_id_(std::move(lb_id)),
        provider_(std::move(provider)),
        change_(std::move(change)),
        wait_(wait),
        wait_timeout_(wait_timeout),
        poll_(poll) {}

  const std::string& kind() const override {
    static const std::string k = "lb_pool";
    return k;
  }

  // What the engine journals before Run: which member, which state.
  Result<nlohmann::json> Render(const TemplateVars&) const override {
    nlohmann::json out = {{"load_balancer", lb_id_},
                          {"provider", provider_->kind()},
                          {"change", change_->Describe()},
                          {"wait", wait_}};
    if (wait_timeout_) out["wait_timeout"] = FormatDuration(*wait_timeout_);
    return out;
  }

  StepOutcome Run(StepContext& ctx) override {
    Clock& clock = ctx.clock != nullptr ? *ctx.clock : SystemClock::Get();
    const std::string label = change_->Label();
    const std::string want = change_->Want();
    auto before = change_->Read(ctx.deadline);
    if (!before) return FromError(before.error(), {});
    nlohmann::json details = {{"before", before->json}, {"changed", false}};
    LbState now = *before;
    std::string msg;
    if (before->desired) {
      msg = label + " already " + before->summary;
    } else {
      if (ctx.cancelled()) return StepOutcome::Retry("shutting down before " + label + " changed");
      if (auto s = change_->Apply(*before, ctx.deadline); !s) {
        return FromError(s.error(), std::move(details));
      }
      log::Info("load balancer changed", {{"load_balancer", lb_id_},
                                          {"provider", provider_->kind()},
                                          {"member", label},
                                          {"before", before->summary},
                                          {"want", want}});
      auto after = change_->Read(ctx.deadline);
      if (!after) return FromError(after.error(), std::move(details));
      details["changed"] = true;
      details["after"] = after->json;
      if (!after->desired) {
        // Desired-state: running again reads and rewrites, so this is worth a retry.
        return StepOutcome::Retry("after the change " + provider_->kind() + " reports " + label +
                                  " as " + after->summary + " instead of " + want)
            .WithDetails(std::move(details));
      }
      now = *after;
      msg = label + ": " + before->summary + " -> " + after->summary;
    }
    if (!wait_ || now.settled) {
      details["after"] = now.json;
      return StepOutcome::Ok(msg + (before->desired ? ", nothing to do" : ""), std::move(details));
    }

    // The load balancer moves on by itself (connections draining, a target turning
    // healthy): poll until it has, within wait_timeout and the step's deadline.
    const MonoTime start = clock.Now();
    const MonoTime until =
        wait_timeout_ ? std::min(start + *wait_timeout_, ctx.deadline) : ctx.deadline;
    log::Info("waiting for the load balancer",
              {{"load_balancer", lb_id_}, {"member", label}, {"state", now.unsettled}});
    while (!now.settled) {
      if (ctx.cancelled()) {
        return StepOutcome::Retry("shutting down while " + label + " is still " + now.unsettled +
                                  " (the change is made)")
            .WithDetails(std::move(details));
      }
      MonoTime next = clock.Now() + poll_;
      if (next > until) {
        details["after"] = now.json;
        return StepOutcome::Fail(label + " is " + want + " but still " + now.unsettled + " after " +
                                 FormatDuration(clock.Now() - start) +
                                 (wait_timeout_ && start + *wait_timeout_ <= ctx.deadline
                                      ? " (wait_timeout " + FormatDuration(*wait_timeout_) + ")"
                                      : " (the step's timeout)"))
            .WithDetails(std::move(details));
      }
      clock.SleepUntil(next);
      auto r = change_->Read(ctx.deadline);
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
  std::string lb_id_;
  std::shared_ptr<LbProvider> provider_;
  std::shared_ptr<LbChange> change_;
  bool wait_;
  std::optional<Duration> wait_timeout_;
  Duration poll_;
};

}  // namespace

Result<std::unique_ptr<Step>> NewLbPoolStep(const YamlNode& body, const StepFactoryContext& ctx) {
  if (auto s = body.ExpectMap(); !s) return s.error();
  auto id_node = body.Require("load_balancer");
  if (!id_node) return id_node.error();
  auto id = id_node->AsString();
  if (!id) return id.error();
  std::shared_ptr<LbProvider> provider;
  std::string known;
  if (ctx.lb_providers != nullptr) {
    auto it = ctx.lb_providers->find(*id);
    if (it != ctx.lb_providers->end()) provider = it->second;
    for (const auto& [k, p] : *ctx.lb_providers) known += (known.empty() ? "" : ", ") + k;
  }
  if (provider == nullptr) {
    return id_node->Fail("unknown load balancer \"" + *id + "\" (" +
                         (known.empty() ? std::string("no load_balancers: are configured")
                                        : "configured: " + known) +
                         ")");
  }
  StepCommon defaults;
  defaults.timeout = kDefaultTimeout;
  auto common = ParseStepCommon(body, defaults);
  if (!common) return common.error();
  auto change = provider->ParseChange(body);
  if (!change) return change.error();
  bool wait = true;
  if (auto w = body.Get("wait")) {
    auto b = w->AsBool();
    if (!b) return b.error();
    wait = *b;
  }
  std::optional<Duration> wait_timeout;
  if (auto w = body.Get("wait_timeout")) {
    if (!wait) return w->Fail("wait_timeout needs wait: true");
    auto d = w->AsDuration();
    if (!d) return d.error();
    if (*d <= Duration::zero()) return w->Fail("must be positive");
    if (*d > common->timeout) {
      return w->Fail("wait_timeout " + FormatDuration(*d) + " is longer than the step's timeout " +
                     FormatDuration(common->timeout) + " (raise timeout:)");
    }
    wait_timeout = *d;
  }
  Duration poll = kDefaultPoll;
  if (auto p = body.Get("poll_interval")) {
    auto d = p->AsDuration();
    if (!d) return d.error();
    if (*d <= Duration::zero() || *d > std::chrono::minutes(5)) {
      return p->Fail("must be positive and at most 5m");
    }
    poll = *d;
  }
  // The provider's ParseChange read its own keys: together they are all the step takes.
  if (auto s = body.RejectUnreadKeys(); !s) return s.error();
  auto step = std::make_unique<LbPoolStep>(*id, provider, *change, wait, wait_timeout, poll);
  step->set_common(*common);
  return std::unique_ptr<Step>(std::move(step));
}

}  // namespace failover
