#include "actuator/stages/hold.h"

#include <string>

#include "actuator/stages/escalate.h"
#include "common/log.h"

namespace failover {

bool PassHoldAndBrake(Engine& engine, ExecutionRecord& e, const RunbookConfig& rb) {
  if (e.trigger != ExecTrigger::kWebhook || e.approved) return true;  // a human asked
  Result<Engine::HoldState> hold = Engine::HoldState{};
  if (!engine.Durable("read the automation hold", e.id, [&]() -> Status {
        hold = engine.Hold();
        if (!hold) return hold.error();
        return {};
      })) {
    return false;
  }
  std::string why;
  if (hold->held) {
    why = "automation is on hold (by " + hold->by + ": " + hold->reason + ")";
  } else if (e.mode == ExecMode::kAuto && rb.brake) {
    Engine::BrakeState b = engine.Brake();
    if (b.engaged) {
      std::string msg = "brake engaged: " + std::to_string(b.executions_in_window) +
                        " automatic execution(s) in the last " + FormatDuration(b.window) +
                        " (max " + std::to_string(b.max_executions) + ")";
      if (auto h = engine.SetHold("brake", msg); !h) {
        log::Error("cannot record the brake's hold", {{"err", h.error().message}});
      }
      why = "the brake put automation on hold: " + msg;
    }
  }
  if (why.empty()) return true;
  std::string msg = why +
                    "; not run. A human resumes automation (console, or DELETE "
                    "/api/v1/hold) and may run it by hand (POST /api/v1/runbooks/" +
                    e.runbook + "/run)";
  if (engine.Finish(e, ExecState::kHeld, msg)) {
    Escalate(engine, e, "failover runbook " + e.runbook + " held: " + why);
  }
  return false;
}

}  // namespace failover
