#include "actuator/steps/db_switchover.h"

#include "actuator/db/database.h"
#include "actuator/steps/db_divergence.h"
#include "actuator/steps/db_rejoin.h"

namespace failover {
namespace {

using nlohmann::json;

class DbSwitchoverStep final : public Step {
 public:
  std::string primary_id, target_id;
  std::shared_ptr<Database> primary, target;
  std::vector<std::pair<std::string, std::shared_ptr<Database>>> replicas;
  RejoinOptions options;

  const std::string& kind() const override {
    static const std::string k = "db_switchover";
    return k;
  }

  Result<json> Render(const TemplateVars&) const override {
    json r = json::array();
    for (const auto& [id, db] : replicas) r.push_back(id);
    return json{{"primary", primary_id},
                {"target", target_id},
                {"replicas", r},
                {"replication_user", options.user},
                {"catch_up_timeout", FormatDuration(options.catch_up_timeout)}};
  }

  StepOutcome Run(StepContext& ctx) override {
    if (ctx.cancelled()) return StepOutcome::Retry("db_switchover: cancelled (shutting down)");
    MonoTime deadline = DatabaseDeadline(ctx);
    json details = {{"primary", primary_id}, {"target", target_id}};
    std::string prefix = primary_id + " -> " + target_id + " (" + primary->kind() + "): ";
    auto fail = [&](StepOutcome o, const std::string& what) {
      o.message = prefix + what + o.message;
      o.details = details;
      return o;
    };
    // 1. Fence.
    StepOutcome fence = primary->FenceForSwitchover(deadline);
    details["fence"] = {{"message", fence.message}, {"details", fence.details}};
    if (fence.status != StepStatus::kOk) return fail(fence, "fencing the primary: ");
    std::string position = fence.details.value("position", "");
    // 2. Wait until the target has everything the fenced primary wrote.
    StepOutcome wait = target->WaitApplied(position, options.catch_up_timeout, deadline);
    details["catch_up"] = wait.message;
    if (wait.status != StepStatus::kOk) {
      StepOutcome unfence = primary->Unfence(deadline);
      details["unfence"] = unfence.message;
      StepOutcome o =
          StepOutcome::Fail("switchover aborted: " + wait.message + "; " +
                            (unfence.status == StepStatus::kOk
                                 ? primary_id + " un-fenced, it is the primary and writable again"
                                 : primary_id + " could NOT be un-fenced (" + unfence.message +
                                       "): it is still read-only"));
      return fail(o, "");
    }
    // 3. The writer lease (issue 16) is not moved here yet: see docs/actuator-steps.md.
    // 4. Promote the target. It has applied everything the fenced primary wrote (checked
    // above by GTID), so the lag guard of db_promote has nothing left to guard.
    PromoteOptions po;
    po.max_lag = std::chrono::hours(24);
    po.catch_up_timeout = options.catch_up_timeout;
    PromoteResult promoted = target->Promote(po, deadline);
    details["promote"] = {{"message", promoted.outcome.message},
                          {"details", promoted.outcome.details}};
    if (promoted.outcome.status != StepStatus::kOk) {
      // The target was not changed (a refused promotion leaves replication as it was).
      StepOutcome unfence = primary->Unfence(deadline);
      details["unfence"] = unfence.message;
      StepOutcome o = StepOutcome::Fail(
          "switchover aborted: promoting the target failed: " + promoted.outcome.message + "; " +
          (unfence.status == StepStatus::kOk
               ? primary_id + " un-fenced, writable again"
               : primary_id + " could NOT be un-fenced (" + unfence.message + ")"));
      return fail(o, "");
    }
    // 5. Re-point the old primary and the other replicas at the new primary. No divergence
    // report is needed: the old primary was fenced and the target applied all of it.
    RejoinOptions ro = options;
    ro.require_report = false;
    ro.errant = "refuse";
    json rejoined = json::array();
    std::vector<std::pair<std::string, std::shared_ptr<Database>>> all = {{primary_id, primary}};
    all.insert(all.end(), replicas.begin(), replicas.end());
    bool changed = promoted.outcome.details.value("changed", false);
    for (const auto& [id, db] : all) {
      StepOutcome r = db->Rejoin(*target, ro, deadline);
      rejoined.push_back({{"database", id}, {"message", r.message}});
      details["rejoined"] = rejoined;
      if (r.status != StepStatus::kOk) {
        return fail(r,
                    target_id + " is the new primary, but re-pointing " + id + " at it failed: ");
      }
      changed = changed || r.details.value("changed", false);
    }
    details["changed"] = changed;
    return StepOutcome::Ok(prefix + (changed ? "switched over: " : "nothing to do: ") + target_id +
                               " is the primary (" + wait.message + "), " +
                               std::to_string(all.size()) + " server(s) replicate from it",
                           details);
  }
};

}  // namespace

Result<std::unique_ptr<Step>> NewDbSwitchoverStep(const YamlNode& body,
                                                  const StepFactoryContext& ctx) {
  if (auto s = body.ExpectKeys(
          WithCommonKeys({"primary", "target", "replicas", "replication_user",
                          "replication_password", "replication_password_file",
                          "replication_password_env", "source_address", "catch_up_timeout"}));
      !s) {
    return s.error();
  }
  auto step = std::make_unique<DbSwitchoverStep>();
  auto p = LookupDatabase(body, ctx, step->primary_id, "primary");
  if (!p) return p.error();
  auto t = LookupDatabase(body, ctx, step->target_id, "target");
  if (!t) return t.error();
  if (step->primary_id == step->target_id) {
    return body.Get("target")->Fail("target must differ from primary");
  }
  if ((*p)->kind() != (*t)->kind()) {
    return body.Get("target")->Fail("primary and target must be of the same kind");
  }
  step->primary = *p;
  step->target = *t;
  if (auto r = body.Get("replicas")) {
    auto ids = r->AsStringList();
    if (!ids) return ids.error();
    for (const auto& id : *ids) {
      auto it = ctx.databases ? ctx.databases->find(id) : DatabaseMap::const_iterator{};
      if (ctx.databases == nullptr || it == ctx.databases->end()) {
        return r->Fail("unknown database \"" + id + "\" in replicas");
      }
      if (id == step->primary_id || id == step->target_id) {
        return r->Fail("replicas must not list the primary or the target (" + id + ")");
      }
      step->replicas.emplace_back(id, it->second);
    }
  }
  if (auto s = ParseRejoinKeys(body, step->options); !s) return s.error();
  auto common = ParseStepCommonWithCatchUp(body, step->options.catch_up_timeout);
  if (!common) return common.error();
  step->set_common(*common);
  return std::unique_ptr<Step>(std::move(step));
}

}  // namespace failover
