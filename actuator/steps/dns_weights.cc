#include "actuator/steps/dns_weights.h"

#include <algorithm>
#include <map>

#include "actuator/dns/provider.h"
#include "actuator/steps/dns_update.h"
#include "actuator/steps/wait_for.h"
#include "common/config_fields.h"
#include "common/log.h"

namespace failover {
namespace {

using Weights = std::map<std::string, int>;  // SetIdentifier -> Weight

// Time the rollback gets even when the step's deadline has passed.
constexpr Duration kRollbackTime = std::chrono::seconds(60);
constexpr Duration kSlice = std::chrono::milliseconds(100);  // cancellation checks while holding

std::string Describe(const Weights& w) {
  std::string out;
  for (const auto& [id, weight] : w) {
    if (!out.empty()) out += ", ";
    out += id + " " + std::to_string(weight);
  }
  return out;
}

nlohmann::json Json(const Weights& w) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [id, weight] : w) j[id] = weight;
  return j;
}

// What a dns_weights: block asks for (besides timeout, retries, backoff); parsed by
// ParseDnsWeightsSpec below.
struct DnsWeightsSpec {
  DnsTarget target;                  // its provider supports weighted routing
  std::vector<Weights> stages;       // `stages:`, or what `shift:` expands to
  PromCondition wait_for;            // checked after each stage's hold, within its own timeout
  Duration hold = Duration::zero();  // each stage, before its condition is checked
};

class DnsWeightsStep final : public Step {
 public:
  explicit DnsWeightsStep(DnsWeightsSpec spec) : spec_(std::move(spec)) {}

  const std::string& kind() const override {
    static const std::string k = "dns_weights";
    return k;
  }

  Result<nlohmann::json> Render(const TemplateVars& vars) const override {
    auto name = spec_.target.RenderName(vars);
    if (!name) return name.error();
    auto q = spec_.wait_for.promql.Render(vars);
    if (!q) return Error::Invalid("wait_for.promql: " + q.error().message);
    nlohmann::json out = spec_.target.BaseJson(*name);
    nlohmann::json stages = nlohmann::json::array();
    for (const Weights& w : spec_.stages) stages.push_back(Json(w));
    out["stages"] = stages;
    out["hold"] = FormatDuration(spec_.hold);
    out["wait_for"] = {{"promql", *q},
                       {"timeout", FormatDuration(spec_.wait_for.timeout)},
                       {"interval", FormatDuration(spec_.wait_for.interval)}};
    return out;
  }

  StepOutcome Run(StepContext& ctx) override {
    static const TemplateVars kNoVars;
    if (ctx.vars == nullptr) ctx.vars = &kNoVars;
    if (ctx.clock == nullptr) ctx.clock = &SystemClock::Get();
    auto name = spec_.target.RenderName(*ctx.vars);
    if (!name) return StepOutcome::Fail(name.error().message);
    const std::string label = *name + " " + spec_.target.type;

    auto listed =
        spec_.target.provider->ListSets(spec_.target.zone, *name, spec_.target.type, ctx.deadline);
    if (!listed) return FromError(listed.error());
    nlohmann::json before_json = nlohmann::json::array();
    for (const DnsRecordSet& s : *listed) before_json.push_back(DnsSetJson(s));
    details_ = {{"before", before_json}, {"stages", nlohmann::json::array()}};

    // Every set a stage names must exist and be weighted; creating them is dns_update's.
    std::map<std::string, DnsRecordSet> sets;
    for (const DnsRecordSet& s : *listed) sets[s.set_identifier] = s;
    Weights initial;
    for (const Weights& stage : spec_.stages) {
      for (const auto& [id, w] : stage) {
        auto it = sets.find(id);
        if (it == sets.end() || id.empty()) {
          return Fail(label + " has no record set with SetIdentifier " + id +
                      " (found: " + Identifiers(*listed) + "); create it with dns_update");
        }
        if (!it->second.weight) {
          return Fail(label + " SetIdentifier " + id + " is not a weighted record set (" +
                      DescribeDnsSet(it->second) + ")");
        }
        initial[id] = *it->second.weight;
      }
    }

    // Resume: the last stage whose weights are all in place already (a run cut short).
    size_t first = 0;
    for (size_t i = 0; i < spec_.stages.size(); ++i) {
      if (Matches(initial, spec_.stages[i])) first = i;
    }
    if (first > 0 || Matches(initial, spec_.stages[0])) {
      log::Info("dns_weights: weights of a stage already in place",
                {{"name", *name}, {"stage", static_cast<int>(first) + 1}});
    }
    Weights good = first == 0 ? initial : Overlay(initial, spec_.stages[first - 1]);
    Weights current = initial;

    for (size_t i = first; i < spec_.stages.size(); ++i) {
      const std::string stage_label = "stage " + std::to_string(i + 1) + " of " +
                                      std::to_string(spec_.stages.size()) + " (" +
                                      Describe(spec_.stages[i]) + ")";
      Weights want = Overlay(current, spec_.stages[i]);
      const Weights stage_before = current;
      nlohmann::json entry = {{"stage", i + 1}, {"before", Json(current)}};
      if (ctx.cancelled()) {
        return Keep(StepOutcome::Retry("shutting down before " + stage_label + " of " + label));
      }
      auto applied = Apply(ctx, sets, *name, current, want, ctx.deadline);
      if (!applied) {
        entry["error"] = applied.error().message;
        details_["stages"].push_back(entry);
        // One atomic batch: nothing of this stage is in place unless the read-back says so.
        Error staged = applied.error();
        staged.message = stage_label + ": " + staged.message;
        return Keep(StepOutcome::FromError(staged));
      }
      current = *applied;
      entry["after"] = Json(current);
      entry["changed"] = current != stage_before;

      // Hold the stage first: the condition's metrics must see traffic at these weights.
      const MonoTime held = ctx.clock->Now() + spec_.hold;
      while (ctx.clock->Now() < held) {
        if (ctx.cancelled()) {
          details_["stages"].push_back(entry);
          return Keep(StepOutcome::Retry("shutting down while holding " + stage_label));
        }
        ctx.clock->SleepUntil(std::min<MonoTime>(held, ctx.clock->Now() + kSlice));
      }
      MonoTime until = std::min(ctx.clock->Now() + spec_.wait_for.timeout, ctx.deadline);
      StepOutcome check = WaitForCondition(ctx, spec_.wait_for, until, spec_.wait_for.timeout);
      entry["condition"] = check.message;
      details_["stages"].push_back(entry);
      if (check.status == StepStatus::kOk) {
        good = current;
        log::Info("dns_weights: stage held", {{"name", *name},
                                              {"stage", static_cast<int>(i) + 1},
                                              {"weights", Describe(current)},
                                              {"condition", check.message}});
        continue;
      }
      if (check.status == StepStatus::kRetryable) {
        // Shutdown: the weights stay; the resumed run finds this stage and checks again.
        return Keep(StepOutcome::Retry(stage_label + ": " + check.message));
      }
      // The condition failed: back to the last good weights.
      log::Warn("dns_weights: condition failed, rolling back", {{"name", *name},
                                                                {"stage", static_cast<int>(i) + 1},
                                                                {"condition", check.message},
                                                                {"rollback_to", Describe(good)}});
      MonoTime rb_deadline = std::max(ctx.deadline, ctx.clock->Now() + kRollbackTime);
      auto rolled = Apply(ctx, sets, *name, current, good, rb_deadline);
      nlohmann::json rb = {{"before", Json(current)}, {"to", Json(good)}};
      std::string msg = label + ": " + stage_label + ": " + check.message;
      if (!rolled) {
        rb["error"] = rolled.error().message;
        details_["rollback"] = rb;
        return Fail(msg + "; ROLLBACK to " + Describe(good) + " FAILED: " + rolled.error().message);
      }
      rb["after"] = Json(*rolled);
      details_["rollback"] = rb;
      return Fail(msg + "; rolled back to " + Describe(*rolled));
    }
    auto after =
        spec_.target.provider->ListSets(spec_.target.zone, *name, spec_.target.type, ctx.deadline);
    if (after) {
      nlohmann::json after_json = nlohmann::json::array();
      for (const DnsRecordSet& s : *after) after_json.push_back(DnsSetJson(s));
      details_["after"] = after_json;
    }
    return Keep(StepOutcome::Ok(label + ": weights " + Describe(initial) + " -> " +
                                Describe(current) + " in " + std::to_string(spec_.stages.size()) +
                                " stage(s), the wait_for condition held after each"));
  }

 private:
  static bool Matches(const Weights& current, const Weights& stage) {
    for (const auto& [id, w] : stage) {
      auto it = current.find(id);
      if (it == current.end() || it->second != w) return false;
    }
    return true;
  }

  static Weights Overlay(Weights base, const Weights& stage) {
    for (const auto& [id, w] : stage) base[id] = w;
    return base;
  }

  static std::string Identifiers(const std::vector<DnsRecordSet>& sets) {
    std::string out;
    for (const DnsRecordSet& s : sets) {
      if (!out.empty()) out += ", ";
      out += s.set_identifier.empty() ? "a simple record set" : s.set_identifier;
    }
    return out.empty() ? "none" : out;
  }

  // Writes the weights that differ in one batch and reads them back: the weights the
  // provider holds afterwards.
  Result<Weights> Apply(StepContext& ctx, const std::map<std::string, DnsRecordSet>& sets,
                        const std::string& name, const Weights& from, const Weights& to,
                        MonoTime deadline) {
    std::vector<DnsRecordSet> changes;
    for (const auto& [id, w] : to) {
      auto f = from.find(id);
      if (f != from.end() && f->second == w) continue;
      DnsRecordSet s = sets.at(id);  // the set as read, only its weight changed
      s.weight = w;
      changes.push_back(std::move(s));
    }
    if (changes.empty()) return to;
    if (auto st = spec_.target.provider->Upsert(spec_.target.zone, changes, deadline); !st) {
      return st.error();
    }
    log::Info("dns weights changed", {{"provider", spec_.target.provider_id},
                                      {"name", name},
                                      {"type", spec_.target.type},
                                      {"before", Describe(from)},
                                      {"after", Describe(to)}});
    auto back =
        spec_.target.provider->ListSets(spec_.target.zone, name, spec_.target.type, deadline);
    if (!back) return back.error();
    Weights got;
    for (const DnsRecordSet& s : *back) {
      if (to.count(s.set_identifier) != 0 && s.weight) got[s.set_identifier] = *s.weight;
    }
    if (got != to) {
      return Error{ErrorCode::kUnavailable,
                   "after the update " + spec_.target.provider->kind() + " reports weights " +
                       Describe(got) + " instead of " + Describe(to),
                   true};
    }
    (void)ctx;
    return got;
  }

  StepOutcome Keep(StepOutcome o) {
    o.details = details_;
    return o;
  }
  StepOutcome Fail(std::string msg) { return Keep(StepOutcome::Fail(std::move(msg))); }
  StepOutcome FromError(const Error& e) { return Keep(StepOutcome::FromError(e)); }

  DnsWeightsSpec spec_;
  nlohmann::json details_;  // the run's journal details, built up stage by stage
};

Result<int> ParseWeight(const YamlNode& node, int max, const char* what) {
  auto v = node.AsInt();
  if (!v) return v.error();
  if (*v < 0 || *v > max) {
    return node.Fail(std::string(what) + " must be between 0 and " + std::to_string(max) +
                     ", found " + std::to_string(*v));
  }
  return static_cast<int>(*v);
}

Result<std::string> ParseIdentifier(const YamlNode& node, const std::string& text) {
  if (text.empty() || text.size() > 128) {
    return node.Fail("a SetIdentifier is 1 to 128 characters, found \"" + text + "\"");
  }
  return text;
}

Result<std::vector<Weights>> ParseStages(const YamlNode& body) {
  auto stages_node = body.Get("stages");
  auto shift_node = body.Get("shift");
  if (stages_node && shift_node) return shift_node->Fail("give either stages or shift, not both");
  if (!stages_node && !shift_node) {
    return body.Fail("stages (or shift: {from, to, steps}) is required");
  }
  std::vector<Weights> out;
  if (shift_node) {
    if (auto s = shift_node->ExpectMap(); !s) return s.error();
    std::string ids[2];
    const char* keys[2] = {"from", "to"};
    for (int i = 0; i < 2; ++i) {
      auto n = shift_node->Require(keys[i]);
      if (!n) return n.error();
      auto v = n->AsString();
      if (!v) return v.error();
      auto id = ParseIdentifier(*n, *v);
      if (!id) return id.error();
      ids[i] = *id;
    }
    if (ids[0] == ids[1]) return shift_node->Fail("from and to are the same SetIdentifier");
    auto steps = shift_node->Require("steps");
    if (!steps) return steps.error();
    auto items = steps->Items();
    if (!items) return items.error();
    if (items->empty()) return steps->Fail("needs at least one step");
    for (const YamlNode& item : *items) {
      auto w = ParseWeight(item, 100, "a shift step (the percentage `to` gets)");
      if (!w) return w.error();
      out.push_back({{ids[0], 100 - *w}, {ids[1], *w}});
    }
    if (auto s = shift_node->RejectUnreadKeys(); !s) return s.error();
    return out;
  }
  auto items = stages_node->Items();
  if (!items) return items.error();
  if (items->empty()) return stages_node->Fail("needs at least one stage");
  for (const YamlNode& item : *items) {
    auto entries = item.Entries();
    if (!entries) return entries.error();
    if (entries->empty()) return item.Fail("a stage maps SetIdentifiers to weights");
    Weights w;
    int total = 0;
    for (const auto& [key, value] : *entries) {
      auto id = ParseIdentifier(value, key);
      if (!id) return id.error();
      auto weight = ParseWeight(value, 255, "Weight");
      if (!weight) return weight.error();
      w[*id] = *weight;
      total += *weight;
    }
    if (total == 0) {
      // Route 53 then answers every set equally: not what a stage of all zeros looks like.
      return item.Fail("every weight of the stage is 0 (Route 53 would then split evenly)");
    }
    out.push_back(std::move(w));
  }
  return out;
}

Result<DnsWeightsSpec> ParseDnsWeightsSpec(const YamlNode& body, const StepFactoryContext& ctx) {
  DnsWeightsSpec spec;
  auto target = ParseDnsTarget(body, ctx);
  if (!target) return target.error();
  spec.target = std::move(*target);
  if (!spec.target.provider->Supports(DnsFeature::kWeighted)) {
    auto p = body.Require("provider");
    return p->Fail("provider \"" + spec.target.provider_id + "\" (" + spec.target.provider->kind() +
                   ") does not support " + DnsFeatureName(DnsFeature::kWeighted) +
                   "; dns_weights needs a provider that does (route53)");
  }
  auto stages = ParseStages(body);
  if (!stages) return stages.error();
  spec.stages = std::move(*stages);
  auto wf = body.Require("wait_for");
  if (!wf) return wf.error();
  if (auto s = wf->ExpectMap(); !s) return s.error();
  auto cond = ParsePromCondition(*wf, ctx, true);
  if (!cond) return cond.error();
  if (auto s = wf->RejectUnreadKeys(); !s) return s.error();
  spec.wait_for = std::move(*cond);

  auto h = GetField<Duration>(body, "hold");
  if (!h) return h.error();
  if (*h) {
    if ((*h)->value < Duration::zero()) return (*h)->node.Fail("hold must not be negative");
    spec.hold = (*h)->value;
  }
  return spec;
}

}  // namespace

Result<std::unique_ptr<Step>> NewDnsWeightsStep(const YamlNode& body,
                                                const StepFactoryContext& ctx) {
  if (auto s = body.ExpectMap(); !s) return s.error();
  auto spec = ParseDnsWeightsSpec(body, ctx);
  if (!spec) return spec.error();
  const auto n = static_cast<long>(spec->stages.size());
  const Duration each = spec->hold + spec->wait_for.timeout;
  // Default: every stage's hold and wait plus a minute each for the writes.
  StepCommon defaults;
  defaults.timeout = n * (each + std::chrono::minutes(1));
  auto common = ParseStepCommon(body, defaults);
  if (!common) return common.error();
  if (common->timeout < n * each) {
    return body.Get("timeout")->Fail("timeout " + FormatDuration(common->timeout) +
                                     " is shorter than the " + std::to_string(n) +
                                     " stages' hold + wait_for.timeout (" + std::to_string(n) +
                                     " x " + FormatDuration(each) + ")");
  }
  return FinishStep<DnsWeightsStep>(body, std::move(*spec), *common);
}

}  // namespace failover
