#include "actuator/steps/writer_lease.h"

#include <algorithm>

#include "actuator/coordination/writer_lease.h"

namespace failover {
namespace {

constexpr auto kPoll = std::chrono::milliseconds(250);

class WriterLeaseStep final : public Step {
 public:
  Template acquire;
  WriterLeaseConfig config;

  const std::string& kind() const override {
    static const std::string k = "writer_lease";
    return k;
  }

  Result<nlohmann::json> Render(const TemplateVars& vars) const override {
    auto region = acquire.Render(vars);
    if (!region) return region.error();
    return nlohmann::json{{"acquire", *region},
                          {"key", config.prefix + "writer"},
                          {"ttl", FormatDuration(config.ttl)}};
  }

  StepOutcome Run(StepContext& ctx) override {
    auto region = acquire.Render(*ctx.vars);
    if (!region) return StepOutcome::Fail(region.error().message);
    if (region->empty()) return StepOutcome::Fail("writer_lease: acquire renders empty");
    auto ttl_s = std::chrono::duration_cast<std::chrono::seconds>(config.ttl).count();
    EtcdClient etcd(*ctx.http, config.endpoints, std::chrono::seconds(2));
    WriterLease lease(etcd, config.prefix, std::chrono::seconds(2));
    auto waited_from = ctx.clock->Now();
    std::string last_error;
    WriterLeaseState last;
    bool logged_holder = false;
    for (;;) {
      if (ctx.cancelled()) return StepOutcome::Retry("writer_lease: cancelled (shutting down)");
      auto r = lease.TryAcquire(*region, ttl_s);
      if (r && r->held && r->holder == *region) {
        bool now = r->created;
        nlohmann::json details = {{"holder", *region},
                                  {"lease", std::to_string(r->lease)},
                                  {"changed", now},
                                  {"waited_seconds", ToSeconds(ctx.clock->Now() - waited_from)}};
        if (!last.holder.empty()) details["previous_holder"] = last.holder;
        return StepOutcome::Ok(
            now ? "writer lease acquired for " + *region + " (lease " + std::to_string(r->lease) +
                      ", ttl " + FormatDuration(config.ttl) + ")" +
                      (last.holder.empty() ? "" : " after " + last.holder + "'s expired")
                : "writer lease already held by " + *region + ", nothing to do",
            details);
      }
      if (r) {
        last = *r;
        last_error.clear();
        logged_holder = true;
      } else {
        last_error = r.error().message;
      }
      auto now = ctx.clock->Now();
      if (now + kPoll >= ctx.deadline) break;
      auto next = now + kPoll;
      while (ctx.clock->Now() < next) {
        if (ctx.cancelled()) return StepOutcome::Retry("writer_lease: cancelled (shutting down)");
        ctx.clock->SleepUntil(std::min<MonoTime>(next, ctx.clock->Now() + kPoll));
      }
    }
    // Timed out: say what holds it, as it is now.
    std::string state;
    if (auto now = lease.Read(); now) {
      state = now->Describe();
    } else if (logged_holder) {
      state = last.Describe() + " (last seen; etcd: " + now.error().message + ")";
    } else {
      state = "etcd unreachable: " + (last_error.empty() ? now.error().message : last_error);
    }
    StepOutcome out = StepOutcome::Fail("writer lease not acquired for " + *region + " within " +
                                        FormatDuration(common().timeout) + ": " + state);
    out.details = {{"wanted", *region}, {"state", state}};
    return out;
  }
};

}  // namespace

Result<std::unique_ptr<Step>> NewWriterLeaseStep(const YamlNode& body,
                                                 const StepFactoryContext& ctx) {
  if (auto s = body.ExpectKeys(WithCommonKeys({"acquire"})); !s) return s.error();
  if (ctx.writer_lease == nullptr) {
    return body.Fail(
        "writer_lease steps need the top-level writer_lease: section (etcd endpoints, ttl)");
  }
  auto step = std::make_unique<WriterLeaseStep>();
  step->config = *ctx.writer_lease;
  auto a = body.Require("acquire");
  if (!a) return a.error();
  auto text = a->AsString();
  if (!text) return text.error();
  if (text->empty()) return a->Fail("acquire names the region that becomes the writer");
  auto t = Template::Parse(*text);
  if (!t) return a->Fail(t.error().message);
  step->acquire = std::move(*t);
  // Retrying a timed-out wait would only wait again: no retries unless asked for.
  auto common =
      ParseStepCommon(body, StepCommon{std::chrono::seconds(60), 0, std::chrono::seconds(1)});
  if (!common) return common.error();
  step->set_common(*common);
  return std::unique_ptr<Step>(std::move(step));
}

}  // namespace failover
