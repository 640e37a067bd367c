#include "actuator/steps/wait.h"

#include <algorithm>

namespace failover {
namespace {

constexpr auto kSlice = std::chrono::milliseconds(100);  // cancellation is checked this often
constexpr auto kTimeoutMargin = std::chrono::seconds(30);

class WaitStep final : public Step {
 public:
  Duration duration{};

  const std::string& kind() const override {
    static const std::string k = "wait";
    return k;
  }

  Result<nlohmann::json> Render(const TemplateVars&) const override {
    return nlohmann::json{{"duration", FormatDuration(duration)}};
  }

  StepOutcome Run(StepContext& ctx) override {
    if (ctx.clock == nullptr) return StepOutcome::Fail("wait step: no clock in the step context");
    MonoTime start = ctx.clock->Now();
    MonoTime end = start + duration;
    bool cut_short = end > ctx.deadline;
    end = std::min(end, ctx.deadline);
    while (true) {
      MonoTime now = ctx.clock->Now();
      if (now >= end) break;
      if (ctx.cancelled()) {
        return StepOutcome::Retry("wait " + FormatDuration(duration) +
                                  ": cancelled (shutting down)");
      }
      ctx.clock->SleepUntil(std::min<MonoTime>(end, now + kSlice));
    }
    if (cut_short) {
      auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(ctx.clock->Now() - start);
      return StepOutcome::Retry("wait " + FormatDuration(duration) +
                                ": the step deadline came first (after " + FormatDuration(waited) +
                                ")");
    }
    return StepOutcome::Ok("waited " + FormatDuration(duration));
  }
};

}  // namespace

Result<std::unique_ptr<Step>> NewWaitStep(const YamlNode& body, const StepFactoryContext&) {
  if (auto s = body.ExpectKeys(WithCommonKeys({"duration"})); !s) return s.error();
  auto step = std::make_unique<WaitStep>();
  auto d = body.Require("duration");
  if (!d) return d.error();
  auto dur = d->AsDuration();
  if (!dur) return dur.error();
  if (*dur <= Duration::zero()) return d->Fail("duration must be greater than zero");
  step->duration = *dur;

  // Without an explicit timeout the step gets room for its duration.
  StepCommon defaults;
  defaults.timeout = std::max<Duration>(defaults.timeout, *dur + kTimeoutMargin);
  auto common = ParseStepCommon(body, defaults);
  if (!common) return common.error();
  if (common->timeout < *dur) {
    return body.Get("timeout")->Fail("timeout " + FormatDuration(common->timeout) +
                                     " is shorter than the duration " + FormatDuration(*dur));
  }
  step->set_common(*common);
  return std::unique_ptr<Step>(std::move(step));
}

}  // namespace failover
