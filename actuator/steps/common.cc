// Settings shared by every step kind: timeout, retries, backoff.
#include "actuator/steps/step.h"
#include "common/config_fields.h"

namespace failover {

Result<StepCommon> ParseStepCommon(const YamlNode& body, StepCommon defaults) {
  StepCommon out = defaults;
  if (auto s = body.ExpectMap(); !s) return s.error();
  if (auto n = body.Get("timeout")) {
    auto d = n->AsDuration();
    if (!d) return d.error();
    if (*d <= Duration::zero()) return n->Fail("timeout must be greater than zero");
    out.timeout = *d;
  }
  if (auto n = body.Get("retries")) {
    auto r = n->AsInt();
    if (!r) return r.error();
    if (*r < 0 || *r > 10) {
      return n->Fail("retries must be between 0 and 10, found " + std::to_string(*r));
    }
    out.retries = static_cast<int>(*r);
  }
  if (auto n = body.Get("backoff")) {
    auto d = n->AsDuration();
    if (!d) return d.error();
    if (*d <= Duration::zero()) return n->Fail("backoff must be greater than zero");
    if (*d > std::chrono::hours(1)) return n->Fail("backoff must be at most 1h");
    out.backoff = *d;
  }
  return out;
}

Status ReadDurationAtLeast(const YamlNode& body, std::string_view key, Duration min,
                           Duration& out) {
  auto f = GetField<Duration>(body, key);
  if (!f) return f.error();
  if (!*f) return {};
  if ((*f)->value < min) {
    return (*f)->node.Fail(std::string(key) + " must be at least " + FormatDuration(min));
  }
  out = (*f)->value;
  return {};
}

}  // namespace failover
