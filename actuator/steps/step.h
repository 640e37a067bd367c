// The Step interface: one implementation per kind in steps/<kind>.{h,cc}, registered in
// steps/registry.cc. Steps are desired-state: read the current state, act only if it
// differs, verify after. Running a step again is always safe; that is what makes retries,
// Alertmanager's duplicate sends and resuming after a crash harmless.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "actuator/template.h"
#include "common/clock.h"
#include "common/duration.h"
#include "common/http_client.h"
#include "common/kind_registry.h"
#include "common/result.h"
#include "common/yaml.h"

namespace failover {

class PromClient;
class PagerDutyClient;
class DnsProvider;
class LbProvider;
class Database;
class ActuatorMetrics;
struct WriterLeaseConfig;

enum class StepStatus {
  kOk,         // done (or nothing to do): the desired state holds
  kRetryable,  // a transient failure (timeout, 429, 5xx): the engine retries with backoff
  kFailed,     // will not succeed by retrying (4xx, refused, verification failed)
};

struct StepOutcome {
  StepStatus status = StepStatus::kOk;
  std::string message;  // one line for the journal, the API and the logs; never a secret
  nlohmann::json details = nlohmann::json::object();  // e.g. {"before": ..., "after": ...}

  static StepOutcome Ok(std::string m, nlohmann::json d = nlohmann::json::object()) {
    return {StepStatus::kOk, std::move(m), std::move(d)};
  }
  static StepOutcome Retry(std::string m) { return {StepStatus::kRetryable, std::move(m), {}}; }
  static StepOutcome Fail(std::string m) { return {StepStatus::kFailed, std::move(m), {}}; }
  static StepOutcome Retry(std::string m, nlohmann::json d) {
    return {StepStatus::kRetryable, std::move(m), std::move(d)};
  }
  static StepOutcome Fail(std::string m, nlohmann::json d) {
    return {StepStatus::kFailed, std::move(m), std::move(d)};
  }
  // This outcome with `d` as its details.
  StepOutcome WithDetails(nlohmann::json d) && {
    details = std::move(d);
    return std::move(*this);
  }
  // The one mapping from a client's Error to an outcome: Retry when it is retryable (the
  // same call may succeed later: transport failures, timeouts, 429, 5xx), else Fail; the
  // message is the error's.
  static StepOutcome FromError(const Error& e) {
    return e.retryable ? Retry(e.message) : Fail(e.message);
  }
};

// What a running step may use. Everything outside the process goes through these, so
// tests substitute local servers and fakes.
struct StepContext {
  const TemplateVars* vars = nullptr;
  Clock* clock = nullptr;
  MonoTime deadline;  // the step's own timeout, from its start
  HttpClient* http = nullptr;
  PromClient* prometheus = nullptr;                        // null when no prometheus is configured
  PagerDutyClient* pagerduty = nullptr;                    // null when no pagerduty is configured
  ActuatorMetrics* metrics = nullptr;                      // null in tests that do not look
  std::function<bool()> cancelled = [] { return false; };  // shutdown requested
};

// Settings every step has; parsed from the step's own block.
struct StepCommon {
  Duration timeout = std::chrono::seconds(60);
  int retries = 2;                             // additional attempts after a retryable failure
  Duration backoff = std::chrono::seconds(1);  // first delay; doubles each retry
};

class Step {
 public:
  virtual ~Step() = default;
  virtual const std::string& kind() const = 0;
  // The step's inputs with templates resolved and secrets redacted: what the journal,
  // the API and dry-run show. A render error (e.g. a label the alert lacks) fails the step.
  virtual Result<nlohmann::json> Render(const TemplateVars& vars) const = 0;
  virtual StepOutcome Run(StepContext& ctx) = 0;
  const StepCommon& common() const { return common_; }
  void set_common(StepCommon c) { common_ = c; }

 private:
  StepCommon common_;
};

using ProviderMap = std::map<std::string, std::shared_ptr<DnsProvider>>;
using DatabaseMap = std::map<std::string, std::shared_ptr<Database>>;

// What a factory may look up while building a step from config.
struct StepFactoryContext {
  const ProviderMap* providers = nullptr;
  const DatabaseMap* databases = nullptr;
  // load_balancers: of actuator.yml (the lb_pool step).
  const std::map<std::string, std::shared_ptr<LbProvider>>* lb_providers = nullptr;
  bool have_prometheus = false;
  bool have_pagerduty = false;
  const WriterLeaseConfig* writer_lease = nullptr;  // writer_lease: configured (copy it)
};

using StepFactory = std::function<Result<std::unique_ptr<Step>>(const YamlNode& body,
                                                                const StepFactoryContext& ctx)>;

// A kind's name is the key of a runbook's step: "dns_update", "wait", ...
using StepRegistry = KindRegistry<StepFactory>;
using StepKind = StepRegistry::Kind;

// The single list of step kinds.
void RegisterBuiltinSteps(StepRegistry& registry);

// Parses `timeout`, `retries`, `backoff` from a step block (keys shared by every kind). A
// factory calls it before its body's RejectUnreadKeys, which then accepts these keys too.
Result<StepCommon> ParseStepCommon(const YamlNode& body, StepCommon defaults = {});

// Optional duration `key` of a block: refused (located at the key) below `min`, "<key> must
// be at least <min>"; `out` is left as it was when the key is absent.
Status ReadDurationAtLeast(const YamlNode& body, std::string_view key, Duration min, Duration& out);

// The end of a factory: refuses the body's unread keys, then builds step kind S from its
// parsed spec with the parsed common settings.
template <typename S, typename Spec>
Result<std::unique_ptr<Step>> FinishStep(const YamlNode& body, Spec spec,
                                         const StepCommon& common) {
  if (auto s = body.RejectUnreadKeys(); !s) return s.error();
  auto step = std::make_unique<S>(std::move(spec));
  step->set_common(common);
  return std::unique_ptr<Step>(std::move(step));
}

}  // namespace failover
