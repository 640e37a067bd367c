#include "actuator/stages/route.h"

namespace failover {

std::vector<const RunbookConfig*> Route(const ActuatorConfig& config, const Alert& alert) {
  std::vector<const RunbookConfig*> out;
  for (const RunbookConfig& rb : config.runbooks) {
    if (rb.on == alert.status && MatchesAll(rb.match, alert.labels)) out.push_back(&rb);
  }
  return out;
}

}  // namespace failover
