#include "actuator/steps/pagerduty.h"

#include <optional>

#include "actuator/pagerduty.h"

namespace failover {
namespace {

using nlohmann::json;

// Only variables every execution has, so the default never fails to render.
constexpr const char* kDefaultSummary = "failover runbook {{runbook}} (execution {{execution_id}})";
// Acknowledge/resolve steps of the same execution reach the incident its trigger opened.
constexpr const char* kDefaultDedupKey = "failover/{{execution_id}}";

// What a pagerduty: block asks for (besides timeout, retries, backoff). Only `action` and
// `dedup_key` matter to acknowledge and resolve.
struct PagerDutySpec {
  std::string action = "trigger";     // trigger, acknowledge or resolve
  std::string severity = "critical";  // critical, error, warning or info
  Template summary;                   // kDefaultSummary when not set
  // summary not set: the alert's summary annotation (if any) is appended to the default.
  bool default_summary = true;
  Template dedup_key;                                     // kDefaultDedupKey when not set
  Template source;                                        // "failover_actuator" when not set
  std::optional<Template> component, group, event_class;  // event_class: the `class` key
  // Sent besides runbook, execution_id, labels and annotations, which the actuator sets.
  std::vector<std::pair<std::string, Template>> custom_details;
};

Result<PagerDutySpec> ParsePagerDutySpec(const YamlNode& body, const StepFactoryContext& ctx) {
  if (!ctx.have_pagerduty) {
    return body.Fail(
        "the pagerduty step needs a pagerduty section (pagerduty: {routing_key_file: ...}) in "
        "the config");
  }
  PagerDutySpec spec;
  if (auto a = body.Get("action")) {
    auto s = a->AsString();
    if (!s) return s.error();
    if (*s != "trigger" && *s != "acknowledge" && *s != "resolve") {
      return a->Fail("action must be trigger, acknowledge or resolve, found \"" + *s + "\"");
    }
    spec.action = *s;
  }
  if (auto v = body.Get("severity")) {
    auto s = v->AsString();
    if (!s) return s.error();
    if (*s != "critical" && *s != "error" && *s != "warning" && *s != "info") {
      return v->Fail("severity must be critical, error, warning or info, found \"" + *s + "\"");
    }
    spec.severity = *s;
  }
  auto parse_or = [&](const char* key, const char* fallback) -> Result<Template> {
    if (auto n = body.Get(key)) return Template::FromYaml(*n);
    auto t = Template::Parse(fallback);
    if (!t) return body.Fail(std::string("default ") + key + ": " + t.error().message);
    return *t;
  };
  auto summary = parse_or("summary", kDefaultSummary);
  if (!summary) return summary.error();
  spec.summary = *summary;
  spec.default_summary = !body.Has("summary");
  auto dedup = parse_or("dedup_key", kDefaultDedupKey);
  if (!dedup) return dedup.error();
  spec.dedup_key = *dedup;
  auto source = parse_or("source", "failover_actuator");
  if (!source) return source.error();
  spec.source = *source;
  for (auto [key, slot] : {std::pair{"component", &spec.component}, std::pair{"group", &spec.group},
                           std::pair{"class", &spec.event_class}}) {
    if (auto n = body.Get(key)) {
      auto t = Template::FromYaml(*n);
      if (!t) return t.error();
      *slot = *t;
    }
  }
  if (auto cd = body.Get("custom_details")) {
    auto entries = cd->Entries();
    if (!entries) return entries.error();
    for (const auto& [k, v] : *entries) {
      if (k == "runbook" || k == "execution_id" || k == "labels" || k == "annotations") {
        return v.Fail("custom_details." + k + " is set by the actuator");
      }
      auto t = Template::FromYaml(v);
      if (!t) return t.error();
      spec.custom_details.emplace_back(k, *t);
    }
  }
  return spec;
}

class PagerDutyStep final : public Step {
 public:
  explicit PagerDutyStep(PagerDutySpec spec) : spec_(std::move(spec)) {}

  const std::string& kind() const override {
    static const std::string k = "pagerduty";
    return k;
  }

  Result<json> Render(const TemplateVars& vars) const override {
    auto ev = BuildEvent(vars);
    if (!ev) return ev.error();
    json out = {{"action", ev->action}, {"dedup_key", ev->dedup_key}};
    if (ev->action == "trigger") {
      out["severity"] = ev->severity;
      out["summary"] = ev->summary;
      out["source"] = ev->source;
      if (!ev->component.empty()) out["component"] = ev->component;
      if (!ev->group.empty()) out["group"] = ev->group;
      if (!ev->event_class.empty()) out["class"] = ev->event_class;
      out["custom_details"] = ev->custom_details;
    }
    return out;
  }

  StepOutcome Run(StepContext& ctx) override {
    if (ctx.vars == nullptr) return StepOutcome::Fail("pagerduty step: incomplete step context");
    if (ctx.pagerduty == nullptr) {
      return StepOutcome::Fail("pagerduty: no pagerduty section is configured");
    }
    auto ev = BuildEvent(*ctx.vars);
    if (!ev) return StepOutcome::Fail(ev.error().message);
    Status st = ctx.pagerduty->Enqueue(*ev, ctx.deadline);
    json details = {{"action", ev->action}, {"dedup_key", ev->dedup_key}};
    if (!st) {
      StepOutcome o = StepOutcome::FromError(st.error());
      o.details = std::move(details);
      return o;
    }
    std::string msg = "PagerDuty " + ev->action + " sent";
    if (ev->action == "trigger") msg += " (severity " + ev->severity + ")";
    msg += ", dedup_key " + ev->dedup_key;
    return StepOutcome::Ok(msg, std::move(details));
  }

 private:
  Result<PagerDutyEvent> BuildEvent(const TemplateVars& vars) const {
    PagerDutyEvent ev;
    ev.action = spec_.action;
    ev.severity = spec_.severity;
    auto dk = spec_.dedup_key.Render(vars);
    if (!dk) return Error::Invalid("dedup_key: " + dk.error().message);
    ev.dedup_key = *dk;
    if (ev.dedup_key.empty()) return Error::Invalid("dedup_key: rendered empty");
    if (spec_.action != "trigger") return ev;

    auto s = spec_.summary.Render(vars);
    if (!s) return Error::Invalid("summary: " + s.error().message);
    ev.summary = *s;
    if (spec_.default_summary) {
      auto a = vars.annotations.find("summary");
      if (a != vars.annotations.end() && !a->second.empty()) ev.summary += ": " + a->second;
    }
    if (ev.summary.empty()) return Error::Invalid("summary: rendered empty");
    auto src = spec_.source.Render(vars);
    if (!src) return Error::Invalid("source: " + src.error().message);
    ev.source = *src;
    struct Opt {
      const char* name;
      const std::optional<Template>* t;
      std::string* out;
    };
    for (const Opt& o :
         {Opt{"component", &spec_.component, &ev.component}, Opt{"group", &spec_.group, &ev.group},
          Opt{"class", &spec_.event_class, &ev.event_class}}) {
      if (!o.t->has_value()) continue;
      auto v = (*o.t)->Render(vars);
      if (!v) return Error::Invalid(std::string(o.name) + ": " + v.error().message);
      *o.out = *v;
    }
    json cd = json::object();
    cd["runbook"] = vars.runbook;
    cd["execution_id"] = vars.execution_id;
    cd["labels"] = vars.labels;
    if (!vars.annotations.empty()) cd["annotations"] = vars.annotations;
    for (const auto& [k, t] : spec_.custom_details) {
      auto v = t.Render(vars);
      if (!v) return Error::Invalid("custom_details." + k + ": " + v.error().message);
      cd[k] = *v;
    }
    ev.custom_details = std::move(cd);
    return ev;
  }

  PagerDutySpec spec_;
};

}  // namespace

Result<std::unique_ptr<Step>> NewPagerDutyStep(const YamlNode& body,
                                               const StepFactoryContext& ctx) {
  if (auto s = body.ExpectMap(); !s) return s.error();
  auto spec = ParsePagerDutySpec(body, ctx);
  if (!spec) return spec.error();
  auto common = ParseStepCommon(body);
  if (!common) return common.error();
  return FinishStep<PagerDutyStep>(body, std::move(*spec), *common);
}

}  // namespace failover
