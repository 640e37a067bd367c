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

Result<Template> ParseTemplate(const YamlNode& n) {
  auto s = n.AsString();
  if (!s) return s.error();
  auto t = Template::Parse(*s);
  if (!t) return n.Fail(t.error().message);
  return *t;
}

class PagerDutyStep final : public Step {
 public:
  std::string action = "trigger";
  std::string severity = "critical";
  Template summary;
  bool default_summary = true;
  Template dedup_key;
  Template source;
  std::optional<Template> component, group, event_class;
  std::vector<std::pair<std::string, Template>> custom_details;

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
    ev.action = action;
    ev.severity = severity;
    auto dk = dedup_key.Render(vars);
    if (!dk) return Error::Invalid("dedup_key: " + dk.error().message);
    ev.dedup_key = *dk;
    if (ev.dedup_key.empty()) return Error::Invalid("dedup_key: rendered empty");
    if (action != "trigger") return ev;

    auto s = summary.Render(vars);
    if (!s) return Error::Invalid("summary: " + s.error().message);
    ev.summary = *s;
    if (default_summary) {
      auto a = vars.annotations.find("summary");
      if (a != vars.annotations.end() && !a->second.empty()) ev.summary += ": " + a->second;
    }
    if (ev.summary.empty()) return Error::Invalid("summary: rendered empty");
    auto src = source.Render(vars);
    if (!src) return Error::Invalid("source: " + src.error().message);
    ev.source = *src;
    struct Opt {
      const char* name;
      const std::optional<Template>* t;
      std::string* out;
    };
    for (const Opt& o :
         {Opt{"component", &component, &ev.component}, Opt{"group", &group, &ev.group},
          Opt{"class", &event_class, &ev.event_class}}) {
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
    for (const auto& [k, t] : custom_details) {
      auto v = t.Render(vars);
      if (!v) return Error::Invalid("custom_details." + k + ": " + v.error().message);
      cd[k] = *v;
    }
    ev.custom_details = std::move(cd);
    return ev;
  }
};

}  // namespace

Result<std::unique_ptr<Step>> NewPagerDutyStep(const YamlNode& body,
                                               const StepFactoryContext& ctx) {
  if (auto s = body.ExpectMap(); !s) return s.error();
  if (!ctx.have_pagerduty) {
    return body.Fail(
        "the pagerduty step needs a pagerduty section (pagerduty: {routing_key_file: ...}) in "
        "the config");
  }
  auto step = std::make_unique<PagerDutyStep>();
  if (auto a = body.Get("action")) {
    auto s = a->AsString();
    if (!s) return s.error();
    if (*s != "trigger" && *s != "acknowledge" && *s != "resolve") {
      return a->Fail("action must be trigger, acknowledge or resolve, found \"" + *s + "\"");
    }
    step->action = *s;
  }
  if (auto v = body.Get("severity")) {
    auto s = v->AsString();
    if (!s) return s.error();
    if (*s != "critical" && *s != "error" && *s != "warning" && *s != "info") {
      return v->Fail("severity must be critical, error, warning or info, found \"" + *s + "\"");
    }
    step->severity = *s;
  }
  auto parse_or = [&](const char* key, const char* fallback) -> Result<Template> {
    if (auto n = body.Get(key)) return ParseTemplate(*n);
    auto t = Template::Parse(fallback);
    if (!t) return body.Fail(std::string("default ") + key + ": " + t.error().message);
    return *t;
  };
  auto summary = parse_or("summary", kDefaultSummary);
  if (!summary) return summary.error();
  step->summary = *summary;
  step->default_summary = !body.Has("summary");
  auto dedup = parse_or("dedup_key", kDefaultDedupKey);
  if (!dedup) return dedup.error();
  step->dedup_key = *dedup;
  auto source = parse_or("source", "failover_actuator");
  if (!source) return source.error();
  step->source = *source;
  for (auto [key, slot] :
       {std::pair{"component", &step->component}, std::pair{"group", &step->group},
        std::pair{"class", &step->event_class}}) {
    if (auto n = body.Get(key)) {
      auto t = ParseTemplate(*n);
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
      auto t = ParseTemplate(v);
      if (!t) return t.error();
      step->custom_details.emplace_back(k, *t);
    }
  }
  auto common = ParseStepCommon(body);
  if (!common) return common.error();
  if (auto s = body.RejectUnreadKeys(); !s) return s.error();
  step->set_common(*common);
  return std::unique_ptr<Step>(std::move(step));
}

}  // namespace failover
