// Stage "dedup" (acceptance): one execution per runbook and alert occurrence. Alertmanager
// sends a firing alert again (repeat_interval, its retries after a 503, every actuator of
// an HA pair); an occurrence is the alert's fingerprint and startsAt, so an execution's
// dedup key is runbook|fingerprint|startsAt. The journal keeps the keys unique and
// Journal::Accept inserts a candidate only when its key is new, in the same transaction
// as the webhook (actuator/journal.h): a resend is answered 202 and counted
// `deduplicated`, and nothing runs twice, even across a restart or between actuators.
#pragma once

#include <string>

#include "actuator/alert.h"
#include "actuator/config.h"

namespace failover {

// runbook|fingerprint|startsAt.
std::string DedupKey(const RunbookConfig& rb, const Alert& alert);
// A run a human asked for through the API is never a duplicate: api|<its id>.
std::string ApiDedupKey(const std::string& execution_id);

}  // namespace failover
