#include "actuator/stages/escalate.h"

#include <chrono>

#include "actuator/pagerduty.h"
#include "common/log.h"

namespace failover {

void Escalate(Engine& engine, const ExecutionRecord& e, const std::string& summary) {
  if (engine.LockLost()) return;  // the next holder decides (and pages if it must)
  auto cfg = engine.config();
  if (!cfg->pagerduty_routing_key) {
    engine.metrics().Escalation("not_configured");
    engine.Event(e.id, "escalation_failed", "PagerDuty is not configured; nobody was paged");
    log::Error("escalation needed but PagerDuty is not configured",
               {{"execution", e.id}, {"summary", summary}});
    return;
  }
  PagerDutyClient pd(engine.http(), engine.clock(), cfg->pagerduty_url,
                     *cfg->pagerduty_routing_key);
  PagerDutyEvent ev;
  ev.action = "trigger";
  ev.dedup_key = "failover/" + e.id;
  ev.summary = summary;
  ev.severity = "critical";
  ev.component = e.runbook;
  ev.group = "failover";
  ev.event_class = ToString(e.state);
  ev.custom_details = {{"execution_id", e.id},
                       {"runbook", e.runbook},
                       {"state", ToString(e.state)},
                       {"message", e.message},
                       {"labels", e.labels}};
  if (!cfg->external_url.empty()) {
    ev.links.emplace_back(cfg->external_url + "/executions/" + e.id,
                          "Execution " + e.id + " on the failover console");
  }
  auto s = pd.Enqueue(ev, engine.clock().Now() + std::chrono::seconds(30));
  if (s) {
    engine.metrics().Escalation("sent");
    engine.Event(e.id, "escalated", "paged PagerDuty: " + summary);
  } else {
    engine.metrics().Escalation("failed");
    engine.Event(e.id, "escalation_failed", "PagerDuty: " + s.error().message);
    log::Error("escalation to PagerDuty failed", {{"execution", e.id}, {"err", s.error().message}});
  }
}

}  // namespace failover
