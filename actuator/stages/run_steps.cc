#include "actuator/stages/run_steps.h"

#include <chrono>
#include <memory>
#include <optional>

#include "actuator/pagerduty.h"
#include "actuator/prometheus_client.h"
#include "actuator/stages/escalate.h"
#include "common/log.h"

namespace failover {
namespace {

enum class PhaseResult { kDone, kFailed, kCancelled };

// Runs `steps` of `phase` from e.next_step. main: the first failure ends the phase
// (kFailed, e.message says which step); on_failure: every step is tried and e.message
// is kept. kFailed with e.message "interrupted": stopped by shutdown or a lost lock.
// kCancelled: a human cancelled before a step of main; `*cancelled` says who and why.
PhaseResult RunPhase(Engine& engine, ExecutionRecord& e, const std::vector<StepConfig>& steps,
                     ExecPhase phase, const TemplateVars& vars, std::string* cancelled) {
  auto cfg = engine.config();
  std::unique_ptr<PromClient> prom;
  if (!cfg->prometheus_url.empty()) {
    prom =
        std::make_unique<PromClient>(engine.http(), cfg->prometheus_url, cfg->prometheus_timeout);
  }
  std::unique_ptr<PagerDutyClient> pd;
  if (cfg->pagerduty_routing_key) {
    pd = std::make_unique<PagerDutyClient>(engine.http(), engine.clock(), cfg->pagerduty_url,
                                           *cfg->pagerduty_routing_key);
  }
  Clock& clock = engine.clock();
  std::string failure_keep = e.message;
  for (size_t i = static_cast<size_t>(e.next_step); i < steps.size(); ++i) {
    const StepConfig& sc = steps[i];
    if (engine.Halted()) {  // no new step once the lock is lost (or on shutdown)
      e.message = "interrupted";
      return PhaseResult::kFailed;
    }
    if (phase == ExecPhase::kMain) {
      if (auto c = engine.CancelRequested(e.id)) {
        *cancelled =
            *c + " before step " + std::to_string(i + 1) + " of " + std::to_string(steps.size());
        return PhaseResult::kCancelled;
      }
    }
    std::string label = StepLabel(phase, i, sc.kind);
    StepRecord rec;
    rec.execution_id = e.id;
    rec.phase = ToString(phase);
    rec.index = static_cast<int>(i);
    rec.kind = sc.kind;
    rec.started_at = engine.Now();
    auto rendered = sc.step->Render(vars);
    if (!rendered) {
      rec.state = "failed";
      rec.message = rendered.error().message;
      rec.finished_at = engine.Now();
      if (!engine.PutStep(rec) || !engine.Event(e.id, "step", label + " failed: " + rec.message)) {
        e.message = "interrupted";
        return PhaseResult::kFailed;
      }
      if (phase == ExecPhase::kMain) {
        e.message = label + " failed: " + rec.message;
        return PhaseResult::kFailed;
      }
      e.next_step = static_cast<int>(i) + 1;
      continue;
    }
    rec.rendered = *rendered;
    Duration backoff = sc.step->common().backoff;
    for (;;) {
      ++rec.attempts;
      rec.state = "running";
      // The step starts only once its start is committed.
      if (!engine.PutStep(rec)) {
        e.message = "interrupted";
        return PhaseResult::kFailed;
      }
      StepContext ctx;
      ctx.vars = &vars;
      ctx.clock = &clock;
      ctx.deadline = clock.Now() + sc.step->common().timeout;
      ctx.http = &engine.http();
      ctx.prometheus = prom.get();
      ctx.pagerduty = pd.get();
      ctx.metrics = &engine.metrics();
      ctx.cancelled = engine.StepCancelled();
      MonoTime start = clock.Now();
      StepOutcome outcome = sc.step->Run(ctx);
      engine.metrics().StepDuration(sc.kind,
                                    std::chrono::duration<double>(clock.Now() - start).count());
      rec.message = outcome.message;
      rec.details = outcome.details;
      if (outcome.status == StepStatus::kOk) {
        rec.state = "ok";
        rec.finished_at = engine.Now();
        log::Info("step succeeded",
                  {{"execution", e.id}, {"step", label}, {"message", outcome.message}});
        // Until these are committed the next step waits; interrupted before, this step
        // runs again on resume (the one step in flight).
        e.next_step = static_cast<int>(i) + 1;
        if (!engine.PutStep(rec) ||
            !engine.Event(e.id, "step", label + " ok: " + outcome.message) || !engine.Save(e)) {
          e.next_step = static_cast<int>(i);
          e.message = "interrupted";
          return PhaseResult::kFailed;
        }
        break;
      }
      if (engine.Halted()) {
        rec.state = "interrupted";
        engine.PutStep(rec);
        engine.Event(e.id, "step",
                     label + " interrupted (" + engine.HaltReason() + "); resumes at this step");
        e.message = "interrupted";
        return PhaseResult::kFailed;
      }
      bool retry =
          outcome.status == StepStatus::kRetryable && rec.attempts <= sc.step->common().retries;
      if (retry) {
        rec.state = "retrying";
        if (!engine.PutStep(rec) ||
            !engine.Event(e.id, "step",
                          label + " attempt " + std::to_string(rec.attempts) +
                              " failed (retrying in " + FormatDuration(backoff) +
                              "): " + outcome.message)) {
          e.message = "interrupted";
          return PhaseResult::kFailed;
        }
        log::Warn("step failed, retrying", {{"execution", e.id},
                                            {"step", label},
                                            {"attempt", rec.attempts},
                                            {"message", outcome.message}});
        if (!engine.SleepUntil(clock.Now() + backoff)) {
          e.message = "interrupted";
          return PhaseResult::kFailed;
        }
        backoff *= 2;
        continue;
      }
      rec.state = "failed";
      rec.finished_at = engine.Now();
      if (!engine.PutStep(rec) ||
          !engine.Event(e.id, "step",
                        label + " failed after " + std::to_string(rec.attempts) +
                            " attempt(s): " + outcome.message)) {
        e.message = "interrupted";
        return PhaseResult::kFailed;
      }
      log::Error("step failed",
                 {{"execution", e.id}, {"step", label}, {"message", outcome.message}});
      if (phase == ExecPhase::kMain) {
        e.message = label + " failed: " + outcome.message;
        return PhaseResult::kFailed;
      }
      e.next_step = static_cast<int>(i) + 1;  // on_failure: best effort, go on
      if (!engine.Save(e)) {
        e.message = "interrupted";
        return PhaseResult::kFailed;
      }
      break;
    }
  }
  if (phase != ExecPhase::kMain) e.message = failure_keep;
  return PhaseResult::kDone;
}

}  // namespace

std::string StepLabel(ExecPhase phase, size_t index, const std::string& kind) {
  return (phase == ExecPhase::kMain ? "step " : "on_failure step ") + std::to_string(index + 1) +
         " (" + kind + ")";
}

bool StartRunning(Engine& engine, ExecutionRecord& e, const RunbookConfig& rb) {
  e.state = ExecState::kRunning;
  e.phase = ExecPhase::kMain;
  e.next_step = 0;
  e.message = "running";
  // No step starts before `running` is recorded (else a restart would not know).
  if (!engine.Save(e)) return false;
  if (!engine.Event(e.id, "started", "running " + std::to_string(rb.steps.size()) + " steps")) {
    return false;
  }
  log::Info("execution started", {{"execution", e.id}, {"runbook", e.runbook}});
  return true;
}

void RunSteps(Engine& engine, ExecutionRecord& e, const RunbookConfig& rb,
              const TemplateVars& vars) {
  engine.metrics().InProgress(e.runbook, 1);
  struct Done {
    ActuatorMetrics& m;
    std::string rb;
    ~Done() { m.InProgress(rb, -1); }
  } done{engine.metrics(), e.runbook};

  if (e.phase == ExecPhase::kMain) {
    std::string cancelled;
    PhaseResult r = RunPhase(engine, e, rb.steps, ExecPhase::kMain, vars, &cancelled);
    if (r == PhaseResult::kCancelled) {
      engine.Finish(e, ExecState::kCancelled, cancelled);
      return;
    }
    if (engine.Halted() && e.state == ExecState::kRunning && r == PhaseResult::kFailed &&
        e.message == "interrupted") {
      return;  // shutting down or lock lost mid-step: resumed at this step by the next holder
    }
    if (r == PhaseResult::kDone) {
      engine.Finish(e, ExecState::kSucceeded,
                    "all " + std::to_string(rb.steps.size()) + " steps succeeded");
      return;
    }
    e.phase = ExecPhase::kOnFailure;
    e.next_step = 0;
    if (!engine.Save(e)) return;
  }
  std::string failure = e.message;
  if (!rb.on_failure.empty()) {
    std::string unused;  // on_failure is not cancelled
    RunPhase(engine, e, rb.on_failure, ExecPhase::kOnFailure, vars, &unused);
    if (engine.Halted() && e.message == "interrupted") return;
  }
  if (engine.Finish(e, ExecState::kFailed, failure)) {
    Escalate(engine, e, "failover runbook " + e.runbook + " failed: " + failure);
  }
}

}  // namespace failover
