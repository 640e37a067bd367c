#include "actuator/stages/mode.h"

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "actuator/stages/escalate.h"
#include "actuator/stages/guards.h"
#include "actuator/stages/run_steps.h"

namespace failover {

ExecMode AlertMode(const RunbookConfig& rb, bool force_dry_run) {
  return force_dry_run ? ExecMode::kDryRun : rb.mode;
}

ExecMode ApiMode(const RunbookConfig& rb, bool dry_run_requested, bool force_dry_run) {
  return (dry_run_requested || force_dry_run || rb.mode == ExecMode::kDryRun) ? ExecMode::kDryRun
                                                                              : ExecMode::kAuto;
}

void RunDry(Engine& engine, ExecutionRecord& e, const RunbookConfig& rb, const TemplateVars& vars) {
  e.message.clear();
  bool guards_ok = PassGuards(engine, e, rb, /*record_only=*/true);
  std::string guard_note = rb.guards.empty() ? "no guards"
                           : guards_ok       ? "guards would pass"
                                             : e.message;
  int rendered = 0;
  std::string render_error;
  // Written with the final state, in one journal write: a dry run changes nothing, so
  // there is no progress to record before its end (docs/reliability.md).
  std::vector<StepRecord> records;
  for (const auto* list : {&rb.steps, &rb.on_failure}) {
    ExecPhase phase = list == &rb.steps ? ExecPhase::kMain : ExecPhase::kOnFailure;
    for (size_t i = 0; i < list->size(); ++i) {
      const StepConfig& sc = (*list)[i];
      StepRecord rec;
      rec.execution_id = e.id;
      rec.phase = ToString(phase);
      rec.index = static_cast<int>(i);
      rec.kind = sc.kind;
      rec.started_at = rec.finished_at = engine.Now();
      auto r = sc.step->Render(vars);
      if (r) {
        rec.state = "dry_run";
        rec.rendered = *r;
        rec.message = "would run";
        ++rendered;
      } else {
        rec.state = "failed";
        rec.message = r.error().message;
        if (render_error.empty())
          render_error = StepLabel(phase, i, sc.kind) + ": " + r.error().message;
      }
      records.push_back(std::move(rec));
    }
  }
  std::string msg =
      "dry run: rendered " + std::to_string(rendered) + " steps, changed nothing; " + guard_note;
  if (!render_error.empty()) msg += "; render error at " + render_error;
  engine.Finish(e, ExecState::kDryRun, msg, records);
}

bool WaitsForApproval(Engine& engine, ExecutionRecord& e, const RunbookConfig& rb,
                      const TemplateVars& vars) {
  if (e.mode != ExecMode::kApprove || e.approved) return false;
  e.state = ExecState::kPendingApproval;
  e.message = "waiting for approval (console, or POST /api/v1/executions/" + e.id + "/approve)";
  if (!engine.Save(e)) return true;
  nlohmann::json plan = nlohmann::json::array();
  for (size_t i = 0; i < rb.steps.size(); ++i) {
    auto r = rb.steps[i].step->Render(vars);
    plan.push_back({{"step", i + 1},
                    {"kind", rb.steps[i].kind},
                    {"inputs", r ? *r : nlohmann::json(r.error().message)}});
  }
  engine.Event(e.id, "approval_requested", "plan: " + plan.dump());
  engine.UpdatePendingGauge();
  Escalate(engine, e, "failover runbook " + e.runbook + " needs approval: " + plan.dump());
  return true;
}

}  // namespace failover
