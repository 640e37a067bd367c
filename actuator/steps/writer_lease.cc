#include "actuator/steps/writer_lease.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "actuator/coordination/writer_lease.h"
#include "common/config_fields.h"
#include "common/log.h"

namespace failover {
namespace {

constexpr auto kPoll = std::chrono::milliseconds(250);

// What a writer_lease: block asks for (besides timeout, retries, backoff).
struct WriterLeaseSpec {
  Template acquire;  // the region that becomes the writer
  // The top-level writer_lease: section (etcd endpoints, key prefix, ttl).
  WriterLeaseConfig config;
  // Ask a live holder to hand the lease over (<prefix>handover); false: only an expired or
  // released lease moves (docs/writer-lease.md).
  bool handover = true;
};

Result<WriterLeaseSpec> ParseWriterLeaseSpec(const YamlNode& body, const StepFactoryContext& ctx) {
  if (ctx.writer_lease == nullptr) {
    return body.Fail(
        "writer_lease steps need the top-level writer_lease: section (etcd endpoints, ttl)");
  }
  WriterLeaseSpec spec;
  spec.config = *ctx.writer_lease;
  auto a = RequireField<std::string>(body, "acquire");
  if (!a) return a.error();
  if (a->value.empty()) return a->node.Fail("acquire names the region that becomes the writer");
  auto t = Template::Parse(a->value);
  if (!t) return a->node.Fail(t.error().message);
  spec.acquire = std::move(*t);
  if (auto s = ReadOptional(body, "handover", spec.handover); !s) return s.error();
  return spec;
}

class WriterLeaseStep final : public Step {
 public:
  explicit WriterLeaseStep(WriterLeaseSpec spec) : spec_(std::move(spec)) {}

  const std::string& kind() const override {
    static const std::string k = "writer_lease";
    return k;
  }

  Result<nlohmann::json> Render(const TemplateVars& vars) const override {
    auto region = spec_.acquire.Render(vars);
    if (!region) return region.error();
    return nlohmann::json{{"acquire", *region},
                          {"key", spec_.config.prefix + "writer"},
                          {"ttl", FormatDuration(spec_.config.ttl)},
                          {"handover", spec_.handover}};
  }

  std::string HandoverKey() const { return spec_.config.prefix + "handover"; }

  // Asks the holder to hand over (RequestHandover, actuator/coordination/writer_lease.h) on
  // a request of the step's timeout. Returns the request's etcd lease.
  Result<std::int64_t> Request(EtcdClient& etcd, const std::string& region,
                               const StepContext& ctx) const {
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(common().timeout).count();
    return RequestHandover(
        etcd, spec_.config.prefix, region,
        ctx.vars != nullptr ? ctx.vars->execution_id : std::string(), secs,
        static_cast<std::int64_t>(std::floor(UnixSeconds(ctx.clock->WallNow()))));
  }

  StepOutcome Run(StepContext& ctx) override {
    auto region = spec_.acquire.Render(*ctx.vars);
    if (!region) return StepOutcome::Fail(region.error().message);
    if (region->empty()) return StepOutcome::Fail("writer_lease: acquire renders empty");
    auto ttl_s = std::chrono::duration_cast<std::chrono::seconds>(spec_.config.ttl).count();
    EtcdClient etcd(*ctx.http, spec_.config.endpoints, std::chrono::seconds(2));
    WriterLease lease(etcd, spec_.config.prefix, std::chrono::seconds(2));
    auto waited_from = ctx.clock->Now();
    std::string last_error;
    WriterLeaseState last;
    MonoTime last_at = waited_from;
    bool logged_holder = false;
    // The handover request this step wrote: its etcd lease (0: none yet).
    std::int64_t request_lease = 0;
    std::optional<MonoTime> requested_at;
    auto withdraw = [&] {
      // Revoking the request's lease deletes the key attached to it.
      if (request_lease != 0) (void)etcd.LeaseRevoke(request_lease);
      request_lease = 0;
    };
    for (;;) {
      if (ctx.cancelled()) {
        withdraw();
        return StepOutcome::Retry("writer_lease: cancelled (shutting down)");
      }
      auto r = lease.TryAcquire(*region, ttl_s);
      if (r && r->held && r->holder == *region) {
        withdraw();
        bool now = r->created;
        // Released early (a handover) or ran out: the old lease had time left when last seen.
        bool released = !last.holder.empty() && last.ttl_left > 0 &&
                        ToSeconds(ctx.clock->Now() - last_at) + 1 < last.ttl_left;
        std::string after;
        if (!last.holder.empty()) {
          after = released ? " after " + last.holder + " released it" +
                                 (requested_at ? std::string(" on the handover request") : "")
                           : " after " + last.holder + "'s expired";
        }
        nlohmann::json details = {{"holder", *region},
                                  {"lease", std::to_string(r->lease)},
                                  {"changed", now},
                                  {"waited_seconds", ToSeconds(ctx.clock->Now() - waited_from)}};
        if (!last.holder.empty()) details["previous_holder"] = last.holder;
        if (requested_at) {
          details["handover_requested"] = true;
          details["handover_seconds"] = ToSeconds(ctx.clock->Now() - *requested_at);
        }
        return StepOutcome::Ok(now ? "writer lease acquired for " + *region + " (lease " +
                                         std::to_string(r->lease) + ", ttl " +
                                         FormatDuration(spec_.config.ttl) + ")" + after
                                   : "writer lease already held by " + *region + ", nothing to do",
                               details);
      }
      if (r) {
        last = *r;
        last_at = ctx.clock->Now();
        last_error.clear();
        logged_holder = true;
        if (spec_.handover && r->held && request_lease == 0) {
          if (auto s = Request(etcd, *region, ctx); s) {
            request_lease = *s;
            requested_at = ctx.clock->Now();
            log::Info("writer_lease: asked the holder to hand the lease over",
                      {{"holder", r->holder}, {"to", *region}, {"key", HandoverKey()}});
          } else {
            last_error = "cannot write the handover request: " + s.error().message;
          }
        }
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
    withdraw();
    // Timed out: say what holds it, as it is now.
    std::string state;
    if (auto now = lease.Read(); now) {
      state = now->Describe();
    } else if (logged_holder) {
      state = last.Describe() + " (last seen; etcd: " + now.error().message + ")";
    } else {
      state = "etcd unreachable: " + (last_error.empty() ? now.error().message : last_error);
    }
    if (requested_at) {
      state +=
          "; the holder did not hand it over on request (its agent could not verify "
          "its fence, or is cut off from etcd)";
    }
    StepOutcome out = StepOutcome::Fail("writer lease not acquired for " + *region + " within " +
                                        FormatDuration(common().timeout) + ": " + state);
    out.details = {{"wanted", *region}, {"state", state}};
    return out;
  }

 private:
  WriterLeaseSpec spec_;
};

}  // namespace

Result<std::unique_ptr<Step>> NewWriterLeaseStep(const YamlNode& body,
                                                 const StepFactoryContext& ctx) {
  if (auto s = body.ExpectMap(); !s) return s.error();
  auto spec = ParseWriterLeaseSpec(body, ctx);
  if (!spec) return spec.error();
  // Retrying a timed-out wait would only wait again: no retries unless asked for.
  auto common =
      ParseStepCommon(body, StepCommon{std::chrono::seconds(60), 0, std::chrono::seconds(1)});
  if (!common) return common.error();
  return FinishStep<WriterLeaseStep>(body, std::move(*spec), *common);
}

}  // namespace failover
