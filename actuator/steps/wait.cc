#include "actuator/steps/wait.h"

#include <algorithm>

namespace failover {
namespace {

constexpr auto kSlice = std::chrono::milliseconds(100);  // cancellation is checked this often
constexpr auto kTimeoutMargin = std::chrono::seconds(30);

// What a wait: block asks for (besides timeout, retries, backoff).
struct WaitSpec {
  Duration duration{};
};

Result<WaitSpec> ParseWaitSpec(const YamlNode& body) {
  WaitSpec spec;
  auto d = body.Require("duration");
  if (!d) return d.error();
  auto dur = d->AsDuration();
  if (!dur) return dur.error();
  if (*dur <= Duration::zero()) return d->Fail("duration must be greater than zero");
  spec.duration = *dur;
  return spec;
}

class WaitStep final : public Step {
 public:
  explicit WaitStep(WaitSpec spec) : spec_(spec) {}

  const std::string& kind() const override {
    static const std::string k = "wait";
    return k;
  }

  Result<nlohmann::json> Render(const TemplateVars&) const override {
    return nlohmann::json{{"duration", FormatDuration(spec_.duration)}};
  }

  StepOutcome Run(StepContext& ctx) override {
    if (ctx.clock == nullptr) return StepOutcome::Fail("wait step: no clock in the step context");
    MonoTime start = ctx.clock->Now();
    MonoTime end = start + spec_.duration;
    bool cut_short = end > ctx.deadline;
    end = std::min(end, ctx.deadline);
    while (true) {
      MonoTime now = ctx.clock->Now();
      if (now >= end) break;
      if (ctx.cancelled()) {
        return StepOutcome::Retry("wait " + FormatDuration(spec_.duration) +
                                  ": cancelled (shutting down)");
      }
      ctx.clock->SleepUntil(std::min<MonoTime>(end, now + kSlice));
    }
    if (cut_short) {
      auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(ctx.clock->Now() - start);
      return StepOutcome::Retry("wait " + FormatDuration(spec_.duration) +
                                ": the step deadline came first (after " + FormatDuration(waited) +
                                ")");
    }
    return StepOutcome::Ok("waited " + FormatDuration(spec_.duration));
  }

 private:
  WaitSpec spec_;
};

}  // namespace

Result<std::unique_ptr<Step>> NewWaitStep(const YamlNode& body, const StepFactoryContext&) {
  if (auto s = body.ExpectMap(); !s) return s.error();
  auto spec = ParseWaitSpec(body);
  if (!spec) return spec.error();
  const Duration dur = spec->duration;

  // Without an explicit timeout the step gets room for its duration.
  StepCommon defaults;
  defaults.timeout = std::max<Duration>(defaults.timeout, dur + kTimeoutMargin);
  auto common = ParseStepCommon(body, defaults);
  if (!common) return common.error();
  if (common->timeout < dur) {
    return body.Get("timeout")->Fail("timeout " + FormatDuration(common->timeout) +
                                     " is shorter than the duration " + FormatDuration(dur));
  }
  return FinishStep<WaitStep>(body, *spec, *common);
}

}  // namespace failover
