#include "actuator/stages/dedup.h"

namespace failover {

std::string DedupKey(const RunbookConfig& rb, const Alert& alert) {
  return rb.name + "|" + alert.fingerprint + "|" + alert.starts_at;
}

std::string ApiDedupKey(const std::string& execution_id) { return "api|" + execution_id; }

}  // namespace failover
