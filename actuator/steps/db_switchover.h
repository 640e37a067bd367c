// db_switchover: a planned move of the primary with zero loss.
//   db_switchover: {primary: us-east-db, target: eu-west-db, replicas: [other-db],
//                   replication_user: repl, replication_password_file: ...,
//                   catch_up_timeout: 30s}
// 1. fences the primary (read-only, client sessions killed), 2. waits until the target
// applied everything the primary wrote (catch_up_timeout), 3. moves the writer lease to the
// target's region, 4. promotes the target, 5. rejoins the old primary and the listed
// replicas as replicas of the target. If the target does not catch up, the primary is made
// writable again and the step fails saying so.
// With writer_lease: configured it needs region: (the target's) and primary_region:, and
// the lease decides: before its own fence the step asks the primary region's agent to hand
// the lease over (it fences its region and releases the lease, lease_timeout, default 30s),
// so the agent cannot make the primary writable again behind the step; once the target
// caught up the step takes the lease for region:. An abort un-fences the primary only
// while its region holds the lease (a lease nobody holds is taken back for it first).
// See docs/actuator-steps.md.
#pragma once

#include <memory>

#include "actuator/steps/step.h"

namespace failover {

Result<std::unique_ptr<Step>> NewDbSwitchoverStep(const YamlNode& body,
                                                  const StepFactoryContext& ctx);

}  // namespace failover
