#include "actuator/stages/guards.h"

#include <string>

#include "actuator/prometheus_client.h"
#include "actuator/stages/escalate.h"

namespace failover {

bool PassGuards(Engine& engine, ExecutionRecord& e, const RunbookConfig& rb, bool record_only) {
  if (rb.guards.empty()) return true;
  auto cfg = engine.config();
  PromClient prom(engine.http(), cfg->prometheus_url, cfg->prometheus_timeout);
  for (const GuardConfig& g : rb.guards) {
    auto r = prom.Query(g.promql);
    std::string refusal;
    if (!r) {
      refusal = g.message + ": cannot evaluate guard `" + g.promql + "` (" + r.error().message +
                "); not acting";
    } else if (!r->Truthy()) {
      refusal = g.message + ": guard `" + g.promql + "` returned " + r->Describe();
    } else {
      engine.Event(e.id, "guard", "true: `" + g.promql + "` returned " + r->Describe());
      continue;
    }
    engine.Event(e.id, "guard", "false: " + refusal);
    if (record_only) {
      e.message = "would refuse: " + refusal;
      return false;
    }
    if (engine.Finish(e, ExecState::kRefused, refusal)) {
      Escalate(engine, e, "failover runbook " + e.runbook + " refused to act: " + refusal);
    }
    return false;
  }
  return true;
}

}  // namespace failover
